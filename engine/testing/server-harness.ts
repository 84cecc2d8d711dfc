/**
 * A real API server (HTTP + Socket.IO) on 127.0.0.1 over a test engine, plus helpers the
 * acceptance tests share: JSON requests, a run watcher over socket.io-client, ffprobe.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import type { GraphDocument } from '../graph/document';
import type { RunEvent, RunSnapshot } from '../runs/events';
import { graphSchema } from '../../nodes/definitions';
import { buildServer, type LabServer } from '../server/app';
import { startTestEngine, type StartTestEngineOptions, type TestEngine } from './engine-harness';

export interface TestServer extends TestEngine {
  server: LabServer;
  url: string;
  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export async function startTestServer(options: StartTestEngineOptions = {}): Promise<TestServer> {
  const lab = await startTestEngine(options);
  const server = buildServer(lab.engine, { rateLimit: false });
  const { url } = await server.listen('127.0.0.1', 0);
  return {
    ...lab,
    server,
    url,
    async request<T>(method: string, path: string, body?: unknown) {
      const response = await fetch(`${url}${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
    async close() {
      await server.close();
      await lab.close();
    },
  };
}

/** The run:watch ack: the snapshot itself, or an error. */
export type WatchAck = Partial<RunSnapshot> & { error?: { code: string; message: string } };

/** Watches one run over Socket.IO: the replayed backlog plus live events, in arrival order. */
export class RunWatcher {
  readonly events: RunEvent[] = [];
  ack?: WatchAck;
  private readonly socket: Socket;
  private waiters: (() => void)[] = [];

  private constructor(url: string) {
    this.socket = io(url, { transports: ['websocket'], reconnection: false });
    this.socket.on('run:event', (event: RunEvent) => {
      this.events.push(event);
      this.waiters.forEach((wake) => wake());
    });
  }

  static async watch(url: string, runId: string, sinceSeq?: number): Promise<RunWatcher> {
    const watcher = new RunWatcher(url);
    watcher.ack = (await watcher.socket
      .timeout(10_000)
      .emitWithAck('run:watch', { runId, sinceSeq })) as WatchAck;
    return watcher;
  }

  /** Resolves once an event matches (looking at what already arrived first). */
  async until(match: (event: RunEvent) => boolean, timeoutMs = 120_000): Promise<RunEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching run event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 500);
      });
      this.waiters = [];
    }
  }

  untilEnd(timeoutMs?: number): Promise<RunEvent> {
    return this.until(
      (e) => e.type === 'run.completed' || e.type === 'run.failed' || e.type === 'run.cancelled',
      timeoutMs,
    );
  }

  close(): void {
    this.socket.close();
  }
}

export interface ProbedVideo {
  codec: string;
  width: number;
  height: number;
  durationSec: number;
}

export async function ffprobeVideo(file: string): Promise<ProbedVideo> {
  const { stdout } = await promisify(execFile)('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_name,width,height:format=duration',
    '-of',
    'json',
    file,
  ]);
  const parsed = JSON.parse(stdout) as {
    streams: { codec_name: string; width: number; height: number }[];
    format: { duration: string };
  };
  const [stream] = parsed.streams;
  return {
    codec: stream.codec_name,
    width: stream.width,
    height: stream.height,
    durationSec: Number(parsed.format.duration),
  };
}

/** A shipped template, loaded, with param overrides (`{ 'frames.width': 384 }`) for fast tests. */
export async function loadTemplate(
  name: string,
  overrides: Record<string, unknown> = {},
): Promise<GraphDocument> {
  const text = await readFile(new URL(`../../workflows/${name}.json`, import.meta.url), 'utf8');
  const loaded = graphSchema.load(text);
  if (!loaded.ok)
    throw new Error(`template ${name} does not load: ${JSON.stringify(loaded.errors)}`);
  const graph = structuredClone(loaded.graph);
  for (const [key, value] of Object.entries(overrides)) {
    const [nodeId, param] = key.split('.');
    const node = graph.nodes.find((n) => n.id === nodeId);
    if (!node) throw new Error(`template ${name} has no node ${nodeId}`);
    node.params[param] = value;
  }
  return graph;
}

/** Small sizes so template runs take seconds on a 2-core machine. */
export const FAST_CHARACTER_SHORT = {
  'story.shots': 3,
  'story.shotDurationSec': 1,
  'frames.width': 384,
  'frames.height': 216,
  'merge.width': 384,
  'merge.height': 216,
};
