/**
 * `charlab run <graph.json> [--set node.param=value …] [--out file.mp4] [--server URL]`:
 * validates the graph, runs it (in this process, or on a server), prints a line per event
 * and writes the final video. Exit 0 on success, 1 when the run fails, 2 on bad usage or an
 * invalid graph.
 *
 * `charlab run --template ID [--version N] [--set node.param=value …]` runs a template instead:
 * a shipped one or one of the user's, from the server with --server, else from the embedded
 * engine's store and the shipped catalogue. Only the template's exposed params can be set.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { io as connect } from 'socket.io-client';
import type { LabConfig } from '../config';
import type { GraphDocument } from '../graph/document';
import { isTerminalRunStatus, type RunEvent, type RunSnapshot } from '../runs/events';
import { GraphInvalid, type ValidationProblem } from '../graph/problems';
import type { PreparedGraph } from '../graph/schema';
import type { ArtifactRef } from '../graph/values';
import { createEngine } from '../engine';
import type { Engine } from '../engine-types';
import type { RunRecord } from '../stores/ports';
import { LabError } from '../errors';
import { SHIPPED_TEMPLATES_DIR, TemplateCatalog, TemplateService } from '../server/templates';
import { graphSchema } from '../../nodes/definitions';
import { watchRun } from '../server/watch-run';
import { parseCommand, parseServerUrl, parseSets, parseWholeNumber, UsageError } from './args';
import { formatProblems, readGraphFile } from './graph-file';
import type { CliIO } from './io';
import { describeFailure, findFinalVideo, ProgressPrinter } from './progress';

/** Exit codes of `charlab run`. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

interface RunPlan {
  graph: GraphDocument;
  out: string;
  /** `--out` was given: a run without a video then counts as a failure. */
  outGiven: boolean;
}

export async function runCommand(args: string[], io: CliIO, config: LabConfig): Promise<number> {
  const { values: flags, positionals } = parseCommand(
    'run',
    args,
    {
      set: { type: 'string', multiple: true },
      out: { type: 'string' },
      server: { type: 'string' },
      template: { type: 'string' },
      version: { type: 'string' },
    },
    { min: 0, max: 1, names: 'the graph file (charlab run <graph.json>) or --template ID' },
  );
  const values = parseSets(flags.set);
  const server: ServerTarget | undefined =
    flags.server === undefined
      ? undefined
      : { url: parseServerUrl(flags.server), ...(config.token ? { token: config.token } : {}) };
  if (flags.template !== undefined) {
    if (positionals.length > 0) {
      throw new UsageError(
        `run: give a graph file or --template, not both (got "${positionals[0]}" and --template ${flags.template})`,
      );
    }
    const request: TemplateRunRequest = {
      templateId: flags.template,
      values,
      ...(flags.version === undefined
        ? {}
        : { version: parseWholeNumber('--version', flags.version, 1, 1_000_000) }),
    };
    const output = { out: flags.out, cwd: io.cwd };
    return server
      ? runTemplateOnServer(server, request, output, io)
      : runEmbedded(io, config, (engine) => prepareTemplate(engine, request, output, io));
  }
  if (flags.version !== undefined) throw new UsageError('run: --version goes with --template');
  if (positionals.length === 0) {
    throw new UsageError('run: missing the graph file (charlab run <graph.json>) or --template ID');
  }
  const { file, text } = await readGraphFile(io.cwd, positionals[0]);
  let loaded: PreparedGraph;
  try {
    loaded = graphSchema.prepare(text, { values });
  } catch (error) {
    if (error instanceof GraphInvalid) return reportInvalid(io, file, error.problems);
    throw error;
  }
  const plan = planFor(loaded.graph, { out: flags.out, cwd: io.cwd });
  return server
    ? runOnServer(server, plan, io, startOnServer(server, { graph: plan.graph }))
    : runEmbedded(io, config, async () => plan);
}

/**
 * Whose templates an embedded run sees: the data dir's single local user, the owner the server
 * gives everything while accounts are off.
 */
const LOCAL_USER = 'local';

