/**
 * Operations against a real server and worker on the test Temporal: /metrics scraped during
 * and after a run, cache hits after a rerun, watchers, the task queue backlog, the worker's
 * own Temporal metrics, JSON log lines about runs and nodes, and health latencies.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNodeActivities } from '../../nodes/activities';
import { graphSchema } from '../../nodes/definitions';
import { createLogger, formatLogLine, lineLogOf } from '../logging';
import { temporalUnavailable } from '../testing/engine-harness';
import { storyGraph } from '../testing/server-fixtures';
import { RunWatcher, startTestServer, type TestServer } from '../testing/server-harness';
import type { NodeActivity } from '../worker/node-api';

describe('log lines', () => {
  const at = new Date('2026-01-02T03:04:05.000Z');

  it('are the human line in text, one JSON object with the ids in json', () => {
    expect(formatLogLine('text', 'warn', 'slow disk', { runId: 'run_1' }, at)).toBe(
      'warn: slow disk',
    );
    expect(
      JSON.parse(
        formatLogLine(
          'json',
          'info',
          'drafting',
          { runId: 'run_1', nodeId: 'story', index: 2 },
          at,
        ),
      ),
    ).toEqual({
      time: '2026-01-02T03:04:05.000Z',
      level: 'info',
      msg: 'drafting',
      runId: 'run_1',
      nodeId: 'story',
      index: 2,
    });
  });

  it('keep engine lines plain in text and take a line level from the fields', () => {
    const lines: string[] = [];
    const text = lineLogOf(
      createLogger({ format: 'text', write: (line) => lines.push(line), plainText: true }),
    );
    text('worker polling lab-cpu', { level: 'warn' });
    const json = lineLogOf(
      createLogger({ format: 'json', write: (line) => lines.push(line), now: () => at }),
    );
    json('could not report', { level: 'warn', runId: 'run_1', big: 12n });
    expect(lines[0]).toBe('worker polling lab-cpu');
    expect(JSON.parse(lines[1])).toEqual({
      time: at.toISOString(),
      level: 'warn',
      msg: 'could not report',
      runId: 'run_1',
      big: '12',
    });
  });
});

const skip = temporalUnavailable();

describe.skipIf(skip)('operations on a running server', () => {
  let lab: TestServer;
  let workerMetricsPort: number;
  const logLines: string[] = [];
  let releaseStory: () => void = () => {};
  let storyStarted: () => void = () => {};
  const storyRunning = new Promise<void>((resolve) => (storyStarted = resolve));

  beforeAll(async () => {
    const real = await loadNodeActivities(graphSchema.definitions);
    const gate = new Promise<void>((resolve) => (releaseStory = resolve));
    // The storyboard logs and then waits, so the test can scrape while it runs.
    const story: NodeActivity = async (args) => {
      args.ctx.log('drafting the storyboard');
      storyStarted();
      await gate;
      return real['gpt-storyboard'](args);
    };
    workerMetricsPort = await freePort();
    lab = await startTestServer({
      implementations: { ...real, 'gpt-storyboard': story },
      env: { LAB_WORKER_METRICS_ADDRESS: `127.0.0.1:${workerMetricsPort}` },
      log: lineLogOf(createLogger({ format: 'json', write: (line) => logLines.push(line) })),
    });
  });

  afterAll(async () => {
    releaseStory();
    await lab?.close();
  });

  async function scrape(): Promise<string> {
    const response = await fetch(`${lab.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return response.text();
  }

  it('shows the run and node series during a run, durations after, cache hits on a rerun', async () => {
    const started = await lab.request<{ runId: string }>('POST', '/api/runs', {
      graph: storyGraph(),
    });
    expect(started.status).toBe(202);
    const { runId } = started.body;
    const watcher = await RunWatcher.watch(lab.url, runId);
    try {
      await storyRunning;
      const during = await eventually(scrape, (text) =>
        /charlab_nodes_running\{node_type="gpt-storyboard",provider="local"\} 1/.test(text),
      );
      expect(during).toMatch(/^charlab_runs\{status="running"\} 1$/m);
      expect(during).toMatch(/^charlab_run_watchers 1$/m);
      expect(during).toMatch(
        /^charlab_task_queue_backlog\{queue="lab-workflows",type="workflow"\} \d+$/m,
      );
      expect(during).toMatch(/^process_cpu_user_seconds_total /m);

      releaseStory();
      await watcher.untilEnd();
    } finally {
      watcher.close();
    }
    const after = await eventually(scrape, (text) =>
      /^charlab_runs\{status="succeeded"\} [1-9]/m.test(text),
    );
    expect(after).toMatch(
      /^charlab_node_duration_seconds_bucket\{le="\+Inf",node_type="gpt-storyboard",provider="local",status="succeeded"\} 1$/m,
    );
    expect(after).toMatch(
      /^charlab_node_duration_seconds_count\{node_type="gpt-storyboard",provider="local",status="succeeded"\} 1$/m,
    );
    expect(after).not.toMatch(/charlab_nodes_running\{node_type="gpt-storyboard"/);
    expect(await eventually(scrape, (text) => /^charlab_run_watchers 0$/m.test(text))).toBeTruthy();

    // The storyboard's log line is one JSON object naming the run and the node.
    const storyLine = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => String(entry.msg).includes('drafting the storyboard'));
    expect(storyLine).toMatchObject({ level: 'info', runId, nodeId: 'story' });
    expect(new Date(String(storyLine?.time)).toISOString()).toBe(storyLine?.time);

    const rerun = await lab.request<{ runId: string }>('POST', `/api/runs/${runId}/rerun`, {});
    expect(rerun.status).toBe(202);
    await lab.engine.runs.waitForEnd(rerun.body.runId, 60_000);
    const cached = await eventually(scrape, (text) =>
      /^charlab_node_cache_hits_total\{node_type="gpt-storyboard"\} 1$/m.test(text),
    );
    expect(cached).toMatch(/^charlab_runs\{status="succeeded"\} 2$/m);
  });

  it("exports the Temporal worker's own metrics on LAB_WORKER_METRICS_ADDRESS", async () => {
    const text = await eventually(
      async () => (await fetch(`http://127.0.0.1:${workerMetricsPort}/metrics`)).text(),
      (body) => /^temporal_\w+/m.test(body),
    );
    expect(text).toMatch(/^temporal_worker_task_slots_available/m);
  });

  it('reports each service with its kind and latency', async () => {
    const health = await lab.request<Record<string, Record<string, unknown>>>('GET', '/api/health');
    expect(health.status).toBe(200);
    for (const service of ['temporal', 'documents', 'blobs', 'vectors']) {
      expect(health.body[service]).toMatchObject({ ok: true, kind: expect.any(String) });
      expect(health.body[service].latencyMs).toBeGreaterThanOrEqual(0);
    }
    expect(health.body.temporal).toMatchObject({ kind: 'cluster', embedded: false });
  });
});

/** Calls `read` until `done` accepts what it returns (20 s at most), and returns that. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`not within 20 s; last: ${String(value).slice(0, 4_000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
