/**
 * Worker → browser event latency. Ours: a `bench-ticker` node on the in-process worker reports
 * progress at a fixed rate, each report stamped with the worker's clock when it was sent; a
 * socket.io-client watching the run on the real API server stamps each on arrival. The floor:
 * a raw Socket.IO relay on this machine — a "worker" client emits stamped events to a server
 * that relays them to a "browser" client's room, nothing stored. Worker, server and client
 * share one process, so one clock stamps both ends.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import type { Engine } from '../engine/engine-types';
import type { RunEvent } from '../engine/runs/events';
import { parseTickStage, preciseNow, tickerGraph } from './bench-nodes';
import { percentile } from './stats';

export interface LatencyFigures {
  perSecond: number;
  sent: number;
  /** Distinct reports that reached the client. */
  received: number;
  /**
   * Reports that never arrived. For ours these are progress reports the worker's outbox
   * coalesced under a backlog (a newer report of the same node replaces an unsent one, by
   * design); lifecycle events are counted apart and must never be lost.
   */
  lost: number;
  /** The newest report arrived: coalescing may skip reports, never the latest. */
  lastDelivered: boolean;
  duplicated: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface EngineLatencyFigures extends LatencyFigures {
  /** Lifecycle events (run/node started, completed…) missing or seen twice, by key. */
  lifecycleLost: number;
  lifecycleDuplicated: number;
  /** Seqs received are exactly 1..last, each once. */
  seqContiguous: boolean;
}

const LIFECYCLE = ['run.started', 'node.started', 'node.completed', 'run.completed'] as const;

/** How long the ticker waits before its first report: long enough for the watch to join. */
const TICKER_DELAY_MS = 500;

/** Runs one ticker at `perSecond` for `count` reports and watches it from a Socket.IO client. */
export async function measureEngineLatency(
  engine: Engine,
  serverUrl: string,
  perSecond: number,
  count: number,
): Promise<EngineLatencyFigures> {
  const socket = await connected(
    connect(serverUrl, { transports: ['websocket'], reconnection: false }),
  );
  const arrivals: { event: RunEvent; at: number }[] = [];
  socket.on('run:event', (event: RunEvent) => arrivals.push({ event, at: preciseNow() }));
  try {
    const run = await engine.runs.start({
      graph: tickerGraph(count, perSecond, randomBytes(4).toString('hex'), TICKER_DELAY_MS),
    });
    const ack = (await socket.timeout(10_000).emitWithAck('run:watch', { runId: run.id })) as {
      error?: { message: string };
    };
    if (ack.error) throw new Error(`run:watch failed: ${ack.error.message}`);
    const end = await engine.runs.waitForEnd(run.id, 10 * 60_000);
    if (end.status !== 'succeeded') throw new Error(`ticker run ended ${end.status}: ${end.error}`);
    // The last events are stored before waitForEnd returns but may still be on the wire.
    await waitUntil(() => arrivals.some((a) => a.event.type === 'run.completed'), 10_000);
    const ticks = arrivals.flatMap(({ event, at }) => {
      const tick = event.type === 'node.progress' ? parseTickStage(event.stage) : undefined;
      return tick ? [{ ...tick, latency: at - tick.sentAtMs }] : [];
    });
    const lifecycle = new Map<string, number>();
    for (const { event } of arrivals) {
      if ((LIFECYCLE as readonly string[]).includes(event.type)) {
        const key = `${event.type}:${event.nodeId ?? ''}`;
        lifecycle.set(key, (lifecycle.get(key) ?? 0) + 1);
      }
    }
    const expectedLifecycle = [
      'run.started:',
      'node.started:ticker',
      'node.completed:ticker',
      'run.completed:',
    ];
    const seqs = arrivals.map((a) => a.event.seq).sort((a, b) => a - b);
    return {
      ...summarise(perSecond, count, ticks),
      lifecycleLost: expectedLifecycle.filter((key) => !lifecycle.has(key)).length,
      lifecycleDuplicated: [...lifecycle.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0),
      seqContiguous: seqs.every((seq, i) => seq === i + 1),
    };
  } finally {
    socket.close();
  }
}

/** The floor: worker client → Socket.IO server → browser client, at the same rate. */
export async function measureRawRelay(perSecond: number, count: number): Promise<LatencyFigures> {
  const http = createServer();
  const io = new Server(http);
  io.on('connection', (socket) => {
    socket.on('watch', async (runId: string, ack: () => void) => {
      await socket.join(runId);
      ack();
    });
  });
  io.of('/workers').on('connection', (socket) => {
    socket.on('event', (event: { runId: string }) => io.to(event.runId).emit('run:event', event));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const worker = await connected(connect(`${url}/workers`, { transports: ['websocket'] }));
  const browser = await connected(connect(url, { transports: ['websocket'] }));
  const ticks: { index: number; sentAtMs: number; latency: number }[] = [];
  browser.on('run:event', (event: { stage: string }) => {
    const at = preciseNow();
    const tick = parseTickStage(event.stage);
    if (tick) ticks.push({ ...tick, latency: at - tick.sentAtMs });
  });
  try {
    await browser.timeout(10_000).emitWithAck('watch', 'run');
    const intervalMs = 1000 / perSecond;
    const began = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = began + i * intervalMs - performance.now();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      const sentAt = preciseNow();
      worker.emit('event', {
        runId: 'run',
        type: 'node.progress',
        stage: `tick ${i} ${sentAt.toFixed(3)}`,
      });
    }
    await waitUntil(() => ticks.length >= count, 5_000).catch(() => {});
    return summarise(perSecond, count, ticks);
  } finally {
    worker.close();
    browser.close();
    await io.close();
  }
}

function summarise(
  perSecond: number,
  sent: number,
  ticks: readonly { index: number; latency: number }[],
): LatencyFigures {
  const distinct = new Set(ticks.map((t) => t.index));
  const latencies = ticks.map((t) => t.latency);
  const stat = (p: number) => (latencies.length ? percentile(latencies, p) : Number.NaN);
  return {
    perSecond,
    sent,
    received: distinct.size,
    lost: sent - distinct.size,
    lastDelivered: distinct.has(sent - 1),
    duplicated: ticks.length - distinct.size,
    p50: stat(50),
    p95: stat(95),
    p99: stat(99),
    max: latencies.length ? Math.max(...latencies) : Number.NaN,
  };
}

async function connected(socket: Socket): Promise<Socket> {
  if (socket.connected) return socket;
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return socket;
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
