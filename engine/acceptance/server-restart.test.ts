/**
 * Issue "engine backbone", must-show: a run started before a server restart keeps streaming
 * after it. The server (and its in-process workflow worker) stops mid-run while a separate
 * worker process keeps rendering; a new server on the same data dir and port picks the run
 * up, and a client resuming with sinceSeq sees every later event through run.completed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../engine-types';
import { createEngine } from '../engine';
import { buildServer, type LabServer } from '../server/app';
import { temporalUnavailable, testEnv } from '../testing/engine-harness';
import { loadTemplate, RunWatcher } from '../testing/server-harness';

const BIN = fileURLToPath(new URL('../cli/bin.mjs', import.meta.url));

describe.skipIf(temporalUnavailable())('server restart', () => {
  let worker: ChildProcess | undefined;
  let engine: Engine | undefined;
  let server: LabServer | undefined;
  let dataDir: string | undefined;

  afterAll(async () => {
    worker?.kill('SIGKILL');
    await server?.close();
    await engine?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'keeps streaming a run that was started before the restart',
    { timeout: 240_000 },
    async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'charlab-restart-'));
      const env = testEnv(dataDir);
      const boot = async (port: number) => {
        engine = await createEngine({
          dataDir,
          env,
          startWorker: true,
          workerQueues: ['workflows'],
        });
        server = buildServer(engine, { rateLimit: false });
        return server.listen('127.0.0.1', port);
      };
      const { url, port } = await boot(0);
      worker = spawn(
        process.execPath,
        [BIN, 'worker', '--queues', 'lab-cpu,lab-gpu,lab-io', '--server', url],
        {
          env,
          stdio: 'ignore',
        },
      );

      const graph = await loadTemplate('character-short', {
        'script.text': 'First. Second. Third. Fourth. Fifth. Sixth.',
        'story.shots': 6,
        'frames.width': 768,
        'frames.height': 432,
        'merge.width': 384,
        'merge.height': 216,
      });
      const response = await fetch(`${url}/api/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ graph }),
      });
      expect(response.status).toBe(202);
      const { runId } = (await response.json()) as { runId: string };
      const before = await RunWatcher.watch(url, runId, 0);
      await before.until(
        (e) => e.nodeId === 'frames' && e.type === 'node.completed' && e.index !== undefined,
        120_000,
      );
      const lastSeen = before.events.at(-1)!.seq;
      before.close();

      await server!.close();
      await engine!.close();
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // the worker renders on, unheard

      await boot(port);
      const after = await RunWatcher.watch(url, runId, lastSeen);
      const end = await after.untilEnd(180_000);
      after.close();
      expect(end.type, JSON.stringify(after.events.filter((e) => e.error))).toBe('run.completed');
      const seqs = after.events.map((e) => e.seq);
      expect(seqs[0]).toBe(lastSeen + 1);
      expect(seqs).toEqual(seqs.map((_, i) => lastSeen + 1 + i)); // nothing missed, nothing twice
      expect(after.events.some((e) => e.nodeId === 'merge' && e.type === 'node.completed')).toBe(
        true,
      );
    },
  );
});
