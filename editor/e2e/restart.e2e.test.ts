/**
 * Issue 11, item 1 (the studio half): a browser watching a run survives the server being
 * restarted under it. The real studio in Chromium watches a character-short run; mid-run the
 * server (`charlab serve`, embedded Temporal dev server, in-process worker) is stopped and
 * started again on the same port and data dir — (a) gracefully with SIGTERM, (b) with SIGKILL
 * of the server and its Temporal dev server. The studio must end showing the run succeeded,
 * every node in its final state, and no "reconnecting…" left over.
 *
 * This file starts servers of its own (the global one is not restarted under other files);
 * the editor build of the global setup is what they serve. What was lost, duplicated or redone
 * is counted from the stored events; the time to recover is from the restart to the first
 * event stored after it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { io } from 'socket.io-client';
import type { GraphDocument } from '../../engine/graph/document';
import type { RunEvent, RunSnapshot } from '../../engine/runs/events';
import { recordFault } from '../../engine/faults/fault-record';
import { launchBrowser, nodeStatus, openPage, screenshot, unavailable } from './harness';
import { freePort, REPO_ROOT } from './server';

const skip = unavailable();

/** character-short with three small shots and a script of its own (nothing from a cache). */
function shortGraph(tag: string): GraphDocument {
  const path = join(REPO_ROOT, 'workflows/character-short.json');
  const graph = JSON.parse(readFileSync(path, 'utf8')) as GraphDocument;
  const params: Record<string, Record<string, unknown>> = {
    script: { text: `Mira climbs the ridge (${tag}). She looks back. The wind rises.` },
    story: { shots: 3, shotDurationSec: 1 },
    frames: { width: 384, height: 216 },
    merge: { width: 384, height: 216 },
  };
  return {
    ...graph,
    id: `wf_e2e_restart_${tag}`,
    name: `Restart ${tag}`,
    exposed: [],
    meta: {},
    nodes: graph.nodes.map((n) => ({ ...n, params: { ...n.params, ...(params[n.id] ?? {}) } })),
  };
}

/** One `charlab serve` process (in its own process group, with its Temporal dev server). */
class ServeProcess {
  private child?: ChildProcess;

  constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'engine/cli/bin.mjs'), 'serve'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: String(this.port),
        LAB_DATA_DIR: this.dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own group, so SIGKILL can take the Temporal dev server down with it.
      detached: true,
    });
    this.child = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`serve did not start in 180 s:\n${output.slice(-3_000)}`)),
        180_000,
      );
      const onOutput = (chunk: Buffer) => {
        output += chunk.toString();
        if (process.env.E2E_SERVER_LOG) process.stderr.write(chunk);
        if (/Character Lab is running at/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onOutput);
      child.stderr!.on('data', onOutput);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`serve exited (${code ?? signal}) before it was ready:\n${output}`));
      });
    });
  }

  /** SIGTERM to the server (it stops its own Temporal), or SIGKILL to its whole group. */
  async stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (signal === 'SIGKILL') process.kill(-child.pid!, 'SIGKILL');
    else child.kill('SIGTERM');
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
    if (signal === 'SIGTERM') {
      // Whatever the graceful stop left behind in the group (it should be nothing).
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    }
  }

  async json<T>(path: string, init?: RequestInit): Promise<T> {
    const response = await fetch(`${this.url}${path}`, init);
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }
}

