/**
 * A fake OpenAI Chat Completions endpoint (`POST /v1/chat/completions`) speaking the real wire
 * format (reference/providers.md A.6): bearer auth, strict json_schema checks like the real
 * API's, scripted replies (content, refusal, length/content-filter finishes, HTTP errors with
 * retry headers). Requests are validated against `chatRequestSchema`, written from openai-node
 * 6.49.0's own request types (src/resources/chat/completions/completions.ts
 * `ChatCompletionCreateParamsNonStreaming`, src/resources/shared.ts `ResponseFormat*`) and held
 * to them at compile time, so an SDK upgrade that changes the wire shape fails typecheck here
 * instead of the fake silently agreeing with our client. Errors are OpenAI's bodies
 * `{ error: { message, type, param, code } }`. Test-only code.
 */
import type { ServerResponse } from 'node:http';
import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionDeveloperMessageParam,
  ChatCompletionSystemMessageParam,
  ChatCompletionUserMessageParam,
} from 'openai/resources/chat/completions';
import type {
  ResponseFormatJSONObject,
  ResponseFormatJSONSchema,
  ResponseFormatText,
} from 'openai/resources/shared';
import { z } from 'zod';
import {
  FakeHttpServer,
  delay,
  sendJson,
  type RecordedRequest,
} from '../../../engine/testing/fakes/http-fake';
import {
  FakeOpenAIEndpoint,
  echoedCredentials,
  openAIAuthProblem,
  sendOpenAIError,
} from '../../../engine/testing/fakes/openai-wire';

/** One scripted answer; unscripted requests get the default storyboard. */
export type FakeOpenAIReply =
  | {
      kind: 'json';
      content: unknown;
      finishReason?: 'stop' | 'length' | 'content_filter';
      delayMs?: number;
    }
  | {
      kind: 'text';
      content: string;
      finishReason?: 'stop' | 'length' | 'content_filter';
      delayMs?: number;
    }
  | { kind: 'refusal'; refusal: string; delayMs?: number }
  | {
      kind: 'error';
      status: number;
      message: string;
      type?: string;
      code?: string | null;
      param?: string | null;
      headers?: Record<string, string>;
      delayMs?: number;
    };

export interface FakeOpenAIOptions {
  apiKey?: string;
  /** The storyboard JSON returned when no reply is scripted. */
  defaultContent?: unknown;
}

/** A storyboard in the shape engine/providers/openai asks for (two shots). */
export const DEFAULT_FAKE_STORYBOARD = {
  title: 'The Lighthouse',
  shots: [
    {
      description: 'Mara climbs the lighthouse stairs at dusk.',
      prompt: 'a young woman in a red coat climbing spiral stairs inside a lighthouse, dusk light',
      negativePrompt: null,
      camera: 'push-in',
      durationSec: 3,
      dialogue: null,
    },
    {
      description: 'She lights the lamp and looks out to sea.',
      prompt: 'a young woman in a red coat lighting a great lamp, looking out over a stormy sea',
      negativePrompt: 'blurry, text',
      camera: 'pan left',
      durationSec: 4,
      dialogue: 'Someone has to keep the light.',
    },
  ],
};

const textPart = z.object({ type: z.literal('text'), text: z.string() }).strict();
const textContent = z.union([z.string(), z.array(textPart)]);
const developerMessage = z
  .object({ role: z.literal('developer'), content: textContent, name: z.string().optional() })
  .strict();
const systemMessage = z
  .object({ role: z.literal('system'), content: textContent, name: z.string().optional() })
  .strict();
/** Text-only: the fake serves no image, audio or file parts (a subset of the SDK's type). */
const userMessage = z
  .object({ role: z.literal('user'), content: textContent, name: z.string().optional() })
  .strict();
const responseFormat = z.union([
  z.object({ type: z.literal('text') }).strict(),
  z.object({ type: z.literal('json_object') }).strict(),
  z
    .object({
      type: z.literal('json_schema'),
      json_schema: z
        .object({
          name: z.string(),
          description: z.string().optional(),
          schema: z.record(z.string(), z.unknown()).optional(),
          strict: z.boolean().nullable().optional(),
        })
        .strict(),
    })
    .strict(),
]);

