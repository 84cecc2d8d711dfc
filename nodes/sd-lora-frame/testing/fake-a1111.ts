/**
 * A fake AUTOMATIC1111 `/sdapi/v1` server that behaves like the real one where it differs from
 * what a client would naively assume. Follows AUTOMATIC1111/stable-diffusion-webui v1.10.1:
 * - modules/api/api.py `text2imgapi`: the task id is `force_task_id` or a generated one; it is
 *   queued (`add_task_to_queue`) and then runs behind ONE `queue_lock` for every client. The job
 *   runs to the end even when the HTTP client has gone away (nothing watches the socket).
 * - modules/progress.py: `POST /internal/progress {id_task}` → `{active, queued, completed,
 *   progress, eta, …}` for that task only (absent under `--nowebui`: option `internalProgress`).
 * - modules/shared_state.py: `/sdapi/v1/progress` is global; `begin()` resets `interrupted` and
 *   sets `job_timestamp`, `end()` clears `job`/`job_count` but keeps `interrupted`;
 *   `interrupt()` sets the flag whoever's job runs (and even when idle).
 * - modules/processing.py: an interrupted job returns what it has (200, a half-denoised image);
 *   an unknown `override_settings.sd_model_checkpoint` is dropped silently and the loaded
 *   model renders; `override_settings_restore_afterwards` puts the previous model back.
 * - api.py `handle_exception`: error bodies are `{error, detail, body, errors}`; FastAPI's 422
 *   `{detail: [...]}` for type errors; `{detail: "Not Found"}` for a route that does not exist
 *   (`/sdapi/v1/loras` when the built-in Lora extension is disabled).
 * - Mikubill/sd-webui-controlnet (internal_controlnet/args.py `ControlNetUnit` at commit
 *   084dd01, api.py `/controlnet/model_list`, `/controlnet/module_list`): `alwayson_scripts.
 *   controlnet.args` units `{enabled, module, model, weight 0–2, image, resize_mode,
 *   guidance_start, guidance_end, pixel_perfect, control_mode}`; an unknown module or model is
 *   a validation error. Enabled with the `controlnet` option.
 * Test-only code.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import {
  FakeHttpServer,
  delay,
  sendJson,
  type RecordedRequest,
} from '../../../engine/testing/fakes/http-fake';

export interface FakeA1111Options {
  /** The PNG every finished txt2img returns. */
  png: Buffer;
  /**
   * Chooses the image of one finished txt2img by its seed and prompt (e.g. another person's face
   * for some seeds, to exercise the consistency gate); undefined falls back to `png`.
   */
  pngFor?: (request: { seed: number; prompt: string }) => Buffer | undefined;
  /** The PNG an interrupted txt2img returns (A1111 returns the half-finished image). Default `png`. */
  partialPng?: Buffer;
  /** How long a txt2img takes; `/progress` climbs over it. Default 0. */
  renderMs?: number;
  loras?: { name: string; alias?: string }[];
  /** False: the built-in Lora extension is disabled, so `/sdapi/v1/loras` is a 404. */
  loraExtension?: boolean;
  samplers?: string[];
  /** Checkpoint model names; the first is loaded at start. */
  checkpoints?: string[];
  /** False: started with `--nowebui`, so `/internal/progress` does not exist. Default true. */
  internalProgress?: boolean;
  /** The sd-webui-controlnet extension's models and modules; absent = extension not installed. */
  controlnet?: { models: string[]; modules: string[] };
}

/** A scripted txt2img failure: status and JSON body as A1111 would send them. */
export interface FakeA1111Failure {
  status: number;
  body: unknown;
}

/** What the fake knows about a job, for assertions. */
export interface FakeA1111Job {
  taskId: string;
  /** The checkpoint that rendered it (after override_settings). */
  model: string;
  interrupted: boolean;
  /** True when the job ran to its end (interrupted or not). */
  finished: boolean;
  /** The `alwayson_scripts` the request carried. */
  alwaysOn: Record<string, unknown> | undefined;
}

