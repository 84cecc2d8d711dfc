/**
 * Issue 11, item 3: the Temporal dev server the server launched dies (kill -9 of `temporal
 * server start-dev` alone, by the pid the launcher keeps in <data>/temporal-dev.json) mid-frames.
 * The server must notice (one loud line with the signal), restart it on the same port and
 * database, and the run must finish with every event stored once and no frame rendered twice;
 * meanwhile POST /api/runs and cancel answer 503 temporal_unavailable with Retry-After, health
 * says since when, and the log does not fill with gRPC "connection refused" lines.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { temporalUnavailable, testEnv } from '../testing/engine-harness';
import { loadTemplate, RunWatcher } from '../testing/server-harness';
import { devServerStatePath } from '../temporal/launcher';
import { recordFault } from './fault-record';
import { duplicatedStarts, sequenceFaults, startServe, type LabProcess } from './serve-process';

describe.skipIf(temporalUnavailable())(
  'fault: the Temporal dev server dies under the server',
  () => {
    let serve: LabProcess | undefined;
    let dataDir: string | undefined;

    afterAll(async () => {
      await serve?.kill('SIGTERM');
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it(
      'restarts it on the same port and database; the run completes; requests meanwhile get a fast 503',
      { timeout: 420_000 },
      async () => {
        dataDir = await mkdtemp(join(tmpdir(), 'charlab-fault-temporal-'));
        // TEMPORAL_ADDRESS empty: the server launches (and must supervise) its own dev server.
        const env = testEnv(dataDir, { TEMPORAL_ADDRESS: '' });
        const server = await startServe(env, 0);
        serve = server;
        const { url } = server;
        const before = JSON.parse(
          readFileSync(devServerStatePath(join(dataDir, 'temporal.db')), 'utf8'),
        ) as { port: number; pid: number };

        const graph = await loadTemplate('character-short', {
          'script.text': 'One. Two. Three. Four.',
          'story.shots': 4,
          'story.shotDurationSec': 1,
          'frames.width': 384,
          'frames.height': 216,
          'merge.width': 384,
          'merge.height': 216,
        });
        const started = await post(url, '/api/runs', { graph });
        expect(started.status, JSON.stringify(started.body)).toBe(202);
        const { runId } = started.body as { runId: string };
        const watcher = await RunWatcher.watch(url, runId, 0);
        await watcher.until(
          (e) => e.nodeId === 'frames' && e.type === 'node.completed' && e.index !== undefined,
          180_000,
        );

        const killedAt = Date.now();
        process.kill(before.pid, 'SIGKILL');
        await server.waitForLine(/Temporal dev server .* died unexpectedly/, 10_000);

        // While it is down: a clear, prompt 503 with Retry-After; nothing half-stored.
        const refusedStart = await post(url, '/api/runs', { graph });
        const refusedCancel = await post(url, `/api/runs/${runId}/cancel`, {});
        const health = await fetch(`${url}/api/health`);
        const healthBody = (await health.json()) as { temporal: { ok: boolean; since?: string } };
        const downFor = Date.now() - killedAt;
        expect(refusedStart.status, JSON.stringify(refusedStart.body)).toBe(503);
        expect(refusedStart.body).toMatchObject({ error: { code: 'temporal_unavailable' } });
        expect(Number(refusedStart.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(refusedCancel.status, JSON.stringify(refusedCancel.body)).toBe(503);
        expect(refusedCancel.body).toMatchObject({ error: { code: 'temporal_unavailable' } });
        expect(health.status).toBe(503);
        expect(healthBody.temporal.ok).toBe(false);
        expect(Date.parse(healthBody.temporal.since ?? '')).toBeGreaterThanOrEqual(
          killedAt - 1_000,
        );

        await server.waitForLine(/Temporal dev server is back on/, 120_000);
        const recoverMs = Date.now() - killedAt;
        const after = JSON.parse(
          readFileSync(devServerStatePath(join(dataDir, 'temporal.db')), 'utf8'),
        ) as { port: number; pid: number };
        expect(after.port).toBe(before.port); // same address: workers and clients need not move
        expect(after.pid).not.toBe(before.pid);

        const end = await watcher.untilEnd(240_000);
        watcher.close();
        expect(end.type, JSON.stringify(watcher.events.filter((e) => e.error))).toBe(
          'run.completed',
        );
        const { duplicated, missing } = sequenceFaults(watcher.events);
        // An item redone shows as a second node.started of the same item in the stored events.
        const redone = duplicatedStarts(watcher.events);
        const deaths = server.lines.filter((l) => /died unexpectedly/.test(l));
        const refused = server.lines.filter((l) => /connection refused/i.test(l));
        recordFault({
          fault: 'kill -9 of the Temporal dev server alone, mid-frames',
          survived: end.type === 'run.completed' ? 1 : 0,
          total: 1,
          eventsLost: missing + duplicated,
          itemsRedone: redone,
          recoverMs,
          test: 'engine/faults/temporal-child-killed.fault.test.ts',
        });
        expect({ duplicated, missing, redone }).toEqual({ duplicated: 0, missing: 0, redone: 0 });
        expect(deaths).toHaveLength(1);
        expect(deaths[0]).toMatch(/SIGKILL/);
        // One line per outage at most, not one per gRPC retry (936 in 6 minutes before).
        expect(refused.length, refused.slice(0, 5).join('\n')).toBeLessThanOrEqual(2);
        expect(downFor).toBeGreaterThan(0);
      },
    );
  },
);

async function post(
  url: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? JSON.parse(text) : undefined,
    headers: response.headers,
  };
}
