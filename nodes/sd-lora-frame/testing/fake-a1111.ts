/**
 * A fake AUTOMATIC1111 `/sdapi/v1` server (reference/providers.md C.1): txt2img that takes
 * `renderMs` while `/progress` climbs, `/interrupt` that cuts the job short, `/loras`,
 * `/sd-models`, FastAPI-style 422s, A1111's HTTPException bodies, and scripted failures.
 * One job at a time, later requests wait, like A1111's queue lock. Test-only code.
 */
import type { ServerResponse } from 'node:http';
import {
  FakeHttpServer,
  delay,
  sendJson,
  type RecordedRequest,
} from '../../../engine/testing/fakes/http-fake';

export interface FakeA1111Options {
  /** The PNG every txt2img returns. */
  png: Buffer;
  /** How long a txt2img takes; `/progress` climbs over it. Default 0. */
  renderMs?: number;
  loras?: { name: string; alias?: string }[];
  samplers?: string[];
  checkpoints?: string[];
}

/** A scripted txt2img failure: status and JSON body as A1111 would send them. */
export interface FakeA1111Failure {
  status: number;
  body: unknown;
}

interface Job {
  startedAt: number;
  durationMs: number;
  steps: number;
  interrupted: boolean;
}

const DEFAULT_SAMPLERS = ['DPM++ 2M', 'Euler a', 'Euler', 'DDIM', 'UniPC'];

export class FakeA1111 {
  private readonly failures: FakeA1111Failure[] = [];
  private job: Job | undefined;
  private jobTimestamp = 0;
  private lock: Promise<void> = Promise.resolve();

  private constructor(
    private readonly http: FakeHttpServer,
    private readonly options: FakeA1111Options,
  ) {}

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

  close(): Promise<void> {
    return this.http.close();
  }

  private async handle(req: RecordedRequest, res: ServerResponse): Promise<void> {
    const route = `${req.method} ${req.path}`;
    switch (route) {
      case 'POST /sdapi/v1/txt2img':
        return this.txt2img(req, res);
      case 'GET /sdapi/v1/progress':
        return this.progress(res);
      case 'POST /sdapi/v1/interrupt':
        if (this.job) this.job.interrupted = true;
        return sendJson(res, 200, {});
      case 'GET /sdapi/v1/loras':
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
          (this.options.checkpoints ?? ['sd_xl_base_1.0']).map((name) => ({
            title: `${name}.safetensors [31e35c80fc]`,
            model_name: name,
            hash: '31e35c80fc',
            sha256: null,
            filename: `/models/Stable-diffusion/${name}.safetensors`,
            config: null,
          })),
        );
      default:
        // FastAPI's answer for a route that does not exist (e.g. A1111 started without --api).
        return sendJson(res, 404, { detail: 'Not Found' });
    }
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
    // A1111 runs one generation at a time behind its queue lock; later requests wait.
    const previous = this.lock;
    let release = () => undefined as void;
    this.lock = new Promise<void>((resolve) => (release = resolve));
    await previous;
    if (res.destroyed) {
      release();
      return;
    }

    const job: Job = {
      startedAt: Date.now(),
      durationMs: this.options.renderMs ?? 0,
      steps: Number(body!.steps ?? 20),
      interrupted: false,
    };
    this.job = job;
    this.jobTimestamp++;
    try {
      while (Date.now() - job.startedAt < job.durationMs && !job.interrupted) await delay(5);
    } finally {
      this.job = undefined;
      release();
    }
    if (res.destroyed || res.writableEnded) return; // the client went away (abort)
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
      steps: job.steps,
      batch_size: 1,
      restore_faces: false,
      sd_model_name: 'sd_xl_base_1.0',
      sd_model_hash: '31e35c80fc',
      infotexts: [
        `${String(body!.prompt)}\nSteps: ${job.steps}, Sampler: ${sampler}, Seed: ${seed}`,
      ],
      job_timestamp: String(this.jobTimestamp),
    };
    sendJson(res, 200, {
      images: [this.options.png.toString('base64')],
      parameters: body,
      info: JSON.stringify(info),
    });
  }

  private progress(res: ServerResponse): void {
    const job = this.job;
    if (!job) {
      return sendJson(res, 200, {
        progress: 0,
        eta_relative: 0,
        state: {
          skipped: false,
          interrupted: false,
          job: '',
          job_count: 0,
          job_timestamp: '0',
          job_no: 0,
          sampling_step: 0,
          sampling_steps: 0,
        },
        current_image: null,
        textinfo: null,
      });
    }
    const fraction =
      job.durationMs > 0 ? Math.min(0.99, (Date.now() - job.startedAt) / job.durationMs) : 0;
    sendJson(res, 200, {
      progress: Math.round(fraction * 100) / 100,
      eta_relative: ((1 - fraction) * job.durationMs) / 1000,
      state: {
        skipped: false,
        interrupted: job.interrupted,
        job: 'scripts_txt2img',
        job_count: 1,
        job_timestamp: String(this.jobTimestamp),
        job_no: 0,
        sampling_step: Math.floor(fraction * job.steps),
        sampling_steps: job.steps,
      },
      current_image: null,
      textinfo: null,
    });
  }
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
  return problems.length ? problems : undefined;
}