/** What `--template` asks to run. */
interface TemplateRunRequest {
  templateId: string;
  version?: number;
  values: Record<string, string>;
}

function planFor(graph: GraphDocument, output: { out: string | undefined; cwd: string }): RunPlan {
  return {
    graph,
    out: resolve(output.cwd, output.out ?? `${safeFileName(graph.name)}.mp4`),
    outGiven: output.out !== undefined,
  };
}

/**
 * The template's graph with the --set values, from this machine's store or the shipped
 * catalogue; a key the template does not expose, a bad value or an unknown template is
 * reported as bad usage (exit 2) before anything runs.
 */
async function prepareTemplate(
  engine: Engine,
  request: TemplateRunRequest,
  output: { out: string | undefined; cwd: string },
  io: CliIO,
): Promise<RunPlan | number> {
  const templates = new TemplateService({
    graph: engine.graph,
    documents: engine.documents,
    artifacts: engine.artifacts,
    catalog: new TemplateCatalog(engine.graph, SHIPPED_TEMPLATES_DIR, (line) => io.err(line)),
  });
  try {
    const { graph } = await templates.prepare(LOCAL_USER, request.templateId, {
      values: request.values,
      ...(request.version === undefined ? {} : { version: request.version }),
    });
    return planFor(graph, output);
  } catch (error) {
    if (error instanceof LabError && error.status < 500) {
      return reportTemplateRefusal(io, request.templateId, error);
    }
    if (error instanceof GraphInvalid) return reportInvalid(io, request.templateId, error.problems);
    throw error;
  }
}

function reportTemplateRefusal(
  io: CliIO,
  templateId: string,
  error: { code: string; message: string; details?: unknown },
): number {
  io.err(`template ${templateId}: ${error.code}: ${error.message}`);
  const problems = (error.details as { errors?: ValidationProblem[] } | undefined)?.errors;
  if (error.code !== 'invalid_param' && problems) {
    for (const line of formatProblems(problems)) io.err(line);
  }
  return EXIT.usage;
}

/** Starts a template run on the server, then reads back the graph it runs (for the video). */
async function runTemplateOnServer(
  server: ServerTarget,
  request: TemplateRunRequest,
  output: { out: string | undefined; cwd: string },
  io: CliIO,
): Promise<number> {
  const started = await startOnServer(server, request)();
  if (!started.ok) {
    // The template's own checks (unknown template, a key it does not expose, a bad value)
    // are the user's to fix, like an invalid graph file.
    const code = started.error?.code ?? '';
    if (TEMPLATE_REFUSALS.has(code) && started.error) {
      return reportTemplateRefusal(io, request.templateId, started.error);
    }
    return reportServerRefusal(io, server, started);
  }
  const response = await apiFetch(server, `/api/runs/${started.runId}/graph`);
  if (!response.ok) throw new Error(`reading the run's graph failed: HTTP ${response.status}`);
  const graph = (await response.json()) as GraphDocument;
  return runOnServer(server, planFor(graph, output), io, async () => started);
}

/** Refusals of a template run that mean "fix your command" (exit 2), not "the run failed". */
const TEMPLATE_REFUSALS = new Set([
  'template_not_found',
  'template_version_not_found',
  'param_not_exposed',
  'invalid_param',
  'invalid_graph',
]);

function reportInvalid(io: CliIO, file: string, errors: readonly ValidationProblem[]): number {
  io.err(
    `${file}: the graph cannot run, ${errors.length} problem${errors.length === 1 ? '' : 's'}:`,
  );
  for (const line of formatProblems(errors)) io.err(line);
  return EXIT.usage;
}

/**
 * Runs in this process. `planOf` gets the engine first, since a template may live in its
 * store; it answers an exit code instead of a plan when there is nothing to run.
 */
