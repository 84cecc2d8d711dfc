/**
 * Issue 10, must-show: the credential-echo test. Every provider of the character-short
 * template points at its fake in echo mode (each answers 401 quoting the Authorization header
 * and the request URL, as real gateways and proxies do), with distinctive keys configured.
 * Each provider fails with its credentials echoed; then every log line (engine, workers and
 * Temporal's runtime logger), every API response, every socket event, the SQLite store files
 * (lab.db and its WAL) and the workflows' Temporal histories are searched for each secret, raw,
 * URL-encoded and base64: 0 hits. A restart on the same data dir with other keys must not
 * bring the old ones back either (redaction at response time only knows the current keys).
 */
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { GraphDocument } from '../graph/document';
import type { Engine } from '../engine-types';
import { createEngine } from '../engine';
import { createLogger, lineLogOf } from '../logging';
import { buildServer, type LabServer } from '../server/app';
import { temporalUnavailable, testEnv } from '../testing/engine-harness';
import { FAST_CHARACTER_SHORT, loadTemplate, RunWatcher } from '../testing/server-harness';
import { FakeOpenAI } from '../../nodes/gpt-storyboard/testing/fake-openai';
import { FakeA1111 } from '../../nodes/sd-lora-frame/testing/fake-a1111';
import { FakeRunway } from '../../nodes/runway-clip/testing/fake-runway';

// Distinctive values, so a hit can only be this test's key. The OpenAI and Runway keys have
// their real shapes (sk-proj-…, key_ + 128 hex) like a deployment's would.
const OPENAI_KEY = 'sk-proj-EchoTestOpenAIKey4kq9Zr7wXv2Lm5Tn8Pb3';
const RUNWAY_KEY = `key_${'5e'.repeat(32)}${'c7'.repeat(32)}`;
const SD_USER = 'labuser';
const SD_PASSWORD = 'Echo-SD-pa55word-Qx7';
const WORKER_TOKEN = 'echo-worker-token-Zt4Hw8Kc2Vn6';

const NEW_KEYS = {
  OPENAI_API_KEY: 'sk-proj-SecondKeyAfterRestart9Hs2Ua',
  RUNWAY_API_KEY: `key_${'a9'.repeat(64)}`,
  LAB_WORKER_TOKEN: 'second-worker-token-Pq3Ld7',
};

/** Each secret as it could appear: raw, URL-encoded, base64 (and Basic's user:pass form). */
function forms(secrets: readonly string[]): string[] {
  return [
    ...new Set(
      secrets.flatMap((secret) => [
        secret,
        encodeURIComponent(secret),
        Buffer.from(secret).toString('base64'),
        Buffer.from(secret).toString('base64url'),
      ]),
    ),
  ];
}

const OLD_SECRETS = forms([
  OPENAI_KEY,
  RUNWAY_KEY,
  SD_PASSWORD,
  `${SD_USER}:${SD_PASSWORD}`,
  WORKER_TOKEN,
]);

/** Which of `needles` occur in `text`, for a readable failure. */
function hits(where: string, text: string, needles: readonly string[]): string[] {
  return needles.filter((needle) => text.includes(needle)).map((needle) => `${where}: ${needle}`);
}

