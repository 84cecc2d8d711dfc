/**
 * A fake ComfyUI server (reference/providers.md C.2, editors.md §1.2–1.3): `POST /prompt` with
 * ComfyUI's validation (400 + node_errors), a one-at-a-time queue that "executes" the graph
 * over `renderMs` with the real WebSocket messages sent to the submitting clientId,
 * `/history/{id}`, `/view`, `/object_info/{class}`, `/interrupt` and `POST /queue`.
 * Scriptable: execution errors, no WebSocket (polling fallback), sockets dropped mid-render.
 * Queue semantics follow comfyanonymous/ComfyUI server.py (v0.3.x): one prompt runs at a time
 * for every client; `GET /queue` → `{queue_running, queue_pending}` of `[number, prompt_id,
 * prompt, extra_data, outputs]`; `POST /queue {delete}` removes pending prompts only;
 * `POST /interrupt` answers an empty 200 and, on current builds, stops only the running
 * prompt named by `{prompt_id}` — builds before the targeted branch (`targetedInterrupt:
 * false`) stop whatever runs. IP-Adapter nodes follow cubiq/ComfyUI_IPAdapter_plus
 * (IPAdapterPlus.py: IPAdapterUnifiedLoader, IPAdapterAdvanced) when `ipAdapter` is on;
 * `POST /upload/image` stores inputs for LoadImage.
 * Test-only code.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  FakeHttpServer,
  delay,
  sendBytes,
  sendJson,
  type RecordedRequest,
} from '../../../engine/testing/fakes/http-fake';

export interface FakeComfyUIOptions {
  /** The PNG every SaveImage "writes". */
  png: Buffer;
  checkpoints?: string[];
  loras?: string[];
  samplers?: string[];
  schedulers?: string[];
  /** How long the KSampler runs; progress messages are spread over it. Default 0. */
  renderMs?: number;
  /** False: `/ws` refuses the upgrade, so clients must poll `/history`. Default true. */
  websocket?: boolean;
  /**
   * False: a build from before targeted interrupts, whose `/interrupt` ignores `{prompt_id}`
   * and stops whatever runs. Default true.
   */
  targetedInterrupt?: boolean;
  /** True: cubiq/ComfyUI_IPAdapter_plus is installed (its nodes are in /object_info). */
  ipAdapter?: boolean;
}

type Graph = Record<string, { class_type?: string; inputs?: Record<string, unknown> }>;

interface QueuedPrompt {
  id: string;
  number: number;
  clientId: string;
  graph: Graph;
  interrupted: boolean;
}

interface HistoryEntry {
  prompt: unknown[];
  outputs: Record<string, { images: { filename: string; subfolder: string; type: string }[] }>;
  status: {
    status_str: 'success' | 'error';
    completed: boolean;
    messages: [string, Record<string, unknown>][];
  };
  meta: Record<string, unknown>;
}

type InputSpec =
  | { kind: 'link'; type: string }
  | { kind: 'combo'; options: () => string[] }
  | { kind: 'INT' | 'FLOAT' | 'STRING' };

export class FakeComfyUI {
  /** clientIds of the WebSockets that connected, in order. */
  readonly socketClientIds: string[] = [];
  /** Ids of the prompts accepted by `POST /prompt`, in order. */
  readonly promptIds: string[] = [];
  readonly history = new Map<string, HistoryEntry>();
  private readonly sockets = new Map<string, Set<WebSocket>>();
  private readonly files = new Map<string, Buffer>();
  private readonly queue: QueuedPrompt[] = [];
  private readonly executionErrors: string[] = [];
  private running: QueuedPrompt | undefined;
  private counter = 0;
  private fileCounter = 0;
  private dropSockets = false;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly specs: Record<string, Record<string, InputSpec>>;