async function runEmbedded(
  io: CliIO,
  config: LabConfig,
  planOf: (engine: Engine) => Promise<RunPlan | number>,
): Promise<number> {
  const engine = await createEngine({
    config,
    startWorker: true,
    log: (line) => io.err(line),
  });
  try {
    const plan = await planOf(engine);
    if (typeof plan === 'number') return plan;
    let run: RunRecord;
    try {
      run = await engine.runs.start({ graph: plan.graph });
    } catch (error) {
      // A graph that loads can still name what is not there (a deleted character).
      if (error instanceof GraphInvalid) return reportInvalid(io, plan.graph.name, error.problems);
      throw error;
    }
    const printer = new ProgressPrinter(run.id, io.out);
    const watch = await watchRun(engine, run.id, 0, (event) => printer.accept(event));
    if (!watch) throw new Error(`run ${run.id} vanished right after it started`);
    watch.events.forEach((event) => printer.accept(event));
    watch.start();
    const offSignal = io.onSignal(() => {
      io.err('interrupted: cancelling the run (press Ctrl-C again to wait no longer)');
      offSignal();
      engine.runs.cancel(run.id).catch(() => {});
    });
    let snapshot: RunSnapshot;
    try {
      snapshot = await engine.runs.waitForEnd(run.id, 24 * 3_600_000);
      // The stored snapshot can be ahead of the listeners: print whatever they have not seen.
      for (const event of await engine.events.since(run.id, printer.lastSeq)) printer.accept(event);
    } finally {
      watch.stop();
      offSignal();
    }
    return await finish(plan, snapshot, io, async (ref) => {
      await pipeline(await engine.blobs.stream(ref.id), createWriteStream(plan.out));
    });
  } finally {
    await engine.close();
  }
}

/** The server of `--server`, and the personal API token (LAB_TOKEN) it is called with. */
interface ServerTarget {
  url: string;
  token?: string;
}

/**
 * A fetch to the server whose failures say how to fix them: a network failure names the
 * address, a 401 (a server with accounts) names LAB_TOKEN.
 */
async function apiFetch(server: ServerTarget, path: string, init?: RequestInit): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${server.url}${path}`, {
      ...init,
      headers: {
        ...(init?.headers as Record<string, string> | undefined),
        ...(server.token ? { authorization: `Bearer ${server.token}` } : {}),
      },
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(
      `cannot reach the server at ${server.url} (${cause?.code ?? cause?.message ?? String(error)}): ` +
        'start it with `charlab serve` or fix --server',
    );
  }
  if (response.status === 401) throw new UsageError(unauthorizedMessage(server));
  return response;
}

function unauthorizedMessage(server: ServerTarget): string {
  return server.token
    ? `the server at ${server.url} refused LAB_TOKEN (unknown, revoked or malformed): make a new token on the studio's Tokens page`
    : `the server at ${server.url} has accounts: set LAB_TOKEN to a personal API token (the studio's Tokens page)`;
}

/** The answer to POST /api/runs: the run id, or the server's refusal. */
type StartAnswer =
  | { ok: true; runId: string }
  | {
      ok: false;
      status: number;
      error?: { code: string; message: string; details?: { errors?: ValidationProblem[] } };
    };

/** A POST /api/runs with `body`, to call when the run should start. */
function startOnServer(server: ServerTarget, body: object): () => Promise<StartAnswer> {
  return async () => {
    const started = await apiFetch(server, '/api/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await started.json().catch(() => ({}))) as {
      runId?: string;
      error?: { code: string; message: string; details?: { errors?: ValidationProblem[] } };
    };
    if (started.status === 202 && answer.runId) return { ok: true, runId: answer.runId };
    return { ok: false, status: started.status, ...(answer.error ? { error: answer.error } : {}) };
  };
}

function reportServerRefusal(
  io: CliIO,
  server: ServerTarget,
  refused: Extract<StartAnswer, { ok: false }>,
): number {
  if (refused.error?.code === 'invalid_graph' && refused.error.details?.errors) {
    return reportInvalid(io, server.url, refused.error.details.errors);
  }
  io.err(
    `the server refused the run (${refused.status} ${refused.error?.code ?? ''}): ${refused.error?.message ?? 'no details'}`,
  );
  return EXIT.failed;
}

