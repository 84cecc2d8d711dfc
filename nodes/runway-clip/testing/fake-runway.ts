/**
 * A fake Runway API (reference/providers.md B.2–B.6): `POST /v1/image_to_video` with auth,
 * version header and body validation, `GET /v1/tasks/{id}` walking a scripted status sequence
 * (PENDING → RUNNING{progress} → SUCCEEDED{output} by default, or FAILED{failureCode}),
 * `DELETE /v1/tasks/{id}`, and pre-signed output URLs on a fake CDN that expire on demand and
 * reject an Authorization header like S3 does. Test-only code.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  FakeHttpServer,
  sendBytes,
  sendJson,
  type RecordedRequest,
} from '../../../engine/testing/fakes/http-fake';

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
  /** The MP4 every succeeded task outputs. */
  mp4: Buffer;
  apiKey?: string;
}

interface FakeTask {
  id: string;
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

const RATIOS: Record<string, string[]> = {
  gen4_turbo: ['1280:720', '720:1280', '1104:832', '832:1104', '960:960', '1584:672'],
  'gen4.5': ['1280:720', '720:1280', '1104:832', '832:1104', '960:960', '1584:672'],
  'veo3.1': ['1280:720', '720:1280', '1080:1920', '1920:1080'],
  'veo3.1_fast': ['1280:720', '720:1280', '1080:1920', '1920:1080'],
};
const DURATIONS: Record<string, (d: number) => boolean> = {
  gen4_turbo: (d) => Number.isInteger(d) && d >= 2 && d <= 10,
  'gen4.5': (d) => Number.isInteger(d) && d >= 2 && d <= 10,
  'veo3.1': (d) => [4, 6, 8].includes(d),
  'veo3.1_fast': (d) => [4, 6, 8].includes(d),
};

export class FakeRunway {
  readonly apiKey: string;
  readonly tasks = new Map<string, FakeTask>();
  private readonly scripts: FakeTaskStep[][] = [];
  private readonly createFailures: {
    status: number;
    body: unknown;
    headers?: Record<string, string>;
  }[] = [];
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

  /** A task that exists already, as if an earlier attempt had submitted it. */
  seedTask(steps: FakeTaskStep[] = DEFAULT_TASK_STEPS): string {
    return this.addTask(steps).id;
  }

  /** The next `count` output downloads answer 403, as an expired pre-signed URL does. */
  expireNextDownloads(count = 1): void {
    this.expireDownloads += count;
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private addTask(steps: FakeTaskStep[]): FakeTask {
    const task: FakeTask = {
      id: randomUUID(),
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

  private handle(req: RecordedRequest, res: ServerResponse): void {
    if (req.path.startsWith('/cdn/')) return this.download(req, res);
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
    if (req.method === 'POST' && req.path === '/v1/image_to_video') return this.create(req, res);
    const match = /^\/v1\/tasks\/([^/]+)$/.exec(req.path);
    if (match) {
      const task = this.tasks.get(decodeURIComponent(match[1]));
      if (!task || task.deleted) return sendJson(res, 404, { error: 'Task not found' });
      if (req.method === 'GET') return sendJson(res, 200, this.view(task));
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

  private create(req: RecordedRequest, res: ServerResponse): void {
    const failure = this.createFailures.shift();
    if (failure) return sendJson(res, failure.status, failure.body, failure.headers);
    const issues = validate(req.json as Record<string, unknown> | undefined);
    if (issues.length > 0)
      return sendJson(res, 400, { error: 'Validation of body failed', issues });
    const task = this.addTask(this.scripts.shift() ?? DEFAULT_TASK_STEPS);
    sendJson(res, 200, { id: task.id });
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
              `${this.url}/cdn/${task.id}/v${task.urlVersion}/video.mp4?X-Amz-Expires=86400&X-Amz-Signature=fake`,
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
    const match = /^\/cdn\/([^/]+)\/v(\d+)\/video\.mp4$/.exec(req.path);
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
    sendBytes(res, 200, this.options.mp4, 'video/mp4');
  }
}

function validate(
  body: Record<string, unknown> | undefined,
): { path: string[]; message: string }[] {
  if (!body) return [{ path: [], message: 'Expected a JSON object' }];
  const issues: { path: string[]; message: string }[] = [];
  const model = body.model;
  if (typeof model !== 'string' || !RATIOS[model])
    issues.push({ path: ['model'], message: `Invalid model ${String(model)}` });
  const image = body.promptImage;
  if (
    typeof image !== 'string' ||
    !(
      /^data:image\/(png|jpeg|webp);base64,[A-Za-z0-9+/]+=*$/.test(image) ||
      image.startsWith('https://')
    )
  ) {
    issues.push({
      path: ['promptImage'],
      message: 'Expected an HTTPS URL, a runway:// URI or a base64 data URI',
    });
  } else if (image.length >= 5 * 1024 * 1024) {
    issues.push({ path: ['promptImage'], message: 'Data URI must be under 5 MB' });
  }
  if (
    body.promptText !== undefined &&
    (typeof body.promptText !== 'string' ||
      body.promptText.length > 1000 ||
      body.promptText.length === 0)
  ) {
    issues.push({ path: ['promptText'], message: 'Expected 1 to 1000 characters' });
  }
  if (typeof model === 'string' && RATIOS[model] && !RATIOS[model].includes(body.ratio as string)) {
    issues.push({ path: ['ratio'], message: `Invalid ratio for ${model}: ${String(body.ratio)}` });
  }
  if (
    typeof model === 'string' &&
    DURATIONS[model] &&
    body.duration !== undefined &&
    !DURATIONS[model](Number(body.duration))
  ) {
    issues.push({
      path: ['duration'],
      message: `Invalid duration for ${model}: ${String(body.duration)}`,
    });
  }
  if (
    body.seed !== undefined &&
    !(
      Number.isInteger(body.seed) &&
      (body.seed as number) >= 0 &&
      (body.seed as number) <= 4_294_967_295
    )
  ) {
    issues.push({ path: ['seed'], message: 'Expected an integer from 0 to 4294967295' });
  }
  return issues;
}