  private constructor(
    private readonly http: FakeHttpServer,
    private readonly options: FakeComfyUIOptions,
  ) {
    const combo = (options: () => string[]): InputSpec => ({ kind: 'combo', options });
    const link = (type: string): InputSpec => ({ kind: 'link', type });
    this.specs = {
      CheckpointLoaderSimple: {
        ckpt_name: combo(() => this.options.checkpoints ?? ['sd_xl_base_1.0.safetensors']),
      },
      LoraLoader: {
        model: link('MODEL'),
        clip: link('CLIP'),
        lora_name: combo(() => this.options.loras ?? []),
        strength_model: { kind: 'FLOAT' },
        strength_clip: { kind: 'FLOAT' },
      },
      CLIPTextEncode: { text: { kind: 'STRING' }, clip: link('CLIP') },
      EmptyLatentImage: {
        width: { kind: 'INT' },
        height: { kind: 'INT' },
        batch_size: { kind: 'INT' },
      },
      KSampler: {
        model: link('MODEL'),
        seed: { kind: 'INT' },
        steps: { kind: 'INT' },
        cfg: { kind: 'FLOAT' },
        sampler_name: combo(
          () =>
            this.options.samplers ?? [
              'euler',
              'euler_ancestral',
              'dpmpp_2m',
              'dpmpp_2m_sde',
              'ddim',
              'uni_pc',
            ],
        ),
        scheduler: combo(
          () => this.options.schedulers ?? ['normal', 'karras', 'exponential', 'simple'],
        ),
        positive: link('CONDITIONING'),
        negative: link('CONDITIONING'),
        latent_image: link('LATENT'),
        denoise: { kind: 'FLOAT' },
      },
      VAEDecode: { samples: link('LATENT'), vae: link('VAE') },
      SaveImage: { images: link('IMAGE'), filename_prefix: { kind: 'STRING' } },
      // nodes.py LoadImage: the combo lists the files in input/ (subfolders included).
      LoadImage: {
        image: combo(() =>
          [...this.files.keys()]
            .filter((key) => key.startsWith('input/'))
            .map((key) => key.slice('input/'.length).replace(/^\//, '')),
        ),
      },
    };
    if (options.ipAdapter) {
      // IPAdapterPlus.py INPUT_TYPES (required inputs only).
      this.specs.IPAdapterUnifiedLoader = {
        model: link('MODEL'),
        preset: combo(() => [
          'LIGHT - SD1.5 only (low strength)',
          'STANDARD (medium strength)',
          'VIT-G (medium strength)',
          'PLUS (high strength)',
          'PLUS FACE (portraits)',
          'FULL FACE - SD1.5 only (portraits stronger)',
        ]),
      };
      this.specs.IPAdapterAdvanced = {
        model: link('MODEL'),
        ipadapter: link('IPADAPTER'),
        image: link('IMAGE'),
        weight: { kind: 'FLOAT' },
        weight_type: combo(() => [
          'linear',
          'ease in',
          'ease out',
          'ease in-out',
          'reverse in-out',
          'weak input',
          'weak output',
          'weak middle',
          'strong middle',
          'style transfer',
          'composition',
          'strong style transfer',
        ]),
        combine_embeds: combo(() => ['concat', 'add', 'subtract', 'average', 'norm average']),
        start_at: { kind: 'FLOAT' },
        end_at: { kind: 'FLOAT' },
        embeds_scaling: combo(() => [
          'V only',
          'K+V',
          'K+V w/ C penalty',
          'K+mean(V) w/ C penalty',
        ]),
      };
    }
  }

  /** The bytes of an uploaded input file (`subfolder/name` as LoadImage names it). */
  inputFile(name: string): Buffer | undefined {
    const slash = name.lastIndexOf('/');
    const key =
      slash >= 0 ? `input/${name.slice(0, slash)}/${name.slice(slash + 1)}` : `input//${name}`;
    return this.files.get(key);
  }

  static async start(options: FakeComfyUIOptions): Promise<FakeComfyUI> {
    const http = await FakeHttpServer.start();
    const fake = new FakeComfyUI(http, options);
    http.handler = (req, res) => fake.handle(req, res);
    http.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      fake.upgrade(req, socket, head),
    );
    return fake;
  }

  get url(): string {
    return this.http.url;
  }

  get requests(): RecordedRequest[] {
    return this.http.requests;
  }

  requestsTo(method: string, path: string | RegExp): RecordedRequest[] {
    return this.http.requestsTo(method, path);
  }

  /** The next executed prompt fails in KSampler with this exception message. */
  failNextExecution(message: string): this {
    this.executionErrors.push(message);
    return this;
  }

  /** Another user's prompt, straight into the shared queue; resolves with its id. */
  otherUsersPrompt(steps = 10): string {
    const prompt: QueuedPrompt = {
      id: randomUUID(),
      number: this.counter++,
      clientId: 'someone-else',
      graph: {
        '3': { class_type: 'KSampler', inputs: { steps } },
        '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'theirs' } },
      },
      interrupted: false,
    };
    this.queue.push(prompt);
    void this.drain();
    return prompt.id;
  }

  /** The id of the prompt running now, if any. */
  get runningId(): string | undefined {
    return this.running?.id;
  }

  /** Closes every client socket as soon as the next prompt starts executing. */
  dropSocketsOnNextRun(): void {
    this.dropSockets = true;
  }

  setRenderMs(ms: number): void {
    this.options.renderMs = ms;
  }

  setWebsocket(enabled: boolean): void {
    this.options.websocket = enabled;
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    if (this.running) this.running.interrupted = true;
    await this.http.close();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname !== '/ws' || this.options.websocket === false) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const clientId = url.searchParams.get('clientId') ?? randomUUID().replace(/-/g, '');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.socketClientIds.push(clientId);
      let set = this.sockets.get(clientId);
      if (!set) this.sockets.set(clientId, (set = new Set()));
      set.add(ws);
      ws.on('close', () => set.delete(ws));
      ws.send(
        JSON.stringify({
          type: 'status',
          data: { status: { exec_info: { queue_remaining: this.queue.length } }, sid: clientId },
        }),
      );
    });
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
      // ComfyUI has no auth of its own; the proxy that adds it answers 401 quoting the request.
      return sendJson(res, 401, {
        error: {
          type: 'unauthorized',
          message: `Authorization: ${String(req.headers.authorization ?? '')} refused for ${req.method} ${req.path}?${req.query.toString()}`,
        },
      });
    }
    const path = req.path.replace(/^\/api(?=\/)/, '');
    if (req.method === 'POST' && path === '/prompt') return this.postPrompt(req, res);
    if (req.method === 'POST' && path === '/upload/image') return this.upload(req, res);
    if (req.method === 'GET' && path.startsWith('/history/')) {
      const id = decodeURIComponent(path.slice('/history/'.length));
      const entry = this.history.get(id);
      return sendJson(res, 200, entry ? { [id]: entry } : {});
    }
    if (req.method === 'GET' && path === '/view') {
      const key = `${req.query.get('type')}/${req.query.get('subfolder') ?? ''}/${req.query.get('filename')}`;
      const file = this.files.get(key);
      if (!file) return sendJson(res, 404, { error: 'file not found' });
      return sendBytes(res, 200, file, 'image/png');
    }
    if (req.method === 'GET' && path.startsWith('/object_info/')) {
      const name = decodeURIComponent(path.slice('/object_info/'.length));
      const spec = this.specs[name];
      return sendJson(res, 200, spec ? { [name]: this.objectInfo(name, spec) } : {});
    }
    if (req.method === 'POST' && path === '/interrupt') {
      const wanted =
        this.options.targetedInterrupt === false
          ? undefined
          : (req.json as { prompt_id?: string } | undefined)?.prompt_id;
      if (this.running && (!wanted || wanted === this.running.id)) this.running.interrupted = true;
      res.writeHead(200, { 'content-length': 0 }).end();
      return;
    }
    if (req.method === 'GET' && path === '/queue') {
      const item = (p: QueuedPrompt) => [p.number, p.id, p.graph, { client_id: p.clientId }, []];
      return sendJson(res, 200, {
        queue_running: this.running ? [item(this.running)] : [],
        queue_pending: this.queue.map(item),
      });
    }
    if (req.method === 'POST' && path === '/queue') {
      const remove = (req.json as { delete?: string[] } | undefined)?.delete ?? [];
      for (const id of remove) {
        // delete_queue_item only touches pending prompts; a running one carries on.
        const index = this.queue.findIndex((p) => p.id === id);
        if (index >= 0) this.queue.splice(index, 1);
      }
      res.writeHead(200, { 'content-length': 0 }).end();
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  }

  /** server.py `upload_image`: multipart `image` (+ `type`, `subfolder`, `overwrite`). */
  private async upload(req: RecordedRequest, res: ServerResponse): Promise<void> {
    let form: FormData;
    try {
      form = await new Response(new Uint8Array(req.body), {
        headers: { 'content-type': String(req.headers['content-type'] ?? '') },
      }).formData();
    } catch {
      res.writeHead(400, { 'content-length': 0 }).end();
      return;
    }
    const image = form.get('image');
    if (!(image instanceof Blob) || !('name' in image)) {
      res.writeHead(400, { 'content-length': 0 }).end();
      return;
    }
    const type = String(form.get('type') ?? 'input');
    const subfolder = String(form.get('subfolder') ?? '');
    const name = (image as File).name;
    this.files.set(`${type}/${subfolder}/${name}`, Buffer.from(await image.arrayBuffer()));
    sendJson(res, 200, { name, subfolder, type });
  }

  private postPrompt(req: RecordedRequest, res: ServerResponse): void {
    const body = req.json as { prompt?: Graph; client_id?: string; prompt_id?: string } | undefined;
    const graph = body?.prompt;
    const invalid = (type: string, message: string, details = '') =>
      sendJson(res, 400, { error: { type, message, details, extra_info: {} }, node_errors: [] });
    if (!graph || typeof graph !== 'object')
      return invalid('invalid_prompt', 'Cannot execute because the prompt is missing.');
    for (const [id, node] of Object.entries(graph)) {
      if (!node.class_type)
        return invalid(
          'invalid_prompt',
          `Cannot execute because a node is missing the class_type property.`,
          `Node ID '#${id}'`,
        );
      if (!this.specs[node.class_type]) {
        return invalid(
          'invalid_prompt',
          `Cannot execute because node ${node.class_type} does not exist.`,
          `Node ID '#${id}'`,
        );
      }
    }
    const outputs = Object.keys(graph).filter((id) => graph[id].class_type === 'SaveImage');
    if (outputs.length === 0) return invalid('prompt_no_outputs', 'Prompt has no outputs');
    const nodeErrors = this.validate(graph, outputs);
    if (Object.keys(nodeErrors).length > 0) {
      return sendJson(res, 400, {
        error: {
          type: 'prompt_outputs_failed_validation',
          message: 'Prompt outputs failed validation',
          details: '',
          extra_info: {},
        },
        node_errors: nodeErrors,
      });
    }
    const prompt: QueuedPrompt = {
      id: body.prompt_id ?? randomUUID(),
      number: this.counter++,
      clientId: body.client_id ?? '',
      graph,
      interrupted: false,
    };
    this.queue.push(prompt);
    this.promptIds.push(prompt.id);
    sendJson(res, 200, { prompt_id: prompt.id, number: prompt.number, node_errors: {} });
    this.broadcastStatus();
    void this.drain();
  }

  private validate(graph: Graph, outputs: string[]): Record<string, unknown> {
    const nodeErrors: Record<string, unknown> = {};
    for (const [id, node] of Object.entries(graph)) {
      const errors: unknown[] = [];
      const inputs = node.inputs ?? {};
      for (const [name, spec] of Object.entries(this.specs[node.class_type!])) {
        const value = inputs[name];
        if (value === undefined) {
          errors.push({
            type: 'required_input_missing',
            message: 'Required input is missing',
            details: name,
            extra_info: { input_name: name },
          });
        } else if (spec.kind === 'link') {
          const ok =
            Array.isArray(value) &&
            typeof value[0] === 'string' &&
            graph[value[0]] !== undefined &&
            Number.isInteger(value[1]);
          if (!ok)
            errors.push({
              type: 'bad_linked_input',
              message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]',
              details: `${name}, ${JSON.stringify(value)}`,
              extra_info: { input_name: name },
            });
        } else if (spec.kind === 'combo') {
          const options = spec.options();
          if (!options.includes(value as string)) {
            errors.push({
              type: 'value_not_in_list',
              message: 'Value not in list',
              details: `${name}: '${String(value)}' not in ${JSON.stringify(options)}`,
              extra_info: { input_name: name, received_value: value },
            });
          }
        } else if (
          (spec.kind === 'STRING') !== (typeof value === 'string') ||
          (spec.kind === 'INT' && !Number.isInteger(value))
        ) {
          errors.push({
            type: 'invalid_input_type',
            message: `Failed to convert an input value to a ${spec.kind} value`,
            details: `${name}, ${String(value)}`,
            extra_info: { input_name: name },
          });
        }
      }
      if (errors.length > 0)
        nodeErrors[id] = { errors, dependent_outputs: outputs, class_type: node.class_type };
    }
    return nodeErrors;
  }

  private objectInfo(name: string, spec: Record<string, InputSpec>): unknown {
    const required = Object.fromEntries(
      Object.entries(spec).map(([input, s]) => [
        input,
        s.kind === 'link' ? [s.type] : s.kind === 'combo' ? [s.options(), {}] : [s.kind, {}],
      ]),
    );
    return {
      input: { required },
      input_order: { required: Object.keys(required) },
      name,
      display_name: name,
      category: 'fake',
      output_node: name === 'SaveImage',
    };
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      this.running = next;
      try {
        await this.execute(next);
      } finally {
        this.running = undefined;
        this.broadcastStatus();
      }
    }
  }

  private async execute(prompt: QueuedPrompt): Promise<void> {
    const messages: [string, Record<string, unknown>][] = [];
    const send = (type: string, data: Record<string, unknown>, keep = true) => {
      const payload = { ...data, prompt_id: prompt.id, ...(keep ? { timestamp: Date.now() } : {}) };
      if (keep) messages.push([type, payload]);
      for (const ws of this.sockets.get(prompt.clientId) ?? [])
        ws.send(JSON.stringify({ type, data: payload }));
    };
    const finish = (status: 'success' | 'error', outputs: HistoryEntry['outputs']) => {
      this.history.set(prompt.id, {
        prompt: [
          prompt.number,
          prompt.id,
          prompt.graph,
          { client_id: prompt.clientId },
          Object.keys(outputs),
        ],
        outputs,
        status: { status_str: status, completed: status === 'success', messages },
        meta: {},
      });
    };

    send('execution_start', {});
    send('execution_cached', { nodes: [] });
    if (this.dropSockets) {
      this.dropSockets = false;
      for (const set of this.sockets.values()) for (const ws of set) ws.terminate();
    }
    const outputs: HistoryEntry['outputs'] = {};
    for (const [id, node] of Object.entries(prompt.graph)) {
      send('executing', { node: id, display_node: id }, false);
      if (node.class_type === 'KSampler') {
        const steps = Number(node.inputs?.steps ?? 20);
        const tick = (this.options.renderMs ?? 0) / steps;
        for (let step = 1; step <= steps; step++) {
          const stepEnd = Date.now() + tick;
          while (Date.now() < stepEnd && !prompt.interrupted) await delay(Math.min(5, tick));
          if (prompt.interrupted) {
            send('execution_interrupted', { node_id: id, node_type: 'KSampler', executed: [] });
            finish('error', {});
            return;
          }
          send('progress', { value: step, max: steps, node: id }, false);
        }
        const failure = this.executionErrors.shift();
        if (failure) {
          send('execution_error', {
            node_id: id,
            node_type: 'KSampler',
            executed: [],
            exception_message: failure,
            exception_type: 'torch.OutOfMemoryError',
            traceback: ['Traceback (most recent call last):', failure],
            current_inputs: {},
            current_outputs: {},
          });
          finish('error', {});
          return;
        }
      }
      if (node.class_type === 'SaveImage') {
        const prefix = String(node.inputs?.filename_prefix ?? 'ComfyUI');
        const filename = `${prefix}_${String(++this.fileCounter).padStart(5, '0')}_.png`;
        this.files.set(`output//${filename}`, this.options.png);
        outputs[id] = { images: [{ filename, subfolder: '', type: 'output' }] };
        send('executed', { node: id, display_node: id, output: outputs[id] }, false);
      }
    }
    send('executing', { node: null }, false);
    send('execution_success', {});
    // ComfyUI writes history in task_done, after these messages: clients must not assume it is there yet.
    await delay(20);
    finish('success', outputs);
  }

  private broadcastStatus(): void {
    const message = JSON.stringify({
      type: 'status',
      data: {
        status: { exec_info: { queue_remaining: this.queue.length + (this.running ? 1 : 0) } },
      },
    });
    for (const set of this.sockets.values()) for (const ws of set) ws.send(message);
  }
}