describe.skipIf(temporalUnavailable())('provider credentials echoed by upstreams', () => {
  let dataDir: string | undefined;
  let engine: Engine | undefined;
  let server: LabServer | undefined;
  const fakes: { close(): Promise<void> }[] = [];
  const watchers: RunWatcher[] = [];

  afterAll(async () => {
    vi.restoreAllMocks();
    watchers.forEach((watcher) => watcher.close());
    await server?.close();
    await engine?.close();
    await Promise.all(fakes.map((fake) => fake.close()));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it(
    'leave no key in logs, stores, responses, events or Temporal histories',
    { timeout: 420_000 },
    async () => {
      // Everything the process prints: Temporal's runtime logger writes with console.error.
      const printed: string[] = [];
      for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
        const original = console[method].bind(console);
        vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
          printed.push(args.map(String).join(' '));
          original(...args);
        });
      }
      const logLines: string[] = [];
      // The sink `charlab serve` uses (engine/cli/serve-command.ts), capturing instead of stderr.
      const log = lineLogOf(createLogger({ format: 'json', write: (line) => logLines.push(line) }));

      const openai = (await FakeOpenAI.start({ apiKey: OPENAI_KEY })).echoCredentialsInErrors();
      fakes.push(openai);
      const sd = (
        await FakeA1111.start({ png: Buffer.from('89504e470d0a1a0a', 'hex') })
      ).echoCredentialsInErrors();
      fakes.push(sd);
      const runway = (
        await FakeRunway.start({ mp4: Buffer.alloc(16), apiKey: RUNWAY_KEY })
      ).echoCredentialsInErrors();
      fakes.push(runway);

      dataDir = await mkdtemp(join(tmpdir(), 'charlab-secret-echo-'));
      const boot = async (keys: NodeJS.ProcessEnv) => {
        engine = await createEngine({
          dataDir: dataDir!,
          env: testEnv(dataDir!, {
            OPENAI_BASE_URL: openai.baseURL,
            SD_API_KIND: 'a1111',
            RUNWAY_BASE_URL: runway.url,
            RUNWAY_POLL_MS: '20',
            LAB_TEMPORAL_LOG_LEVEL: 'INFO',
            ...keys,
          }),
          startWorker: true,
          log,
        });
        server = buildServer(engine, { rateLimit: false });
        return (await server.listen('127.0.0.1', 0)).url;
      };
      const url = await boot({
        OPENAI_API_KEY: OPENAI_KEY,
        RUNWAY_API_KEY: RUNWAY_KEY,
        SD_API_URL: sd.url.replace('http://', `http://${SD_USER}:${SD_PASSWORD}@`),
        LAB_WORKER_TOKEN: WORKER_TOKEN,
      });

      const responses: string[] = [];
      const get = async (path: string): Promise<unknown> => {
        const response = await fetch(`${url}${path}`);
        const text = await response.text();
        responses.push(
          `${path} ${response.status} ${JSON.stringify([...response.headers])} ${text}`,
        );
        expect(response.status, `${path}: ${text}`).toBe(200);
        return JSON.parse(text) as unknown;
      };

      // One run per provider, each failing at the node that calls it (a failed node ends the
      // run, so two upstream nodes in one run could hide one another).
      const base = await loadTemplate('character-short', FAST_CHARACTER_SHORT);
      const withProviders = (providers: Record<string, string>): GraphDocument => {
        const graph = structuredClone(base);
        for (const node of graph.nodes) {
          if ('provider' in node.params) node.params.provider = providers[node.id] ?? 'local';
        }
        return graph;
      };
      const cases = [
        { failing: 'story', graph: withProviders({ story: 'openai' }) },
        { failing: 'voice', graph: withProviders({ voice: 'openai' }) },
        { failing: 'frames', graph: withProviders({ frames: 'a1111' }) },
        { failing: 'frames', graph: withProviders({ frames: 'runway' }) },
        { failing: 'clips', graph: withProviders({ clips: 'runway' }) },
      ];
      const runIds: string[] = [];
      const started = await Promise.all(
        cases.map(async ({ graph }) => {
          const response = await fetch(`${url}/api/runs`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ graph }),
          });
          const text = await response.text();
          responses.push(text);
          expect(response.status, text).toBe(202);
          return (JSON.parse(text) as { runId: string }).runId;
        }),
      );
      runIds.push(...started);
      const ends = await Promise.all(
        runIds.map(async (runId) => {
          const watcher = await RunWatcher.watch(url, runId, 0);
          watchers.push(watcher);
          responses.push(JSON.stringify(watcher.ack));
          return watcher.untilEnd(300_000);
        }),
      );

      // Each provider really was called and really failed on its echoed credentials.
      cases.forEach(({ failing }, i) => {
        expect(ends[i].type, `run ${i}`).toBe('run.failed');
        const failed = watchers[i].events.find(
          (e) => e.type === 'node.failed' && e.nodeId === failing,
        );
        expect(failed, `run ${i}: ${JSON.stringify(watchers[i].events)}`).toBeDefined();
      });
      const paths = (fake: { requests: { method: string; path: string }[] }) =>
        new Set(fake.requests.map((r) => `${r.method} ${r.path}`));
      expect(paths(openai)).toContain('POST /v1/chat/completions');
      expect(paths(openai)).toContain('POST /v1/audio/speech');
      expect(paths(runway)).toContain('POST /v1/text_to_image');
      expect(paths(runway)).toContain('POST /v1/image_to_video');
      expect(sd.requests.length).toBeGreaterThan(0);
      // The fakes did echo: the keys went out and came back in the 401 bodies.
      expect(openai.requests.some((r) => r.headers.authorization === `Bearer ${OPENAI_KEY}`)).toBe(
        true,
      );

      await get('/api/runs');
      for (const runId of runIds) {
        await get(`/api/runs/${runId}`);
        await get(`/api/runs/${runId}/graph`);
      }
      const events = watchers.map((watcher) => JSON.stringify(watcher.events)).join('\n');

      // Temporal histories: the shared test server keeps them outside the data dir.
      const histories: string[] = [];
      for (const runId of runIds) {
        const record = await engine!.runs.get(runId);
        const history = await engine!.temporal.client.workflow
          .getHandle(record!.temporalWorkflowId)
          .fetchHistory();
        histories.push(JSON.stringify(history));
      }
      // The provider errors did reach Temporal: a history that never saw them proves nothing.
      expect(histories.join('\n')).toMatch(/\[redacted\]|SD_API_URL|Incorrect|Invalid|401/);

      // Every file in the data dir: lab.db, lab.db-wal, blobs. Read while the engine is up (the
      // WAL still holds the latest pages) and again after it closed (checkpointed into lab.db).
      const readStores = async (when: string) => {
        const files = (await readdir(dataDir!, { recursive: true, withFileTypes: true }))
          .filter((entry) => entry.isFile())
          .map((entry) => join(entry.parentPath, entry.name));
        return Promise.all(
          files.map(async (file) => ({
            name: `${file.slice(dataDir!.length + 1)} (${when})`,
            text: (await readFile(file)).toString('latin1'),
          })),
        );
      };
      const storesWhileUp = await readStores('engine up');
      expect(storesWhileUp.map((store) => store.name)).toContain('lab.db-wal (engine up)');

      watchers.forEach((watcher) => watcher.close());
      watchers.length = 0;
      await server!.close();
      await engine!.close();
      server = undefined;
      engine = undefined;

      const stores = [...storesWhileUp, ...(await readStores('engine closed'))];
      expect(stores.map((store) => store.name)).toContain('lab.db (engine closed)');

      const found = [
        ...hits('log', logLines.join('\n'), OLD_SECRETS),
        ...hits('console', printed.join('\n'), OLD_SECRETS),
        // What users see names the diffusion server, never where it lives (its URL, even
        // without the password, says which private host serves it).
        ...hits('response', responses.join('\n'), [...OLD_SECRETS, new URL(sd.url).host]),
        ...hits('events', events, [...OLD_SECRETS, new URL(sd.url).host]),
        ...hits('temporal history', histories.join('\n'), OLD_SECRETS),
        ...stores.flatMap(({ name, text }) => hits(name, text, OLD_SECRETS)),
      ];
      expect(found).toEqual([]);

      // Restart on the same data dir with other keys: the server's response redactor now knows
      // only the new ones, so what keeps the old keys out is what was scrubbed at the source
      // (and the credential shapes). The stores were searched above; this is the user's view.
      const restarted = await boot({ ...NEW_KEYS, SD_API_URL: sd.url });
      const after: string[] = [];
      for (const path of ['/api/runs', ...runIds.map((runId) => `/api/runs/${runId}`)]) {
        const response = await fetch(`${restarted}${path}`);
        const text = await response.text();
        expect(response.status, text).toBe(200);
        after.push(text);
      }
      const replay = await RunWatcher.watch(restarted, runIds[0], 0);
      watchers.push(replay);
      await replay.untilEnd(60_000);
      after.push(JSON.stringify(replay.ack), JSON.stringify(replay.events));
      expect(hits('after restart', after.join('\n'), OLD_SECRETS)).toEqual([]);
      // The stored errors are still there to read, scrubbed.
      expect(after.join('\n')).toContain('node.failed');
    },
  );
});
