/**
 * Issue 11, item 2: `serve --no-worker` + `charlab worker`, then kill -9 of the server mid-run
 * (its Temporal dev server is orphaned, still holding the database and port) and a restart.
 * The new server stops the leftover dev server, starts its own on the port kept in the data
 * dir, and the worker (which polls that address) carries on: the run started before completes.
 * Before, the restarted dev server came up on a new port and the worker polled the old one
 * forever.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, devServerStatePath } from '../temporal/launcher';
import { temporalUnavailable, testEnv } from '../testing/engine-harness';
import { loadTemplate, RunWatcher } from '../testing/server-harness';
import { recordFault } from './fault-record';
import {
  duplicatedStarts,
  sequenceFaults,
  startLab,
  startServe,
  type LabProcess,
} from './serve-process';

describe.skipIf(temporalUnavailable())('fault: kill -9 of a server with a remote worker', () => {
  const processes: LabProcess[] = [];
  let dataDir: string | undefined;
  let orphanPid: number | undefined;

  afterAll(async () => {
    for (const lab of processes.reverse()) await lab.kill('SIGTERM');
    if (orphanPid) {
      try {
        process.kill(orphanPid, 'SIGKILL');
      } catch {
        // stopped by the restarted server, as it should be
      }
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'the worker follows the restarted server’s Temporal and the run completes',
    { timeout: 480_000 },
    async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'charlab-fault-follow-'));
      const env = testEnv(dataDir, { TEMPORAL_ADDRESS: '' });
      const port = await freePort();
      const first = await startServe(env, port, ['--no-worker']);
      processes.push(first);
      const worker = startLab(['worker', '--server', first.url], env);
      processes.push(worker);
      await worker.waitForLine(/worker polling/, 120_000);
      const statePath = devServerStatePath(join(dataDir, 'temporal.db'));
      const before = JSON.parse(readFileSync(statePath, 'utf8')) as { port: number; pid: number };
      orphanPid = before.pid;

      const graph = await loadTemplate('character-short', {
        'script.text': 'One. Two. Three. Four. Five. Six.',
        'story.shots': 6,
        'story.shotDurationSec': 1,
        'frames.width': 768,
        'frames.height': 432,
        'merge.width': 384,
        'merge.height': 216,
      });
      const response = await fetch(`${first.url}/api/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ graph }),
      });
      expect(response.status).toBe(202);
      const { runId } = (await response.json()) as { runId: string };
      const watcher = await RunWatcher.watch(first.url, runId, 0);
      await watcher.until(
        (e) => e.nodeId === 'frames' && e.type === 'node.completed' && e.index !== undefined,
        180_000,
      );
      const lastSeen = watcher.events.at(-1)!.seq;
      watcher.close();

      await first.kill('SIGKILL'); // a crash: no exit hook stops its dev server
      const second = await startServe(env, port, ['--no-worker']);
      processes.push(second);
      // Recovery counts from the new server answering: how long the run stands still after it.
      const restartedAt = Date.now();
      const after = JSON.parse(readFileSync(statePath, 'utf8')) as { port: number; pid: number };
      expect(after.port).toBe(before.port);
      expect(after.pid).not.toBe(before.pid);

      const resumed = await RunWatcher.watch(second.url, runId, lastSeen);
      const moved = await resumed.until((e) => e.seq > lastSeen, 240_000);
      const recoverMs = Date.now() - restartedAt;
      const end = await resumed.untilEnd(240_000);
      resumed.close();
      const all = await RunWatcher.watch(second.url, runId, 0);
      await all.untilEnd(10_000);
      all.close();
      const { duplicated, missing } = sequenceFaults(all.events);
      const redone = duplicatedStarts(all.events);
      recordFault({
        fault: 'kill -9 of the server (serve --no-worker) with a remote charlab worker, mid-frames',
        survived: end.type === 'run.completed' ? 1 : 0,
        total: 1,
        eventsLost: missing + duplicated,
        itemsRedone: redone,
        recoverMs,
        test: 'engine/faults/worker-follows-temporal.fault.test.ts',
      });
      expect(moved.seq).toBe(lastSeen + 1);
      expect(end.type, JSON.stringify(all.events.filter((e) => e.error))).toBe('run.completed');
      expect({ duplicated, missing }).toEqual({ duplicated: 0, missing: 0 });
      // The orphan was stopped on purpose, not left to fight over the database.
      expect(second.lines.some((l) => /left running by an earlier server/.test(l))).toBe(true);
    },
  );
});
