/**
 * A fake Runway API following @runwayml/sdk 4.20.1 (request and response types) and
 * docs.dev.runwayml.com as of 2026-11 (/errors/errors, /errors/task-failures, /usage/tiers,
 * /assets/inputs); see also reference/providers.md B.2–B.6.
 * - `POST /v1/image_to_video` and `POST /v1/text_to_image` check auth and the version header,
 *   then validate the body with schemas written from the SDK's per-model request types
 *   (runway-schemas.ts; tsc proves them equal to the SDK types), answering 400
 *   `{ error, issues }` like Runway; a created task answers `{ id, estimatedCost: { credits } }`.
 * - A 429 on creation is what Runway sends when the organization's daily generation limit is
 *   used up (there is no per-minute limit; over-concurrency tasks are THROTTLED instead):
 *   `failNextCreate(DAILY_LIMIT_429)`.
 * - `GET /v1/tasks/{id}` walks a scripted status sequence (PENDING → RUNNING{progress} →
 *   SUCCEEDED{output} by default, or FAILED{failure, failureCode} with Runway's codes);
 *   `DELETE` cancels a live task and deletes a finished one (404 afterwards).
 * - Outputs are pre-signed URLs on a fake CDN that expire on demand and reject an
 *   Authorization header like S3 does.
 * Test-only code.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  FakeHttpServer,
  sendBytes,
  sendJson,
  type RecordedRequest,
} from '../../../engine/testing/fakes/http-fake';
import { imageToVideoSchema, textToImageSchema } from './runway-schemas';

export type FakeTaskStatus =
  'PENDING' | 'THROTTLED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** One state a task reports; each GET moves to the next, the last one sticks. */
export interface FakeTaskStep {
  status: FakeTaskStatus;
  progress?: number;
  failure?: string;
  failureCode?: string;
}

export interface FakeRunwayOptions {
  /** The MP4 every succeeded image_to_video task outputs. */
  mp4: Buffer;
  /** The PNG every succeeded text_to_image task outputs. */
  png?: Buffer;
  apiKey?: string;
}

/** Runway's answer to a task creation over the organization's daily generation limit. */
export const DAILY_LIMIT_429 = {
  status: 429,
  body: { error: 'You have exceeded your daily generation quota' },
};

/** Credits per output second (video) or per image: the most a task may charge (estimatedCost). */
const CREDITS: Record<string, number> = {
  gen4_turbo: 5,
  'gen4.5': 12,
  'veo3.1': 40,
  'veo3.1_fast': 15,
  gen4_image: 8,
};

interface FakeTask {
  id: string;
  kind: 'video' | 'image';
  createdAt: string;
  steps: FakeTaskStep[];
  cursor: number;
  /** Set by DELETE on a running task. */
  cancelled: boolean;
  deleted: boolean;
  /** Output URLs carry this; bumping it expires the old ones. */
  urlVersion: number;
}

export const DEFAULT_TASK_STEPS: FakeTaskStep[] = [
  { status: 'PENDING' },
  { status: 'RUNNING', progress: 0.4 },
  { status: 'RUNNING', progress: 0.8 },
  { status: 'SUCCEEDED' },
];

export class FakeRunway {
  readonly apiKey: string;
  readonly tasks = new Map<string, FakeTask>();
  private readonly scripts: FakeTaskStep[][] = [];
  private readonly createFailures: {
    status: number;
    body: unknown;
    headers?: Record<string, string>;
  }[] = [];
  private readonly pollFailures: { status: number; body: unknown }[] = [];
  private expireDownloads = 0;

  private constructor(
    private readonly http: FakeHttpServer,
    private readonly options: FakeRunwayOptions,
  ) {
    this.apiKey = options.apiKey ?? `key_${'ab'.repeat(64)}`;
  }

  static async start(options: FakeRunwayOptions): Promise<FakeRunway> {
    const http = await FakeHttpServer.start();
    const fake = new FakeRunway(http, options);
    http.handler = (req, res) => fake.handle(req, res);
    return fake;
  }

  /** The base URL for the provider (no `/v1`, like the SDK's). */
  get url(): string {
    return this.http.url;
  }

  get requests(): RecordedRequest[] {
    return this.http.requests;
  }

  requestsTo(method: string, path: string | RegExp): RecordedRequest[] {
    return this.http.requestsTo(method, path);
  }

  /** Steps for the next task created by POST (default DEFAULT_TASK_STEPS). */
  scriptNextTask(...steps: FakeTaskStep[]): this {
    this.scripts.push(steps);
    return this;
  }

  /** Makes the next POSTs fail, in order (e.g. 429 daily quota, 502). */
  failNextCreate(
    ...failures: { status: number; body: unknown; headers?: Record<string, string> }[]
  ): this {
    this.createFailures.push(...failures);
    return this;
  }

  /** Makes the next task GETs fail, in order (e.g. a 429 or 502 while polling). */
  failNextPoll(...failures: { status: number; body: unknown }[]): this {
    this.pollFailures.push(...failures);
    return this;
  }

  /** A task that exists already, as if an earlier attempt had submitted it. */
  seedTask(steps: FakeTaskStep[] = DEFAULT_TASK_STEPS, kind: 'video' | 'image' = 'video'): string {
    return this.addTask(steps, kind).id;
  }