interface SharedState {
  interrupted: boolean;
  skipped: boolean;
  job: string;
  job_count: number;
  job_timestamp: string;
  sampling_step: number;
  sampling_steps: number;
}

interface Running {
  job: FakeA1111Job;
  startedAt: number;
  durationMs: number;
  steps: number;
}

const DEFAULT_SAMPLERS = ['DPM++ 2M', 'Euler a', 'Euler', 'DDIM', 'UniPC'];

export class FakeA1111 {
  /** Every job that reached the queue, in submission order. */
  readonly jobs: FakeA1111Job[] = [];
  private readonly failures: FakeA1111Failure[] = [];
  private readonly pending = new Set<string>();
  /** Jobs sent with `override_settings_restore_afterwards: false`. */
  private readonly keepModel = new WeakSet<FakeA1111Job>();
  private readonly finished: string[] = [];
  private running: Running | undefined;
  private timestamp = 20260101000000;
  private lock: Promise<void> = Promise.resolve();
  private loadedModel: string;
  private readonly state: SharedState = {
    interrupted: false,
    skipped: false,
    job: '',
    job_count: 0,
    job_timestamp: '0',
    sampling_step: 0,
    sampling_steps: 0,
  };

  private constructor(
    private readonly http: FakeHttpServer,
    private readonly options: FakeA1111Options,
  ) {
    this.loadedModel = this.checkpoints()[0] ?? '';
  }

  static async start(options: FakeA1111Options): Promise<FakeA1111> {
    const http = await FakeHttpServer.start();
    const fake = new FakeA1111(http, options);
    http.handler = (req, res) => fake.handle(req, res);
    return fake;
  }

  get url(): string {
    return this.http.url;
  }

  get requests(): RecordedRequest[] {
    return this.http.requests;
  }

  /** The checkpoint loaded right now. */
  get model(): string {
    return this.loadedModel;
  }

  requestsTo(method: string, path: string): RecordedRequest[] {
    return this.http.requestsTo(method, path);
  }

  /** Makes the next txt2img requests fail, in order. */
  failNext(...failures: FakeA1111Failure[]): this {
    this.failures.push(...failures);
    return this;
  }

  /** Changes how long the next renders take. */
  setRenderMs(ms: number): void {
    this.options.renderMs = ms;
  }

  /**
   * Another user's txt2img on the same server, straight into the shared queue; resolves with
   * its job when it ends (interrupted or not).
   */
  async otherUsersJob(renderMs: number): Promise<FakeA1111Job> {
    const job = this.enqueue(`task(${randomUUID()})`, undefined, undefined);
    await this.run(job, renderMs, 20);
    return job;
  }

  /** Resolves once a job with this task id is running. */
  async whenRunning(predicate: (job: FakeA1111Job) => boolean): Promise<void> {
    while (!this.running || !predicate(this.running.job)) await delay(2);
  }

  close(): Promise<void> {
    if (this.running) this.running.job.interrupted = true;
    return this.http.close();
  }

