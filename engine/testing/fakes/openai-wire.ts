/**
 * OpenAI's REST conventions, shared by our fakes of its endpoints (each endpoint's fake lives
 * with the node that calls it). Follows openai-node 6.x: errors are `{ error: { message, type,
 * param, code } }` with an `x-request-id` header (src/core/error.ts reads both), and the API's
 * own wording for a missing or wrong key — which shows the key masked, never whole.
 */
import type { ServerResponse } from 'node:http';
import { sendJson, type FakeHttpServer, type RecordedRequest } from './http-fake';

export interface OpenAIErrorBody {
  message: string;
  type?: string;
  param?: string | null;
  code?: string | null;
}

/**
 * What every fake OpenAI endpoint has: its key, the SDK's base URL, the recorded requests and
 * a queue of scripted replies. Subclasses answer their endpoint in `handle`.
 */
export abstract class FakeOpenAIEndpoint<Reply> {
  protected readonly replies: Reply[] = [];
  /** Numbers request ids, as the real API gives each request one. */
  protected counter = 0;

  protected constructor(
    protected readonly http: FakeHttpServer,
    readonly apiKey: string,
  ) {
    http.handler = (req, res) => this.handle(req, res);
  }

  protected abstract handle(req: RecordedRequest, res: ServerResponse): Promise<void>;

  /** The base URL to give the SDK (`…/v1`). */
  get baseURL(): string {
    return `${this.http.url}/v1`;
  }

  get requests(): RecordedRequest[] {
    return this.http.requests;
  }

  /** Queues answers for the next requests, in order. */
  reply(...replies: Reply[]): this {
    this.replies.push(...replies);
    return this;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

/** Answers an OpenAI-shaped error. */
export function sendOpenAIError(
  res: ServerResponse,
  status: number,
  error: OpenAIErrorBody,
  requestId: string,
  headers: Record<string, string> = {},
): void {
  sendJson(
    res,
    status,
    {
      error: {
        message: error.message,
        type: error.type ?? 'invalid_request_error',
        param: error.param ?? null,
        code: error.code ?? null,
      },
    },
    { 'x-request-id': requestId, ...headers },
  );
}

/** The 401 the real API answers for this Authorization header, or null when it is the key. */
export function openAIAuthProblem(
  authorization: string | undefined,
  apiKey: string,
): OpenAIErrorBody | null {
  if (!authorization?.startsWith('Bearer ')) {
    return {
      message:
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
    };
  }
  if (authorization === `Bearer ${apiKey}`) return null;
  return {
    message: `Incorrect API key provided: ${maskKey(authorization.slice('Bearer '.length))}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    code: 'invalid_api_key',
  };
}

/** How the API shows a key in errors: its first five and last four characters. */
export function maskKey(key: string): string {
  return key.length <= 8
    ? '****'
    : `${key.slice(0, 5)}${'*'.repeat(key.length - 9)}${key.slice(-4)}`;
}

/**
 * OpenAI's 401 body (`invalid_api_key`) with the received credentials quoted in full, the way
 * OpenAI-compatible gateways word it ("Incorrect API key provided: <key>").
 */
export function echoedCredentials(req: RecordedRequest): {
  message: string;
  type: string;
  param: null;
  code: string;
} {
  const received = String(req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
  return {
    message:
      `Incorrect API key provided: ${received}. Received headers: Authorization: ` +
      `${String(req.headers.authorization ?? '')}; request ${req.method} ${req.path}?${req.query.toString()}`,
    type: 'invalid_request_error',
    param: null,
    code: 'invalid_api_key',
  };
}