  /** The next `count` output downloads answer 403, as an expired pre-signed URL does. */
  expireNextDownloads(count = 1): void {
    this.expireDownloads += count;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private addTask(steps: FakeTaskStep[], kind: 'video' | 'image'): FakeTask {
    const task: FakeTask = {
      id: randomUUID(),
      kind,
      createdAt: new Date().toISOString(),
      steps,
      cursor: 0,
      cancelled: false,
      deleted: false,
      urlVersion: 1,
    };
    this.tasks.set(task.id, task);
    return task;
  }

  /**
   * From now on every request is refused with the credentials it carried quoted in the error
   * body (the Authorization header and the full request URL), as several real upstreams and
   * proxies do. Tests use it to prove no key survives to a store, a log or a response.
   */
  echoCredentialsInErrors(): this {
    this.echoCredentials = true;
    return this;
  }

  private echoCredentials = false;

  private handle(req: RecordedRequest, res: ServerResponse): void {
    if (req.path.startsWith('/cdn/')) return this.download(req, res);
    if (this.echoCredentials) {
      // Runway's error shape `{ error }` (docs.dev.runwayml.com /errors/errors), quoting the key.
      return sendJson(res, 401, {
        error: `Invalid API key ${String(req.headers.authorization ?? '')} for ${req.method} ${req.path}?${req.query.toString()}`,
      });
    }
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      return sendJson(res, 401, {
        error: 'Invalid API key. Make sure the key is active and sent as a Bearer token.',
      });
    }
    if (req.headers['x-runway-version'] !== '2024-11-06') {
      return sendJson(res, 400, {
        error: 'Missing or unsupported X-Runway-Version header. Use 2024-11-06.',
      });
    }
    if (req.method === 'POST' && req.path === '/v1/image_to_video')
      return this.create(req, res, 'video');
    if (req.method === 'POST' && req.path === '/v1/text_to_image')
      return this.create(req, res, 'image');
    const match = /^\/v1\/tasks\/([^/]+)$/.exec(req.path);
    if (match) {
      const task = this.tasks.get(decodeURIComponent(match[1]));
      if (!task || task.deleted) return sendJson(res, 404, { error: 'Task not found' });
      if (req.method === 'GET') {
        const failure = this.pollFailures.shift();
        if (failure) return sendJson(res, failure.status, failure.body);
        return sendJson(res, 200, this.view(task));
      }
      if (req.method === 'DELETE') {
        const status = this.current(task).status;
        if (['PENDING', 'THROTTLED', 'RUNNING'].includes(status)) task.cancelled = true;
        else task.deleted = true;
        res.writeHead(204).end();
        return;
      }
    }
    sendJson(res, 404, { error: 'Not found' });
  }

  private create(req: RecordedRequest, res: ServerResponse, kind: 'video' | 'image'): void {
    const failure = this.createFailures.shift();
    if (failure) return sendJson(res, failure.status, failure.body, failure.headers);
    const parsed = (kind === 'video' ? imageToVideoSchema : textToImageSchema).safeParse(req.json);
    if (!parsed.success) {
      return sendJson(res, 400, {
        error: 'Validation of body failed',
        issues: parsed.error.issues.map((issue) => ({
          path: issue.path.map(String),
          message: issue.message,
        })),
      });
    }
    const body = parsed.data;
    const task = this.addTask(this.scripts.shift() ?? DEFAULT_TASK_STEPS, kind);
    const seconds = 'duration' in body && typeof body.duration === 'number' ? body.duration : 5;
    const credits = (CREDITS[body.model] ?? 0) * (kind === 'video' ? seconds : 1);
    sendJson(res, 200, { id: task.id, estimatedCost: { credits } });
  }

  private current(task: FakeTask): FakeTaskStep {
    return task.cancelled
      ? { status: 'CANCELLED' }
      : task.steps[Math.min(task.cursor, task.steps.length - 1)];
  }

  /** The task as GET shows it; each GET advances the script by one step. */
  private view(task: FakeTask): Record<string, unknown> {
    const step = this.current(task);
    task.cursor++;
    return {
      id: task.id,
      status: step.status,
      createdAt: task.createdAt,
      ...(step.status === 'RUNNING' ? { progress: step.progress ?? 0 } : {}),
      ...(step.status === 'SUCCEEDED'
        ? {
            output: [
              `${this.url}/cdn/${task.id}/v${task.urlVersion}/${task.kind === 'video' ? 'video.mp4' : 'image.png'}?X-Amz-Expires=86400&X-Amz-Signature=fake`,
            ],
          }
        : {}),
      ...(step.status === 'FAILED'
        ? {
            failure: step.failure ?? 'The generation failed.',
            ...(step.failureCode ? { failureCode: step.failureCode } : {}),
          }
        : {}),
    };
  }

  private download(req: RecordedRequest, res: ServerResponse): void {
    const match = /^\/cdn\/([^/]+)\/v(\d+)\/(video\.mp4|image\.png)$/.exec(req.path);
    const task = match ? this.tasks.get(match[1]) : undefined;
    if (!task || !match) return sendJson(res, 404, { error: 'NoSuchKey' });
    if (req.headers.authorization) {
      // Pre-signed URLs carry their own auth; S3 refuses a second mechanism.
      return sendJson(res, 400, { error: 'InvalidArgument: Only one auth mechanism allowed' });
    }
    if (this.expireDownloads > 0 || Number(match[2]) !== task.urlVersion) {
      if (this.expireDownloads > 0) {
        this.expireDownloads--;
        task.urlVersion++;
      }
      return sendJson(res, 403, { error: 'AccessDenied: Request has expired' });
    }
    if (task.kind === 'image') {
      if (!this.options.png)
        return sendJson(res, 500, { error: 'the fake was started without a png' });
      return sendBytes(res, 200, this.options.png, 'image/png');
    }
    sendBytes(res, 200, this.options.mp4, 'video/mp4');
  }
}