  private checkpoints(): string[] {
    return this.options.checkpoints ?? ['sd_xl_base_1.0'];
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

  private async handle(req: RecordedRequest, res: ServerResponse): Promise<void> {
    if (this.echoCredentials) {
      // A1111 under --api-auth answers 401 `{detail}` (modules/api/api.py `auth`); this one also
      // quotes what it received, as a reverse proxy in front of it may.
      return sendJson(res, 401, {
        detail: `Incorrect username or password: Authorization: ${String(req.headers.authorization ?? '')} (${req.method} ${req.path}?${req.query.toString()})`,
      });
    }
    const route = `${req.method} ${req.path}`;
    switch (route) {
      case 'POST /sdapi/v1/txt2img':
        return this.txt2img(req, res);
      case 'GET /sdapi/v1/progress':
        return this.progress(res);
      case 'POST /internal/progress':
        if (this.options.internalProgress === false) break;
        return this.internalProgress(req, res);
      case 'POST /sdapi/v1/interrupt':
        // shared_state.interrupt(): global, whoever's job is running, even when idle.
        this.state.interrupted = true;
        if (this.running) this.running.job.interrupted = true;
        return sendJson(res, 200, {});
      case 'GET /sdapi/v1/loras':
        if (this.options.loraExtension === false) break;
        return sendJson(
          res,
          200,
          (this.options.loras ?? []).map((lora) => ({
            name: lora.name,
            alias: lora.alias ?? lora.name,
            path: `/models/Lora/${lora.name}.safetensors`,
            metadata: {},
          })),
        );
      case 'GET /sdapi/v1/sd-models':
        return sendJson(
          res,
          200,
          this.checkpoints().map((name) => ({
            title: `${name}.safetensors [${fakeHash(name)}]`,
            model_name: name,
            hash: fakeHash(name),
            sha256: null,
            filename: `/models/Stable-diffusion/${name}.safetensors`,
            config: null,
          })),
        );
      case 'GET /controlnet/model_list':
        if (!this.options.controlnet) break;
        return sendJson(res, 200, { model_list: this.options.controlnet.models });
      case 'GET /controlnet/module_list':
        if (!this.options.controlnet) break;
        return sendJson(res, 200, {
          module_list: this.options.controlnet.modules,
          module_detail: {},
        });
    }
    // FastAPI's answer for a route that does not exist (e.g. A1111 started without --api).
    return sendJson(res, 404, { detail: 'Not Found' });
  }

  private async txt2img(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const body = req.json as Record<string, unknown> | undefined;
    const invalid = validate(body);
    if (invalid) return sendJson(res, 422, { detail: invalid });
    const failure = this.failures.shift();
    if (failure) return sendJson(res, failure.status, failure.body);
    const samplers = this.options.samplers ?? DEFAULT_SAMPLERS;
    const sampler = (body!.sampler_name as string | undefined) ?? 'Euler';
    if (!samplers.includes(sampler)) {
      return sendJson(res, 404, {
        error: 'HTTPException',
        detail: 'Sampler not found',
        body: '',
        errors: '',
      });
    }
    const alwaysOn = body!.alwayson_scripts as Record<string, unknown> | undefined;
    const scriptProblem = this.checkAlwaysOn(alwaysOn);
    if (scriptProblem) return sendJson(res, scriptProblem.status, scriptProblem.body);

    const taskId =
      typeof body!.force_task_id === 'string' && body!.force_task_id
        ? body!.force_task_id
        : `task(${randomUUID()})`;
    const job = this.enqueue(taskId, body, alwaysOn);
    const steps = Number(body!.steps ?? 20);
    // The job runs to its end whether or not the client is still there (A1111 never checks).
    await this.run(job, this.options.renderMs ?? 0, steps);
    if (res.destroyed || res.writableEnded) return;

    const seedRequested = Number(body!.seed ?? -1);
    const seed = seedRequested === -1 ? 2750444522 : seedRequested;
    const info = {
      prompt: body!.prompt,
      all_prompts: [body!.prompt],
      negative_prompt: body!.negative_prompt ?? '',
      all_negative_prompts: [body!.negative_prompt ?? ''],
      seed,
      all_seeds: [seed],
      subseed: 1,
      all_subseeds: [1],
      subseed_strength: 0,
      width: body!.width ?? 512,
      height: body!.height ?? 512,
      sampler_name: sampler,
      cfg_scale: body!.cfg_scale ?? 7,
      steps,
      batch_size: 1,
      restore_faces: false,
      sd_model_name: job.model,
      sd_model_hash: fakeHash(job.model),
      infotexts: [
        `${String(body!.prompt)}\nSteps: ${steps}, Sampler: ${sampler}, Seed: ${seed}, Model: ${job.model}`,
      ],
      job_timestamp: this.state.job_timestamp,
    };
    const image = job.interrupted
      ? (this.options.partialPng ?? this.options.png)
      : (this.options.pngFor?.({ seed, prompt: String(body!.prompt) }) ?? this.options.png);
    sendJson(res, 200, {
      images: [image.toString('base64')],
      parameters: body,
      info: JSON.stringify(info),
    });
  }

  private enqueue(
    taskId: string,
    body: Record<string, unknown> | undefined,
    alwaysOn: Record<string, unknown> | undefined,
  ): FakeA1111Job {
    this.pending.add(taskId);
    const wanted = (body?.override_settings as { sd_model_checkpoint?: unknown } | undefined)
      ?.sd_model_checkpoint;
    const job: FakeA1111Job = {
      taskId,
      model: typeof wanted === 'string' ? wanted : '',
      interrupted: false,
      finished: false,
      alwaysOn,
    };
    if (body?.override_settings_restore_afterwards === false) this.keepModel.add(job);
    this.jobs.push(job);
    return job;
  }

  /** One job behind the queue lock: begin → sample (interruptible) → end. */
  private async run(job: FakeA1111Job, durationMs: number, steps: number): Promise<void> {
    const previous = this.lock;
    let release = () => undefined as void;
    this.lock = new Promise<void>((resolve) => (release = resolve));
    await previous;
    const before = this.loadedModel;
    // processing.py: an override naming no known checkpoint is dropped without a word.
    if (job.model && this.checkpoints().some((name) => matchesCheckpoint(name, job.model))) {
      this.loadedModel = this.checkpoints().find((name) => matchesCheckpoint(name, job.model))!;
    }
    job.model = this.loadedModel;
    // shared_state.begin()
    Object.assign(this.state, {
      interrupted: false,
      skipped: false,
      job: 'scripts_txt2img',
      job_count: 1,
      job_timestamp: String(++this.timestamp),
      sampling_step: 0,
      sampling_steps: steps,
    });
    this.pending.delete(job.taskId);
    const running: Running = { job, startedAt: Date.now(), durationMs, steps };
    this.running = running;
    try {
      while (Date.now() - running.startedAt < durationMs && !job.interrupted) {
        this.state.sampling_step = Math.floor(
          ((Date.now() - running.startedAt) / durationMs) * steps,
        );
        await delay(5);
      }
    } finally {
      job.finished = true;
      this.running = undefined;
      this.finished.push(job.taskId);
      // shared_state.end(): `interrupted` stays as it is until the next begin().
      Object.assign(this.state, { job: '', job_count: 0 });
      if (!this.keepModel.has(job)) this.loadedModel = before;
      release();
    }
  }

  private progress(res: ServerResponse): void {
    const running = this.running;
    const fraction =
      running && running.durationMs > 0
        ? Math.min(0.99, (Date.now() - running.startedAt) / running.durationMs)
        : 0;
    sendJson(res, 200, {
      progress: Math.round(fraction * 100) / 100,
      eta_relative: running ? ((1 - fraction) * running.durationMs) / 1000 : 0,
      state: { ...this.state, job_no: 0 },
      current_image: null,
      textinfo: null,
    });
  }

  private internalProgress(req: RecordedRequest, res: ServerResponse): void {
    const id = (req.json as { id_task?: string } | undefined)?.id_task ?? '';
    const running = this.running;
    const active = running?.job.taskId === id;
    const queued = this.pending.has(id);
    const completed = this.finished.includes(id);
    if (!active || !running) {
      return sendJson(res, 200, {
        active: false,
        queued,
        completed,
        progress: null,
        eta: null,
        live_preview: null,
        id_live_preview: -1,
        textinfo: queued ? 'In queue...' : 'Waiting...',
      });
    }
    const fraction =
      running.durationMs > 0
        ? Math.min(0.99, (Date.now() - running.startedAt) / running.durationMs)
        : 0;
    sendJson(res, 200, {
      active: true,
      queued,
      completed,
      progress: fraction,
      eta: ((1 - fraction) * running.durationMs) / 1000,
      live_preview: null,
      id_live_preview: -1,
      textinfo: null,
    });
  }

  /** The ControlNet extension's checks of its units (or A1111's answer when it is missing). */
  private checkAlwaysOn(
    alwaysOn: Record<string, unknown> | undefined,
  ): FakeA1111Failure | undefined {
    if (!alwaysOn) return undefined;
    for (const name of Object.keys(alwaysOn)) {
      if (name.toLowerCase() !== 'controlnet' || !this.options.controlnet) {
        // api.py get_script: an always-on script that is not installed.
        return {
          status: 422,
          body: {
            error: 'HTTPException',
            detail: `always on script ${name} not found`,
            body: '',
            errors: '',
          },
        };
      }
    }
    const { args } = (alwaysOn.controlnet ?? alwaysOn.ControlNet) as { args?: unknown };
    if (!Array.isArray(args)) return scriptError('controlnet args must be a list of units');
    for (const unit of args as Record<string, unknown>[]) {
      if (!unit || typeof unit !== 'object') return scriptError('a unit must be an object');
      if (unit.enabled !== true) continue;
      const { models, modules } = this.options.controlnet!;
      if (!modules.includes(String(unit.module)))
        return scriptError(`module(${String(unit.module)}) not found in supported modules.`);
      if (!models.includes(String(unit.model)))
        return scriptError(`model(${String(unit.model)}) not found in supported models.`);
      const weight = Number(unit.weight ?? 1);
      if (!(weight >= 0 && weight <= 2))
        return scriptError('weight: ensure this value is less than or equal to 2.0');
      const images = Array.isArray(unit.image) ? unit.image : [unit.image];
      for (const image of images) {
        const data =
          typeof image === 'object' && image ? (image as { image?: unknown }).image : image;
        if (typeof data !== 'string' || !isBase64Png(data))
          return scriptError('image: expected a base64 PNG/JPEG string or {image, mask}');
      }
    }
    return undefined;
  }
}

function scriptError(message: string): FakeA1111Failure {
  // A pydantic ValueError inside the extension's unit parsing surfaces through handle_exception.
  return {
    status: 500,
    body: { error: 'ValidationError', detail: '', body: '', errors: message },
  };
}

function isBase64Png(data: string): boolean {
  const raw = data.replace(/^data:image\/\w+;base64,/, '');
  const bytes = Buffer.from(raw, 'base64');
  return bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50;
}

/** sd_models.CheckpointInfo ids: model name, title, file name, short hash. */
function matchesCheckpoint(name: string, wanted: string): boolean {
  return (
    wanted === name ||
    wanted === `${name}.safetensors` ||
    wanted === `${name}.safetensors [${fakeHash(name)}]` ||
    wanted === fakeHash(name)
  );
}

function fakeHash(name: string): string {
  let hash = 0x811c9dc5;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return `${hash.toString(16).padStart(8, '0')}ab`.slice(0, 10);
}

/** FastAPI/pydantic-style validation of the fields the provider sends. */
function validate(body: Record<string, unknown> | undefined): unknown[] | undefined {
  if (!body) return [{ loc: ['body'], msg: 'field required', type: 'value_error.missing' }];
  const problems: unknown[] = [];
  const expect = (field: string, ok: boolean, type: string) => {
    if (body[field] !== undefined && !ok)
      problems.push({
        loc: ['body', field],
        msg: `value is not a valid ${type}`,
        type: `type_error.${type}`,
      });
  };
  expect('prompt', typeof body.prompt === 'string', 'str');
  expect('negative_prompt', typeof body.negative_prompt === 'string', 'str');
  for (const field of ['seed', 'steps', 'width', 'height', 'batch_size', 'n_iter']) {
    expect(field, Number.isInteger(body[field]), 'integer');
  }
  expect('cfg_scale', typeof body.cfg_scale === 'number', 'float');
  expect('override_settings', typeof body.override_settings === 'object', 'dict');
  expect('force_task_id', typeof body.force_task_id === 'string', 'str');
  expect('alwayson_scripts', typeof body.alwayson_scripts === 'object', 'dict');
  return problems.length ? problems : undefined;
}
