/**
 * `charlab run <graph.json> [--set node.param=value …] [--out file.mp4] [--server URL]`:
 * validates the graph, runs it (in this process, or on a server), prints a line per event
 * and writes the final video. Exit 0 on success, 1 when the run fails, 2 on bad usage or an
 * invalid graph.
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
import { graphSchema } from '../../nodes/definitions';
import { watchRun } from '../server/watch-run';
import { parseCommand, parseServerUrl, parseSets } from './args';
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
    },
    { min: 1, max: 1, names: 'the graph file (charlab run <graph.json>)' },
  );
  const values = parseSets(flags.set);
  const server = flags.server === undefined ? undefined : parseServerUrl(flags.server);
  const { file, text } = await readGraphFile(io.cwd, positionals[0]);
  let loaded: PreparedGraph;
  try {
    loaded = graphSchema.prepare(text, { values });
  } catch (error) {
    if (error instanceof GraphInvalid) return reportInvalid(io, file, error.problems);
    throw error;
  }
  const plan: RunPlan = {
    graph: loaded.graph,
    out: resolve(io.cwd, flags.out ?? `${safeFileName(loaded.graph.name)}.mp4`),
    outGiven: flags.out !== undefined,
  };
  return server ? runOnServer(server, plan, io) : runEmbedded(plan, io, config);
}

function reportInvalid(io: CliIO, file: string, errors: readonly ValidationProblem[]): number {
  io.err(
    `${file}: the graph cannot run, ${errors.length} problem${errors.length === 1 ? '' : 's'}:`,
  );
  for (const line of formatProblems(errors)) io.err(line);
  return EXIT.usage;
}

async function runEmbedded(plan: RunPlan, io: CliIO, config: LabConfig): Promise<number> {
  const engine = await createEngine({
    config,
    startWorker: true,
    log: (line) => io.err(line),
  });
  try {
    const run = await engine.runs.start({ graph: plan.graph });
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

async function runOnServer(server: string, plan: RunPlan, io: CliIO): Promise<number> {
  const api = async (path: string, init?: RequestInit) => {
    try {
      return await fetch(`${server}${path}`, init);
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(
        `cannot reach the server at ${server} (${cause?.code ?? cause?.message ?? String(error)}): ` +
          'start it with `charlab serve` or fix --server',
      );
    }
  };
  const started = await api('/api/runs', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ graph: plan.graph }),
  });
  const body = (await started.json().catch(() => ({}))) as {
    runId?: string;
    error?: { code: string; message: string; details?: { errors?: ValidationProblem[] } };
  };
  if (started.status !== 202 || !body.runId) {
    if (body.error?.code === 'invalid_graph' && body.error.details?.errors) {
      return reportInvalid(io, server, body.error.details.errors);
    }
    io.err(
      `the server refused the run (${started.status} ${body.error?.code ?? ''}): ${body.error?.message ?? 'no details'}`,
    );
    return EXIT.failed;
  }
  const runId = body.runId;
  const printer = new ProgressPrinter(runId, io.out);
  const offSignal = io.onSignal(() => {
    io.err('interrupted: cancelling the run on the server');
    offSignal();
    api(`/api/runs/${runId}/cancel`, { method: 'POST' }).catch(() => {});
  });
  const socket = connect(server, { transports: ['websocket'], reconnectionDelayMax: 5_000 });
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
      socket.on('connect_error', (error) =>
        io.err(`connection to ${server} failed (${error.message}); retrying`),
      );
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