/** The request bodies this fake serves, in the SDK's own shape. */
export const chatRequestSchema = z
  .object({
    model: z.string(),
    // By role, so a bad field is reported at its own path, as the API does.
    messages: z
      .array(z.discriminatedUnion('role', [developerMessage, systemMessage, userMessage]))
      .min(1),
    response_format: responseFormat.optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    max_completion_tokens: z.number().int().nullable().optional(),
    seed: z.number().int().nullable().optional(),
    stream: z.literal(false).nullable().optional(),
  })
  .strict();

/** true only when A and B are assignable both ways. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Served = z.infer<typeof chatRequestSchema>;
// Compile-time: the parts the fake models exactly match the SDK's types…
const sameMessages: [
  Same<z.infer<typeof developerMessage>, ChatCompletionDeveloperMessageParam>,
  Same<z.infer<typeof systemMessage>, ChatCompletionSystemMessageParam>,
  Same<
    z.infer<typeof responseFormat>,
    ResponseFormatText | ResponseFormatJSONObject | ResponseFormatJSONSchema
  >,
  Same<
    Pick<Served, 'model' | 'temperature' | 'max_completion_tokens' | 'seed'>,
    Pick<
      ChatCompletionCreateParamsNonStreaming,
      'model' | 'temperature' | 'max_completion_tokens' | 'seed'
    >
  >,
] = [true, true, true, true];
// …and everything it accepts is a request the SDK can send.
const servedIsSdk: [
  Served extends ChatCompletionCreateParamsNonStreaming ? true : false,
  z.infer<typeof userMessage> extends ChatCompletionUserMessageParam ? true : false,
] = [true, true];
void sameMessages;
void servedIsSdk;

/** The API's 400 for a body the request types reject: message, param and code as it words them. */
export function chatRequestProblem(
  body: unknown,
): { message: string; param: string | null; code: string | null } | undefined {
  const parsed = chatRequestSchema.safeParse(body);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    return {
      message: `Unrecognized request argument supplied: ${issue.keys.join(', ')}`,
      param: null,
      code: null,
    };
  }
  const param = issue.path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index ? '.' : ''}${String(part)}`,
    )
    .join('');
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return {
      message: `Missing required parameter: '${param}'.`,
      param,
      code: 'missing_required_parameter',
    };
  }
  // A value of the wrong JSON type (a union of types included) is the API's `invalid_type`.
  const wrongType = issue.code === 'invalid_type' || issue.code === 'invalid_union';
  return {
    message: `Invalid ${wrongType ? 'type' : 'value'} for '${param}': ${issue.message}.`,
    param,
    code: wrongType ? 'invalid_type' : 'invalid_value',
  };
}

export class FakeOpenAI extends FakeOpenAIEndpoint<FakeOpenAIReply> {
  private constructor(
    http: FakeHttpServer,
    private readonly options: FakeOpenAIOptions,
  ) {
    super(http, options.apiKey ?? 'sk-test-fake');
  }

  static async start(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
    return new FakeOpenAI(await FakeHttpServer.start(), options);
  }

  /** Every request to /v1/chat/completions, in order. */
  get completions(): RecordedRequest[] {
    return this.http.requestsTo('POST', '/v1/chat/completions');
  }

  /**
   * From now on every request is refused with the credentials it carried quoted in the error
   * body (the Authorization header and the full request URL), as several real upstreams and
   * proxies do (OpenAI-compatible gateways such as LiteLLM print the received key in their 401s;
   * reverse proxies echo the request line). Tests use it to prove no key survives to a store.
   */
  echoCredentialsInErrors(): this {
    this.echoCredentials = true;
    return this;
  }

  private echoCredentials = false;

  protected async handle(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const requestId = `req_fake_${++this.counter}`;
    if (this.echoCredentials) {
      sendOpenAIError(res, 401, echoedCredentials(req), requestId);
      return;
    }
    const error = (
      status: number,
      message: string,
      type: string,
      code: string | null,
      param: string | null = null,
    ) => sendOpenAIError(res, status, { message, type, param, code }, requestId);

    if (req.method !== 'POST' || req.path !== '/v1/chat/completions') {
      error(
        404,
        `Unknown request URL: ${req.method} ${req.path}.`,
        'invalid_request_error',
        'unknown_url',
      );
      return;
    }
    const unauthorized = openAIAuthProblem(req.headers.authorization, this.apiKey);
    if (unauthorized) {
      sendOpenAIError(res, 401, unauthorized, requestId);
      return;
    }
    const body = req.json as Record<string, unknown> | undefined;
    const shapeProblem = chatRequestProblem(body ?? {});
    if (!body || shapeProblem) {
      const problem = shapeProblem ?? {
        message: "Missing required parameter: 'model'.",
        param: 'model',
        code: 'missing_required_parameter',
      };
      error(400, problem.message, 'invalid_request_error', problem.code, problem.param);
      return;
    }
    const schemaProblem = checkResponseFormat(body.response_format);
    if (schemaProblem) {
      error(400, schemaProblem, 'invalid_request_error', null, 'response_format');
      return;
    }

    const reply: FakeOpenAIReply = this.replies.shift() ?? {
      kind: 'json',
      content: this.options.defaultContent ?? DEFAULT_FAKE_STORYBOARD,
    };
    if (reply.delayMs) await delay(reply.delayMs);
    if (reply.kind === 'error') {
      sendJson(
        res,
        reply.status,
        {
          error: {
            message: reply.message,
            type: reply.type ?? 'server_error',
            param: reply.param ?? null,
            code: reply.code ?? null,
          },
        },
        { 'x-request-id': requestId, ...reply.headers },
      );
      return;
    }
    const message =
      reply.kind === 'refusal'
        ? { role: 'assistant', content: null, refusal: reply.refusal }
        : {
            role: 'assistant',
            content: reply.kind === 'json' ? JSON.stringify(reply.content) : reply.content,
            refusal: null,
          };
    const finishReason = reply.kind === 'refusal' ? 'stop' : (reply.finishReason ?? 'stop');
    sendJson(
      res,
      200,
      {
        id: `chatcmpl-fake-${this.counter}`,
        object: 'chat.completion',
        created: 1727000000,
        model: body.model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
        usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 },
        system_fingerprint: 'fp_fake',
      },
      { 'x-request-id': requestId },
    );
  }
}

/**
 * The checks the real API applies to a strict json_schema: the root is an object, and every
 * object lists all its properties as required and sets additionalProperties to false.
 */
export function checkResponseFormat(format: unknown): string | undefined {
  if (format === undefined) return undefined;
  const f = format as {
    type?: string;
    json_schema?: { name?: string; strict?: boolean; schema?: unknown };
  };
  if (f.type !== 'json_schema') return undefined;
  const name = f.json_schema?.name;
  if (!name) return "Missing required parameter: 'response_format.json_schema.name'.";
  const schema = f.json_schema?.schema as Record<string, unknown> | undefined;
  if (!schema || schema.type !== 'object') {
    return `Invalid schema for response_format '${name}': schema must be a JSON Schema of 'type: "object"'.`;
  }
  if (!f.json_schema?.strict) return undefined;
  return checkStrict(schema, name, []);
}

function checkStrict(node: unknown, name: string, path: string[]): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const schema = node as Record<string, unknown>;
  const context = `In context=(${path.map((p) => `'${p}'`).join(', ')})`;
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes('object')) {
    const properties = (schema.properties ?? {}) as Record<string, unknown>;
    if (schema.additionalProperties !== false) {
      return `Invalid schema for response_format '${name}': ${context}, 'additionalProperties' is required to be supplied and to be false.`;
    }
    const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
    const missing = Object.keys(properties).find((key) => !required.includes(key));
    if (missing) {
      return `Invalid schema for response_format '${name}': ${context}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing}'.`;
    }
    for (const [key, value] of Object.entries(properties)) {
      const problem = checkStrict(value, name, [...path, 'properties', key]);
      if (problem) return problem;
    }
  }
  if (schema.items) return checkStrict(schema.items, name, [...path, 'items']);
  for (const key of ['anyOf', 'allOf'] as const) {
    const list = schema[key];
    if (Array.isArray(list)) {
      for (const [i, item] of list.entries()) {
        const problem = checkStrict(item, name, [...path, key, String(i)]);
        if (problem) return problem;
      }
    }
  }
  return undefined;
}