async function runOnServer(
  server: ServerTarget,
  plan: RunPlan,
  io: CliIO,
  start: () => Promise<StartAnswer>,
): Promise<number> {
  const api = (path: string, init?: RequestInit) => apiFetch(server, path, init);
  const started = await start();
  if (!started.ok) return reportServerRefusal(io, server, started);
  const runId = started.runId;
  const printer = new ProgressPrinter(runId, io.out);
  const offSignal = io.onSignal(() => {
    io.err('interrupted: cancelling the run on the server');
    offSignal();
    api(`/api/runs/${runId}/cancel`, { method: 'POST' }).catch(() => {});
  });
  const socket = connect(server.url, {
    transports: ['websocket'],
    reconnectionDelayMax: 5_000,
    ...(server.token ? { auth: { token: server.token } } : {}),
  });
  try {
    await new Promise<void>((done, fail) => {
      const isEnd = (event: RunEvent) =>
        event.type.startsWith('run.') && event.type !== 'run.started';
      // (Re)watch from the last event printed: after a reconnect nothing is missed or repeated.
      const watch = async (): Promise<void> => {
        // The ack is the snapshot; missed events arrive as run:events right after it.
        let ack: Partial<RunSnapshot> & { error?: { code: string; message: string } };
        try {
          ack = await socket
            .timeout(30_000)
            .emitWithAck('run:watch', { runId, sinceSeq: printer.lastSeq });
        } catch {
          // No answer: ask again while connected; after a reconnect, 'connect' asks again.
          return socket.connected ? watch() : undefined;
        }
        if (ack.error) throw new Error(`${ack.error.code}: ${ack.error.message}`);
        if (ack.status && isTerminalRunStatus(ack.status) && ack.seq === printer.lastSeq) done();
      };
      socket.on('connect', () => watch().catch(fail));
      socket.on('connect_error', (error) => {
        // A refused sign-in does not get better by retrying.
        if (error.message === 'unauthenticated') fail(new UsageError(unauthorizedMessage(server)));
        else io.err(`connection to ${server.url} failed (${error.message}); retrying`);
      });
      socket.on('run:event', (event: RunEvent) => {
        if (event.runId !== runId) return;
        printer.accept(event);
        if (isEnd(event)) done();
      });
    });
  } finally {
    socket.close();
    offSignal();
  }
  const snapshotResponse = await api(`/api/runs/${runId}`);
  const snapshot = (await snapshotResponse.json()) as RunSnapshot;
  return finish(plan, snapshot, io, async (ref) => {
    const response = await api(`/api/artifacts/${ref.id}`);
    if (!response.ok || !response.body)
      throw new Error(`downloading the video failed: HTTP ${response.status}`);
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream),
      createWriteStream(plan.out),
    );
  });
}

/** Reports the ending and writes the video; returns the exit code. */
async function finish(
  plan: RunPlan,
  snapshot: RunSnapshot,
  io: CliIO,
  download: (ref: ArtifactRef) => Promise<void>,
): Promise<number> {
  if (snapshot.status !== 'succeeded') {
    for (const line of describeFailure(snapshot)) io.err(line);
    return EXIT.failed;
  }
  const video = findFinalVideo(plan.graph, snapshot);
  if (!video) {
    const message = `the run succeeded but made no single video (the graph has no video output such as ffmpeg-merge)`;
    if (plan.outGiven) {
      io.err(`${message}: nothing written to ${plan.out}`);
      return EXIT.failed;
    }
    io.out(`${message}; nothing written`);
    return EXIT.ok;
  }
  await mkdir(dirname(plan.out), { recursive: true });
  await download(video);
  const length = video.durationSec === undefined ? '' : `, ${video.durationSec.toFixed(1)} s`;
  io.out(`wrote ${plan.out} (${(video.bytes / 1_000_000).toFixed(1)} MB${length})`);
  return EXIT.ok;
}

/** A graph name as a file name: path separators and characters Windows forbids are replaced. */
export function safeFileName(name: string): string {
  const cleaned = [...name]
    .map((c) => (c.charCodeAt(0) < 0x20 || '/\\:*?"<>|'.includes(c) ? '_' : c))
    .join('')
    .trim();
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'output' : cleaned.slice(0, 120);
}