/** Every stored event of a run, as a fresh watcher gets them (run:watch from seq 0). */
async function storedEvents(url: string, runId: string, lastSeq: number): Promise<RunEvent[]> {
  const socket = io(url, { transports: ['websocket'], reconnection: false });
  const events: RunEvent[] = [];
  socket.on('run:event', (event: RunEvent) => {
    if (event.runId === runId) events.push(event);
  });
  try {
    await socket.timeout(15_000).emitWithAck('run:watch', { runId, sinceSeq: 0 });
    await until(async () => (events.some((e) => e.seq >= lastSeq) ? true : undefined), 30_000);
    return events;
  } finally {
    socket.close();
  }
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe.skipIf(skip)('the studio across a server restart', () => {
  let browser: Browser;
  const errors: string[] = [];
  const servers: ServeProcess[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    for (const server of servers) {
      await server.stop('SIGKILL');
      await rm(server.dataDir, { recursive: true, force: true });
    }
  });

  it.each(['SIGTERM', 'SIGKILL'] as const)(
    '%s mid-run: the studio shows the run succeeded with every node final',
    { timeout: 900_000 },
    async (signal) => {
      const server = new ServeProcess(
        await freePort(),
        await mkdtemp(join(tmpdir(), 'charlab-restart-e2e-')),
      );
      servers.push(server);
      await server.start();
      const graph = shortGraph(signal.toLowerCase());
      const workflow = await server.json<{ id: string }>('/api/workflows', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ graph }),
      });
      const { runId } = await server.json<{ runId: string }>('/api/runs', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ workflowId: workflow.id }),
      });

      const page: Page = await openPage(browser, errors);
      await page.goto(`${server.url}/#/w/${workflow.id}/runs/${runId}`);
      await expect
        .poll(() => page.getByTestId('run-status').textContent(), { timeout: 120_000 })
        .toBe('running');
      // Mid-run: the frames are being drawn (the storyboard is done, the video is not).
      await until(async () => {
        const snapshot = await server.json<RunSnapshot>(`/api/runs/${runId}`);
        return snapshot.nodes.frames.status === 'running' ? true : undefined;
      }, 240_000);
      const seqAtFault = (await server.json<RunSnapshot>(`/api/runs/${runId}`)).seq;

      await server.stop(signal);
      await expect
        .poll(() => page.getByTestId('run-panel').textContent(), { timeout: 30_000 })
        .toContain('reconnecting');
      const restartedAt = Date.now();
      await server.start();
      const recoverMs = await until(async () => {
        const snapshot = await server.json<RunSnapshot>(`/api/runs/${runId}`);
        return snapshot.seq > seqAtFault ? Date.now() - restartedAt : undefined;
      }, 240_000);

      await expect
        .poll(() => page.getByTestId('run-status').textContent(), { timeout: 400_000 })
        .toBe('succeeded');
      const final = await server.json<RunSnapshot>(`/api/runs/${runId}`);
      expect(final.status).toBe('succeeded');
      for (const [id, node] of Object.entries(final.nodes)) {
        expect(await nodeStatus(page, id), id).toBe(node.status);
      }
      await expect
        .poll(() => page.getByTestId('run-panel').textContent(), { timeout: 30_000 })
        .not.toContain('reconnecting');
      await screenshot(page, `restart-${signal.toLowerCase()}`);
      await page.close();

      const stored = await storedEvents(server.url, runId, final.seq);
      const seqs = stored.map((e) => e.seq);
      const ends = new Map<string, number>();
      const starts = new Map<string, number>();
      for (const event of stored) {
        const id = `${event.nodeId ?? ''}[${event.index ?? ''}]`;
        if (event.type === 'node.completed' || event.type === 'node.cached')
          ends.set(id, (ends.get(id) ?? 0) + 1);
        if (event.type === 'node.started' && event.index !== undefined)
          starts.set(id, (starts.get(id) ?? 0) + 1);
      }
      const duplicated = [...ends.values()].reduce((sum, n) => sum + n - 1, 0);
      const gaps = seqs.length === 0 ? 0 : seqs.at(-1)! - seqs.length;
      recordFault({
        fault: `studio in Chromium watching a run; server ${signal === 'SIGTERM' ? 'SIGTERM' : 'kill -9 (with its Temporal)'} and restarted mid-frames`,
        survived: final.status === 'succeeded' ? 1 : 0,
        total: 1,
        eventsLost: gaps + duplicated,
        itemsRedone: [...starts.values()].reduce((sum, n) => sum + n - 1, 0),
        recoverMs,
        test: 'editor/e2e/restart.e2e.test.ts',
      });
      expect(gaps, 'seqs missing from the stored events').toBe(0);
      expect(duplicated, 'completions stored twice').toBe(0);
      expect(errors).toEqual([]);
    },
  );
});
