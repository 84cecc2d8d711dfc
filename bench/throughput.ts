/**
 * Throughput: `runs` fresh template runs at once against the real API server, with the worker
 * in a process of its own (`charlab worker`, reporting over /workers as a remote worker does),
 * so the two processes' peak memory can be read apart. Each run has its own script (nothing
 * comes from the cache) and its own Socket.IO watcher, which must see every event: seqs
 * 1..n, each once, n being the run's final seq.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { io as connect } from 'socket.io-client';
import { createEngine } from '../engine/engine';
import type { RunEvent, RunSnapshot } from '../engine/runs/events';
import { buildServer } from '../engine/server/app';
import { benchEnv } from './bench-engine';
import { timed } from './stats';

const BIN = fileURLToPath(new URL('../engine/cli/bin.mjs', import.meta.url));
const TEMPLATE = new URL('../workflows/character-short.json', import.meta.url);

export interface ThroughputFigures {
  runs: number;
  wallMs: number;
  runsPerMinute: number;
  /** Peak resident memory (VmHWM), MiB. */
  serverPeakRssMiB: number;
  workerPeakRssMiB: number;
  /** Runs that succeeded and whose watcher saw seqs 1..final exactly once each. */
  completeWithEveryEvent: number;
  events: number;
}

export interface ThroughputOptions {
  runs: number;
  /** Shots per run (the template's own is 4). */
  shots?: number;
  /** TEMPORAL_ADDRESS (e.g. the test suite's server); a dev server is launched when absent. */
  temporalAddress?: string;
}

export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputFigures> {
  const dataDir = await mkdtemp(join(tmpdir(), 'charlab-bench-throughput-'));
  const env = benchEnv(
    dataDir,
    options.temporalAddress ? { TEMPORAL_ADDRESS: options.temporalAddress } : {},
  );
  const engine = await createEngine({ dataDir, env, startWorker: false });
  const server = buildServer(engine, { rateLimit: false, maxActiveRunsPerUser: options.runs });
  let worker: ChildProcess | undefined;
  try {
    const { url } = await server.listen('127.0.0.1', 0);
    worker = await startWorkerProcess(url, { ...env, TEMPORAL_ADDRESS: engine.temporal.address });
    const template = JSON.parse(await readFile(TEMPLATE, 'utf8')) as {
      nodes: { id: string; params: Record<string, unknown> }[];
    };
    const graphFor = (i: number) => {
      const tag = `${randomBytes(3).toString('hex')}-${i}`;
      const graph = structuredClone(template);
      for (const node of graph.nodes) {
        if (node.id === 'script')
          node.params.text = `Mira climbs ridge ${tag}. She sees valley ${tag}. "Run ${tag}," she says. She walks to ${tag}.`;
        if (node.id === 'story' && options.shots) node.params.shots = options.shots;
      }
      return graph;
    };
    const { ms: wallMs, value: results } = await timed(() =>
      Promise.all(Array.from({ length: options.runs }, (_, i) => runAndWatch(url, graphFor(i)))),
    );
    const workerPeak = await peakRssMiB(worker.pid!);
    return {
      runs: options.runs,
      wallMs,
      runsPerMinute: (options.runs / wallMs) * 60_000,
      serverPeakRssMiB: process.resourceUsage().maxRSS / 1024,
      workerPeakRssMiB: workerPeak,
      completeWithEveryEvent: results.filter((r) => r.ok).length,
      events: results.reduce((sum, r) => sum + r.events, 0),
    };
  } finally {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker!.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    await server.close();
    await engine.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Starts one run over HTTP and watches it to its end over Socket.IO. */
async function runAndWatch(url: string, graph: unknown): Promise<{ ok: boolean; events: number }> {
  const response = await fetch(`${url}/api/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ graph }),
  });
  const body = (await response.json()) as { runId?: string; error?: { message: string } };
  if (response.status !== 202 || !body.runId)
    throw new Error(`POST /api/runs answered ${response.status}: ${body.error?.message}`);
  const runId = body.runId;
  const socket = connect(url, { transports: ['websocket'], reconnection: false });
  const seqs: number[] = [];
  try {
    const ended = new Promise<RunEvent>((resolve) => {
      socket.on('run:event', (event: RunEvent) => {
        seqs.push(event.seq);
        if (event.type.startsWith('run.') && event.type !== 'run.started') resolve(event);
      });
    });
    const ack = (await socket.timeout(30_000).emitWithAck('run:watch', { runId })) as {
      error?: { message: string };
    };
    if (ack.error) throw new Error(`run:watch: ${ack.error.message}`);
    const end = await ended;
    // The end event is the last one; the stored snapshot says how many there are.
    const final = (await (await fetch(`${url}/api/runs/${runId}`)).json()) as RunSnapshot;
    const sorted = [...seqs].sort((a, b) => a - b);
    const contiguous = sorted.length === final.seq && sorted.every((seq, i) => seq === i + 1);
    return { ok: end.type === 'run.completed' && contiguous, events: seqs.length };
  } finally {
    socket.close();
  }
}

async function startWorkerProcess(
  serverUrl: string,
  env: NodeJS.ProcessEnv,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--server', serverUrl], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker polling')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`charlab worker exited ${code}: ${output}`)));
  });
  return child;
}

/** A live process's peak resident set (VmHWM in /proc), MiB. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  if (!kb) throw new Error(`no VmHWM for process ${pid}`);
  return Number(kb) / 1024;
}
