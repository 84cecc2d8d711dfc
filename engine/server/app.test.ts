import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEngine, temporalUnavailable, type TestEngine } from '../testing/engine-harness';
import type { ArtifactRef } from '../graph/values';
import { buildServer, type LabServer, type ServerOptions } from './app';
import {
  brokenGraph,
  graphDoc,
  jpegHeader,
  pngBytes,
  pngHeaderClaiming,
  storyGraph,
} from '../testing/server-fixtures';
import { graphSchema } from '../../nodes/definitions';

const skip = temporalUnavailable();

/** Multipart bodies the way a browser sends them. */
function form(
  fields: Record<string, string>,
  files: { field: string; name: string; bytes: Buffer; type?: string }[] = [],
) {
  const data = new FormData();
  for (const [key, value] of Object.entries(fields)) data.append(key, value);
  for (const file of files) {
    data.append(
      file.field,
      new Blob([new Uint8Array(file.bytes)], { type: file.type ?? 'application/octet-stream' }),
      file.name,
    );
  }
  return data;
}

describe.skipIf(skip)('HTTP API', () => {
  let lab: TestEngine;
  let server: LabServer;
  let scratch: string;
  const extraServers: LabServer[] = [];

  /** Another server on the same engine, with different limits. */
  const serverWith = (options: ServerOptions) => {
    const extra = buildServer(lab.engine, options);
    extraServers.push(extra);
    return extra;
  };
  const inject = (options: InjectOptions) => server.app.inject(options);
  const workflowCount = async () =>
    (await inject({ method: 'GET', url: '/api/workflows' })).json<unknown[]>().length;

  beforeAll(async () => {
    lab = await startTestEngine({ startWorker: false });
    scratch = await mkdtemp(join(tmpdir(), 'charlab-server-test-'));
    server = buildServer(lab.engine, { editorDir: join(scratch, 'no-editor') });
  });

  afterAll(async () => {
    for (const extra of extraServers) await extra.close();
    await server?.close();
    // Runs started here have no worker: stop their workflows so nothing lingers on Temporal.
    if (lab) {
      for (const run of await lab.engine.runs.list({ limit: 500 })) {
        await lab.engine.temporal.client.workflow
          .getHandle(run.temporalWorkflowId)
          .terminate('test over')
          .catch(() => {});
      }
      await lab.close();
    }
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  describe('system', () => {
    it('reports health of every dependency and only provider names', async () => {
      const response = await inject({ method: 'GET', url: '/api/health' });
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body).toMatchObject({
        ok: true,
        temporal: { ok: true },
        documents: { ok: true, kind: 'sqlite' },
        blobs: { ok: true },
        vectors: { ok: true },
      });
      expect(body.providers).toMatchObject({ openai: 'not configured', runway: 'not configured' });
    });

    it('lists every node type with ports and JSON-schema params', async () => {
      const types = (await inject({ method: 'GET', url: '/api/node-types' })).json<
        { type: string; params: { type: string; properties: object } }[]
      >();
      // Every registered type, in palette order: the count comes from the registry.
      expect(types.map((t) => t.type)).toEqual(graphSchema.definitions.map((d) => d.type));
      const script = types.find((t) => t.type === 'script-input')!;
      expect(script).toMatchObject({
        typeVersion: 1,
        title: 'Script',
        outputs: { text: { type: 'text' } },
      });
      expect(script.params.properties).toHaveProperty('text');
    });

    it('answers unknown API routes with a JSON 404', async () => {
      const response = await inject({ method: 'GET', url: '/api/nope' });
      expect(response.statusCode).toBe(404);
      expect(response.json().error.code).toBe('not_found');
      expect((await inject({ method: 'DELETE', url: '/api/health' })).statusCode).toBe(404);
    });

    it('serves a "not built yet" page listing the API when the studio is not built', async () => {
      const response = await inject({ method: 'GET', url: '/' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('text/html');
      expect(response.body).toContain('not built yet');
      expect(response.body).toContain('/api/runs');
    });

    it('serves the built studio with a fallback to index.html for client-side routes', async () => {
      const editorDir = join(scratch, 'editor');
      await rm(editorDir, { recursive: true, force: true });
      await import('node:fs/promises').then((fs) =>
        fs.mkdir(join(editorDir, 'assets'), { recursive: true }),
      );
      await writeFile(join(editorDir, 'index.html'), '<!doctype html><div id="root"></div>');
      await writeFile(join(editorDir, 'assets', 'app.js'), 'console.log(1)');
      const studio = serverWith({ editorDir });
      const page = await studio.app.inject({ method: 'GET', url: '/workflows/wf_1' });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('id="root"');
      expect((await studio.app.inject({ method: 'GET', url: '/assets/app.js' })).body).toBe(
        'console.log(1)',
      );
      expect(
        (await studio.app.inject({ method: 'GET', url: '/assets/missing.js' })).statusCode,
      ).toBe(404);
      const api = await studio.app.inject({ method: 'GET', url: '/api/nope' });
      expect(api.statusCode).toBe(404);
      expect(api.json().error.code).toBe('not_found');
    });

    it('limits requests per client with 429 rate_limited', async () => {
      const limited = serverWith({ rateLimit: { max: 3, windowMs: 60_000 } });
      const statuses = [];
      for (let i = 0; i < 4; i++)
        statuses.push(
          (await limited.app.inject({ method: 'GET', url: '/api/node-types' })).statusCode,
        );
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = await limited.app.inject({ method: 'GET', url: '/api/node-types' });
      expect(refused.json().error.code).toBe('rate_limited');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    });

    it('never sends a provider key, even when a message would quote one', async () => {
      // A configured key is hidden whatever it looks like; a key-shaped string (sk-…) is hidden
      // even when no longer configured (an old key after a restart with new ones).
      const key = 'lab-provider-secret-0123456789';
      const oldKey = 'sk-test-0123456789abcdef';
      const keyed = serverWith({});
      // A second server whose engine holds a key: same stores, different provider config.
      const withKey = buildServer({
        ...lab.engine,
        providers: { ...lab.engine.providers, services: { openai: { apiKey: key } } },
      });
      extraServers.push(withKey);
      const validate = (server: LabServer, type: string) =>
        server.app.inject({
          method: 'POST',
          url: '/api/graphs/validate',
          payload: { graph: graphDoc('Leaky', [{ id: 'n', type }], []) },
        });
      // The message quotes the type, so a key given as a type would be sent if not hidden.
      const plain = await validate(keyed, 'lab-ordinary-type-name');
      expect(plain.body).toContain('lab-ordinary-type-name');
      const response = await validate(withKey, key);
      expect(response.json().errors[0].code).toBe('unknown_node_type');
      expect(response.body).not.toContain(key);
      expect(response.body).toContain('[redacted]');
      const shaped = await validate(keyed, oldKey);
      expect(shaped.json().errors[0].code).toBe('unknown_node_type');
      expect(shaped.body).not.toContain(oldKey);
    });
  });

  describe('graph payloads', () => {
    it('validates: ok for a good graph, every problem for a bad one, 200 both times', async () => {
      const good = await inject({
        method: 'POST',
        url: '/api/graphs/validate',
        payload: { graph: storyGraph() },
      });
      expect(good.statusCode).toBe(200);
      expect(good.json()).toEqual({ ok: true, errors: [] });
      const bad = await inject({
        method: 'POST',
        url: '/api/graphs/validate',
        payload: { graph: brokenGraph() },
      });
      expect(bad.statusCode).toBe(200);
      const codes = bad.json<{ errors: { code: string }[] }>().errors.map((e) => e.code);
      expect(codes).toEqual(
        expect.arrayContaining([
          'unknown_node_type',
          'cycle',
          'port_type_mismatch',
          'missing_required_input',
        ]),
      );
    });

    it('saves a draft with every problem listed, but imports and runs only valid graphs', async () => {
      const codesOf = (errors: { code: string }[]) => errors.map((e) => e.code);
      const expected = [
        'unknown_node_type',
        'cycle',
        'port_type_mismatch',
        'missing_required_input',
      ];

      const saved = await inject({
        method: 'POST',
        url: '/api/workflows',
        payload: { graph: brokenGraph() },
      });
      expect(saved.statusCode).toBe(201);
      const draft = saved.json<{ id: string; problems: { code: string }[] }>();
      expect(codesOf(draft.problems)).toEqual(expect.arrayContaining(expected));
      expect((await inject({ method: 'GET', url: `/api/workflows/${draft.id}` })).statusCode).toBe(
        200,
      );

      const before = await workflowCount();
      const imported = await inject({
        method: 'POST',
        url: '/api/workflows/import',
        payload: { graph: brokenGraph() },
      });
      expect(imported.statusCode).toBe(400);
      const { error } = imported.json();
      expect(error.code).toBe('invalid_graph');
      expect(codesOf(error.details.errors)).toEqual(expect.arrayContaining(expected));
      expect(error.message).toMatch(/^the graph has \d+ problems/);
      expect(await workflowCount()).toBe(before);

      const run = await inject({
        method: 'POST',
        url: '/api/runs',
        payload: { workflowId: draft.id },
      });
      expect(run.statusCode).toBe(400);
      expect(codesOf(run.json().error.details.errors)).toEqual(expect.arrayContaining(expected));
    });

    it('answers malformed JSON with 400 invalid_json', async () => {
      const before = await workflowCount();
      const response = await inject({
        method: 'POST',
        url: '/api/workflows',
        headers: { 'content-type': 'application/json' },
        payload: '{"graph": {"nodes": [',
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.code).toBe('invalid_json');
      expect(await workflowCount()).toBe(before);
    });

    it('refuses oversized bodies (413) and documents over the limits (400), storing nothing', async () => {
      const before = await workflowCount();
      const huge = storyGraph('x'.repeat(2_000_000));
      const body = await inject({
        method: 'POST',
        url: '/api/workflows',
        payload: { graph: huge },
      });
      expect(body.statusCode).toBe(413);
      expect(body.json().error).toMatchObject({
        code: 'payload_too_large',
        message: expect.stringContaining('MB'),
      });

      const large = graphDoc(
        'Large',
        [{ id: 'script', type: 'script-input', params: { text: 'y'.repeat(1_100_000) } }],
        [],
      );
      const document = await inject({
        method: 'POST',
        url: '/api/workflows',
        payload: { graph: large },
      });
      expect(document.statusCode).toBe(400);
      expect(document.json().error.details.errors.map((e: { code: string }) => e.code)).toEqual([
        'document_too_large',
      ]);

      const many = graphDoc(
        'Many',
        Array.from({ length: 1_001 }, (_, i) => ({ id: `s${i}`, type: 'script-input' })),
        [],
      );
      const nodes = await inject({
        method: 'POST',
        url: '/api/workflows',
        payload: { graph: many },
      });
      expect(nodes.statusCode).toBe(400);
      expect(nodes.json().error.details.errors.map((e: { code: string }) => e.code)).toEqual([
        'too_many_nodes',
      ]);
      expect(await workflowCount()).toBe(before);
    });

    it('checks request shapes with zod: 400 invalid_request naming the field', async () => {
      const response = await inject({
        method: 'POST',
        url: '/api/runs',
        payload: { workflowId: 5 },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.code).toBe('invalid_request');
      const id = await inject({ method: 'GET', url: '/api/workflows/..%2F..%2Fetc%2Fpasswd' });
      expect(id.statusCode).toBe(400);
      expect(id.json().error.code).toBe('invalid_id');
    });
  });

  describe('workflows', () => {
    it('creates, reads, replaces, exports and deletes a workflow', async () => {
      const created = await inject({
        method: 'POST',
        url: '/api/workflows',
        payload: { graph: storyGraph() },
      });
      expect(created.statusCode).toBe(201);
      const workflow = created.json();
      expect(workflow).toMatchObject({
        id: expect.stringMatching(/^wf_[0-9a-f]{16}$/),
        name: 'Story only',
        ownerId: 'local',
      });
      expect(workflow.graph.id).toBe(workflow.id);
      // Loading fills every param with its default, so the stored document states what it runs with.
      expect(workflow.graph.nodes[1].params).toMatchObject({
        provider: 'local',
        shots: 2,
        shotDurationSec: 2,
      });

      const list = (await inject({ method: 'GET', url: '/api/workflows' })).json();
      expect(list).toContainEqual(
        expect.objectContaining({ id: workflow.id, name: 'Story only', nodeCount: 2 }),
      );

      const renamed = { ...storyGraph(), name: 'Story, renamed' };
      const replaced = await inject({
        method: 'PUT',
        url: `/api/workflows/${workflow.id}`,
        payload: { graph: renamed },
      });
      expect(replaced.statusCode).toBe(200);
      expect(replaced.json()).toMatchObject({
        id: workflow.id,
        name: 'Story, renamed',
        createdAt: workflow.createdAt,
      });
      expect(replaced.json().graph.id).toBe(workflow.id);

      // A document that does not even load is refused and changes nothing.
      const badPut = await inject({
        method: 'PUT',
        url: `/api/workflows/${workflow.id}`,
        payload: { graph: { ...storyGraph(), nodes: 'not a list' } },
      });
      expect(badPut.statusCode).toBe(400);
      const unchanged = (
        await inject({ method: 'GET', url: `/api/workflows/${workflow.id}` })
      ).json();
      expect(unchanged.name).toBe('Story, renamed');

      const exported = await inject({ method: 'GET', url: `/api/workflows/${workflow.id}/export` });
      expect(exported.statusCode).toBe(200);
      expect(exported.headers['content-disposition']).toContain(
        'attachment; filename="Story, renamed.json"',
      );
      expect(
        exported.body.startsWith('{\n  "schema": "character-lab/graph",\n  "version": 1,'),
      ).toBe(true);
      expect(JSON.parse(exported.body).id).toBe(workflow.id);

      expect(
        (await inject({ method: 'DELETE', url: `/api/workflows/${workflow.id}` })).statusCode,
      ).toBe(204);
      const gone = await inject({ method: 'GET', url: `/api/workflows/${workflow.id}` });
      expect(gone.statusCode).toBe(404);
      expect(gone.json().error.code).toBe('workflow_not_found');
    });

    it('refuses a stale save with 409 and keeps the last write wins without a revision', async () => {
      const created = await inject({
        method: 'POST',
        url: '/api/workflows',
        payload: { graph: storyGraph() },
      });
      const workflow = created.json();
      expect(workflow.revision).toBe(1);
      expect(created.headers.etag).toBe('"1"');
      const url = `/api/workflows/${workflow.id}`;
      const got = await inject({ method: 'GET', url });
      expect(got.json().revision).toBe(1);
      expect(got.headers.etag).toBe('"1"');

      // From the revision in the body, then from If-Match: each save bumps the revision.
      const first = await inject({
        method: 'PUT',
        url,
        payload: { graph: { ...storyGraph(), name: 'First' }, revision: 1 },
      });
      expect(first.statusCode).toBe(200);
      expect(first.json()).toMatchObject({ name: 'First', revision: 2 });
      expect(first.headers.etag).toBe('"2"');
      const second = await inject({
        method: 'PUT',
        url,
        headers: { 'if-match': '"2"' },
        payload: { graph: { ...storyGraph(), name: 'Second' } },
      });
      expect(second.statusCode).toBe(200);
      expect(second.json().revision).toBe(3);

      // Another tab still at revision 2 (header or body) is refused and overwrites nothing.
      for (const stale of [
        { headers: { 'if-match': '"2"' }, payload: { graph: { ...storyGraph(), name: 'Stale' } } },
        { payload: { graph: { ...storyGraph(), name: 'Stale' }, revision: 2 } },
      ]) {
        const refused = await inject({ method: 'PUT', url, ...stale });
        expect(refused.statusCode).toBe(409);
        expect(refused.json().error).toMatchObject({
          code: 'workflow_conflict',
          details: { revision: 3, yourRevision: 2 },
          message: expect.stringContaining('Reload it'),
        });
        expect(refused.json().error.message).toContain('save your version as a copy');
      }
      expect((await inject({ method: 'GET', url })).json()).toMatchObject({
        name: 'Second',
        revision: 3,
      });

      // No revision (a curl script, a bare exported document): saved over whatever is there.
      const blind = await inject({
        method: 'PUT',
        url,
        payload: { ...storyGraph(), name: 'Blind' },
      });
      expect(blind.statusCode).toBe(200);
      expect(blind.json()).toMatchObject({ name: 'Blind', revision: 4 });

      for (const bad of [
        { headers: { 'if-match': 'yesterday' }, payload: { graph: storyGraph() } },
        { payload: { graph: storyGraph(), revision: 'three' } },
        { headers: { 'if-match': '"4"' }, payload: { graph: storyGraph(), revision: 3 } },
      ]) {
        const refused = await inject({ method: 'PUT', url, ...bad });
        expect(refused.statusCode).toBe(400);
        expect(refused.json().error.code).toBe('invalid_revision');
      }
      expect((await inject({ method: 'GET', url })).json().revision).toBe(4);
    });

    it('imports an old document: migrated, validated, saved as a new workflow', async () => {
      const v0 = {
        version: 0,
        id: 'wf_old',
        name: 'From version 0',
        nodes: [
          {
            id: 'script',
            type: 'script-input',
            position: { x: 0, y: 0 },
            data: { text: 'Hi. Bye.' },
          },
          {
            id: 'story',
            type: 'gpt-storyboard',
            position: { x: 300, y: 0 },
            data: { provider: 'local' },
          },
        ],
        links: [{ from: { node: 'script', port: 'text' }, to: { node: 'story', port: 'script' } }],
      };
      const response = await inject({ method: 'POST', url: '/api/workflows/import', payload: v0 });
      expect(response.statusCode).toBe(201);
      const body = response.json();
      expect(body).toMatchObject({
        migratedFrom: 0,
        migrations: [{ name: '0001-edges-and-params' }],
        name: 'From version 0',
        graph: { version: 1, schema: 'character-lab/graph' },
      });
      expect(body.graph.edges).toEqual([
        { id: 'e1', source: 'script', sourcePort: 'text', target: 'story', targetPort: 'script' },
      ]);
      const stored = (await inject({ method: 'GET', url: `/api/workflows/${body.id}` })).json();
      expect(stored.graph.version).toBe(1);
      expect(stored).not.toHaveProperty('migratedFrom');
    });

    it('refuses to import a document from a newer version', async () => {
      const response = await inject({
        method: 'POST',
        url: '/api/workflows/import',
        payload: { ...storyGraph(), version: 99 },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().error.details.errors[0].code).toBe('unsupported_version');
    });
  });

  describe('templates', () => {
    it('lists the shipped templates with their exposed params', async () => {
      const templates = (await inject({ method: 'GET', url: '/api/templates' })).json<
        { id: string; exposed: { key: string }[] }[]
      >();
      const short = templates.find((t) => t.id === 'character-short');
      const shipped = JSON.parse(
        await readFile(new URL('../../workflows/character-short.json', import.meta.url), 'utf8'),
      ) as { nodes: unknown[] };
      expect(short).toMatchObject({ name: 'Character short', nodeCount: shipped.nodes.length });
      expect(short!.exposed.map((e) => e.key)).toContain('script.text');
      expect(short).not.toHaveProperty('graph');
    });

    it('instantiates a template with values for its exposed params', async () => {
      const response = await inject({
        method: 'POST',
        url: '/api/templates/character-short/instantiate',
        payload: { values: { 'script.text': 'A new story. It ends well.', 'story.shots': 2 } },
      });
      expect(response.statusCode).toBe(201);
      const workflow = response.json();
      expect(workflow.id).toMatch(/^wf_/);
      const byId = Object.fromEntries(
        workflow.graph.nodes.map((n: { id: string; params: object }) => [n.id, n.params]),
      );
      expect(byId.script.text).toBe('A new story. It ends well.');
      expect(byId.story.shots).toBe(2);
      expect(
        (await inject({ method: 'GET', url: `/api/workflows/${workflow.id}` })).statusCode,
      ).toBe(200);
    });

    it('refuses values for params the template does not expose, and unknown templates', async () => {
      const before = await workflowCount();
      const response = await inject({
        method: 'POST',
        url: '/api/templates/character-short/instantiate',
        payload: { values: { 'merge.crf': 10 } },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().error).toMatchObject({
        code: 'param_not_exposed',
        details: { notExposed: ['merge.crf'] },
      });
      const invalid = await inject({
        method: 'POST',
        url: '/api/templates/character-short/instantiate',
        payload: { values: { 'story.shots': 500 } },
      });
      expect(invalid.statusCode).toBe(400);
      expect(invalid.json().error.details.errors[0]).toMatchObject({
        code: 'invalid_param',
        nodeId: 'story',
        param: 'shots',
      });
      expect(await workflowCount()).toBe(before);
      const missing = await inject({
        method: 'POST',
        url: '/api/templates/nope/instantiate',
        payload: {},
      });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe('template_not_found');
    });
  });

  describe('runs', () => {
    it('starts a run from a graph (202) and serves its snapshot; invalid graphs start nothing', async () => {
      const before = (await inject({ method: 'GET', url: '/api/runs' })).json<unknown[]>().length;
      const bad = await inject({
        method: 'POST',
        url: '/api/runs',
        payload: { graph: brokenGraph() },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.code).toBe('invalid_graph');
      expect((await inject({ method: 'GET', url: '/api/runs' })).json<unknown[]>().length).toBe(
        before,
      );

      const started = await inject({
        method: 'POST',
        url: '/api/runs',
        payload: { graph: storyGraph(), values: { 'script.text': 'One. Two.' } },
      });
      expect(started.statusCode).toBe(202);
      const { runId } = started.json();
      const snapshot = (await inject({ method: 'GET', url: `/api/runs/${runId}` })).json();
      expect(snapshot).toMatchObject({
        runId,
        status: 'queued',
        seq: 0,
        nodes: { script: { status: 'pending' }, story: { status: 'pending' } },
      });
      const run = await lab.engine.runs.get(runId);
      expect(run!.graph.nodes[0].params.text).toBe('One. Two.');
      // The graph it started from, values applied, for "Re-run with changes" anywhere.
      const ranGraph = await inject({ method: 'GET', url: `/api/runs/${runId}/graph` });
      expect(ranGraph.statusCode).toBe(200);
      expect(ranGraph.json()).toEqual(run!.graph);

      const missing = await inject({ method: 'GET', url: '/api/runs/run_nope' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe('run_not_found');
    });

    it('runs a saved workflow and lists runs by workflow', async () => {
      const workflow = (
        await inject({ method: 'POST', url: '/api/workflows', payload: { graph: storyGraph() } })
      ).json();
      const badValue = await inject({
        method: 'POST',
        url: '/api/runs',
        payload: { workflowId: workflow.id, values: { 'story.nope': 1 } },
      });
      expect(badValue.statusCode).toBe(400);
      expect(badValue.json().error.details.errors[0].code).toBe('unknown_value_target');
      const started = await inject({
        method: 'POST',
        url: '/api/runs',
        payload: { workflowId: workflow.id },
      });
      expect(started.statusCode).toBe(202);
      const runs = (
        await inject({ method: 'GET', url: `/api/runs?workflowId=${workflow.id}` })
      ).json();
      expect(runs).toEqual([
        expect.objectContaining({
          id: started.json().runId,
          workflowId: workflow.id,
          name: 'Story only',
          status: 'queued',
        }),
      ]);
      const missing = await inject({
        method: 'POST',
        url: '/api/runs',
        payload: { workflowId: 'wf_missing' },
      });
      expect(missing.statusCode).toBe(404);
    });

    it('caps runs in flight per user with 429 too_many_runs, even for simultaneous requests', async () => {
      const active = (await lab.engine.runs.list({ limit: 500 })).filter(
        (r) => r.snapshot.status === 'queued',
      ).length;
      const capped = serverWith({ maxActiveRunsPerUser: active + 1 });
      const start = () =>
        capped.app.inject({ method: 'POST', url: '/api/runs', payload: { graph: storyGraph() } });
      const responses = await Promise.all([start(), start()]);
      expect(responses.map((r) => r.statusCode).sort()).toEqual([202, 429]);
      const refused = responses.find((r) => r.statusCode === 429)!;
      expect(refused.json().error).toMatchObject({
        code: 'too_many_runs',
        details: { limit: active + 1 },
      });
      expect(refused.headers['retry-after']).toBe(
        String(refused.json().error.details.retryAfterSec),
      );
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    });

    it('checks rerun and cancel requests', async () => {
      const runId = (
        await inject({ method: 'POST', url: '/api/runs', payload: { graph: storyGraph() } })
      ).json().runId;
      const unknownNode = await inject({
        method: 'POST',
        url: `/api/runs/${runId}/rerun`,
        payload: { fromNodeId: 'nope' },
      });
      expect(unknownNode.statusCode).toBe(404);
      expect(unknownNode.json().error.code).toBe('node_not_found');
      const rerun = await inject({
        method: 'POST',
        url: `/api/runs/${runId}/rerun`,
        payload: { fromNodeId: 'story', params: { story: { shots: 1 } } },
      });
      expect(rerun.statusCode).toBe(202);
      const child = await lab.engine.runs.get(rerun.json().runId);
      expect(child).toMatchObject({ parentRunId: runId, plan: { forceRun: ['story'] } });
      expect(child!.graph.nodes[1].params.shots).toBe(1);

      const cancelled = await inject({
        method: 'POST',
        url: `/api/runs/${runId}/cancel`,
        headers: { 'content-type': 'application/json' },
      });
      expect(cancelled.statusCode).toBe(202);
      const nodeCancel = await inject({
        method: 'POST',
        url: `/api/runs/${rerun.json().runId}/nodes/nope/cancel`,
      });
      expect(nodeCancel.statusCode).toBe(404);
    });
  });

  describe('characters', () => {
    it('creates a character from a multipart form with reference images', async () => {
      const response = await inject({
        method: 'POST',
        url: '/api/characters',
        payload: form(
          {
            name: 'Mira',
            description: 'Red scarf, dark hair',
            triggerWord: 'm1ra',
            loraName: 'mira_v2',
            loraWeight: '0.7',
          },
          [
            { field: 'images', name: 'front.png', bytes: pngBytes(32, 40) },
            { field: 'images[]', name: 'side.png', bytes: pngBytes(40, 32, 90) },
          ],
        ),
      });
      expect(response.statusCode).toBe(201);
      const character = response.json();
      expect(character).toMatchObject({
        id: expect.stringMatching(/^char_/),
        name: 'Mira',
        triggerWord: 'm1ra',
        lora: { name: 'mira_v2', weight: 0.7 },
        revision: 1,
      });
      expect(character.referenceImages).toEqual([
        expect.objectContaining({ mime: 'image/png', width: 32, height: 40 }),
        expect.objectContaining({ mime: 'image/png', width: 40, height: 32 }),
      ]);
      const image = await inject({
        method: 'GET',
        url: `/api/artifacts/${character.referenceImages[0].id}`,
      });
      expect(image.rawPayload.equals(pngBytes(32, 40))).toBe(true);

      const updated = await inject({
        method: 'PUT',
        url: `/api/characters/${character.id}`,
        payload: {
          name: 'Mira B.',
          lora: null,
          referenceImages: [character.referenceImages[1].id],
        },
      });
      expect(updated.statusCode).toBe(200);
      expect(updated.json()).toMatchObject({ name: 'Mira B.', revision: 2, triggerWord: 'm1ra' });
      expect(updated.json()).not.toHaveProperty('lora');
      expect(updated.json().referenceImages).toEqual([character.referenceImages[1]]);

      const similar = await inject({
        method: 'POST',
        url: `/api/characters/${character.id}/similar`,
      });
      // Plain grey references show no face: kept as style images, so there is no face to compare.
      expect(updated.json().identity.references).toEqual([
        expect.objectContaining({ status: 'no-face', role: 'style' }),
      ]);
      expect(similar.statusCode).toBe(422);
      expect(similar.json().error.code).toBe('character_no_face');

      expect(
        (await inject({ method: 'DELETE', url: `/api/characters/${character.id}` })).statusCode,
      ).toBe(204);
      expect(
        (await inject({ method: 'GET', url: `/api/characters/${character.id}` })).statusCode,
      ).toBe(404);
    });

    it('refuses a disguised file or a missing name, storing nothing', async () => {
      const count = async () =>
        (await inject({ method: 'GET', url: '/api/characters' })).json<unknown[]>().length;
      const before = await count();
      const html = Buffer.from('<html><script>alert(1)</script></html>');
      const disguised = await inject({
        method: 'POST',
        url: '/api/characters',
        payload: form({ name: 'Eve' }, [
          { field: 'images', name: 'face.png', bytes: html, type: 'image/png' },
        ]),
      });
      expect(disguised.statusCode).toBe(415);
      expect(disguised.json().error.code).toBe('unsupported_media_type');

      const nameless = await inject({
        method: 'POST',
        url: '/api/characters',
        payload: form({ description: 'no name' }, [
          { field: 'images', name: 'a.png', bytes: pngBytes(8, 9, 7) },
        ]),
      });
      expect(nameless.statusCode).toBe(400);
      expect(nameless.json().error.code).toBe('invalid_request');
      expect(await count()).toBe(before);
      // The image of the refused request was not stored either.
      const { createHash } = await import('node:crypto');
      const id = createHash('sha256')
        .update(pngBytes(8, 9, 7))
        .digest('hex');
      expect((await inject({ method: 'GET', url: `/api/artifacts/${id}` })).statusCode).toBe(404);
    });
  });

  describe('artifacts', () => {
    let ref: ArtifactRef;
    const png = pngBytes(50, 20);

    beforeAll(async () => {
      const response = await inject({
        method: 'POST',
        url: '/api/artifacts',
        payload: form({}, [{ field: 'file', name: 'plate.png', bytes: png }]),
      });
      expect(response.statusCode).toBe(201);
      ref = response.json();
    });

    it('stores an upload under its sha256 with the type read from its bytes', async () => {
      const { createHash } = await import('node:crypto');
      expect(ref).toEqual({
        id: createHash('sha256').update(png).digest('hex'),
        sha256: expect.any(String),
        mime: 'image/png',
        bytes: png.length,
        width: 50,
        height: 20,
      });
      const response = await inject({ method: 'GET', url: `/api/artifacts/${ref.id}` });
      expect(response.statusCode).toBe(200);
      expect(response.headers).toMatchObject({
        'content-type': 'image/png',
        etag: `"${ref.id}"`,
        'accept-ranges': 'bytes',
        'content-length': String(png.length),
      });
      expect(response.rawPayload.equals(png)).toBe(true);
      const cached = await inject({
        method: 'GET',
        url: `/api/artifacts/${ref.id}`,
        headers: { 'if-none-match': `"${ref.id}"` },
      });
      expect(cached.statusCode).toBe(304);
    });

    it('serves byte ranges (206) and refuses unsatisfiable ones (416)', async () => {
      const partial = await inject({
        method: 'GET',
        url: `/api/artifacts/${ref.id}`,
        headers: { range: 'bytes=8-15' },
      });
      expect(partial.statusCode).toBe(206);
      expect(partial.headers['content-range']).toBe(`bytes 8-15/${png.length}`);
      expect(partial.rawPayload.equals(png.subarray(8, 16))).toBe(true);
      const tail = await inject({
        method: 'GET',
        url: `/api/artifacts/${ref.id}`,
        headers: { range: 'bytes=-4' },
      });
      expect(tail.rawPayload.equals(png.subarray(png.length - 4))).toBe(true);
      const outside = await inject({
        method: 'GET',
        url: `/api/artifacts/${ref.id}`,
        headers: { range: `bytes=${png.length}-` },
      });
      expect(outside.statusCode).toBe(416);
      expect(outside.headers['content-range']).toBe(`bytes */${png.length}`);
      const stale = await inject({
        method: 'GET',
        url: `/api/artifacts/${ref.id}`,
        headers: { range: 'bytes=0-3', 'if-range': '"other"' },
      });
      expect(stale.statusCode).toBe(200);
    });

    it('validates ids: traversal and malformed ids are 400, unknown ones 404', async () => {
      for (const id of [
        '..%2F..%2Fetc%2Fpasswd',
        '..%5C..%5Cboot.ini',
        'ABCDEF' + 'a'.repeat(58),
        'a'.repeat(63),
        `${'a'.repeat(64)}%00`,
      ]) {
        const response = await inject({ method: 'GET', url: `/api/artifacts/${id}` });
        expect(response.statusCode, id).toBe(400);
        expect(response.json().error.code).toBe('invalid_artifact_id');
      }
      const unknown = await inject({ method: 'GET', url: `/api/artifacts/${'0'.repeat(64)}` });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error.code).toBe('artifact_not_found');
    });

    it('refuses files whose bytes are not an accepted type, whatever their name says', async () => {
      for (const [name, bytes] of [
        ['evil.png', Buffer.from('<svg onload="alert(1)"/>')],
        ['clip.mp4', Buffer.from('GIF89a\x01\x00\x01\x00')],
        ['empty.wav', Buffer.alloc(0)],
      ] as const) {
        const response = await inject({
          method: 'POST',
          url: '/api/artifacts',
          payload: form({}, [{ field: 'file', name, bytes, type: 'image/png' }]),
        });
        expect(response.statusCode, name).toBe(415);
        expect(response.json().error.code).toBe('unsupported_media_type');
      }
    });

    it('refuses images over the pixel limit and files over the size limit', async () => {
      const bomb = await inject({
        method: 'POST',
        url: '/api/artifacts',
        payload: form({}, [
          { field: 'file', name: 'bomb.png', bytes: pngHeaderClaiming(50_000, 50_000) },
        ]),
      });
      expect(bomb.statusCode).toBe(413);
      expect(bomb.json().error.code).toBe('image_too_large');
      const jpeg = await inject({
        method: 'POST',
        url: '/api/artifacts',
        payload: form({}, [{ field: 'file', name: 'big.jpg', bytes: jpegHeader(10_000, 9_000) }]),
      });
      expect(jpeg.statusCode).toBe(413);

      const small = serverWith({ uploadLimitBytes: 1_000 });
      const big = await small.app.inject({
        method: 'POST',
        url: '/api/artifacts',
        payload: form({}, [
          {
            field: 'file',
            name: 'big.png',
            bytes: Buffer.concat([pngBytes(8, 8), Buffer.alloc(5_000, 7)]),
          },
        ]),
      });
      expect(big.statusCode).toBe(413);
      expect(big.json().error.code).toBe('payload_too_large');
      const missing = await inject({
        method: 'POST',
        url: '/api/artifacts',
        payload: { file: 'nope' },
      });
      expect(missing.statusCode).toBe(400);
    });

    it('probes uploaded video for its duration and size', async () => {
      const file = join(scratch, 'clip.mp4');
      await promisify(execFile)('ffmpeg', [
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=64x48:rate=10:duration=1',
        '-pix_fmt',
        'yuv420p',
        '-y',
        file,
      ]);
      const response = await inject({
        method: 'POST',
        url: '/api/artifacts',
        payload: form({}, [{ field: 'file', name: 'clip.mp4', bytes: await readFile(file) }]),
      });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toMatchObject({
        mime: 'video/mp4',
        width: 64,
        height: 48,
        durationSec: expect.closeTo(1, 1),
      });
      // The upload's probe is kept with it: a merge of this video runs no ffprobe on it.
      expect(await lab.engine.artifacts.knownProbe(response.json())).toMatchObject({
        videoCodec: 'h264',
        width: 64,
        height: 48,
        fps: 10,
      });
      const truncated = (await readFile(file)).subarray(0, 64);
      const broken = await inject({
        method: 'POST',
        url: '/api/artifacts',
        payload: form({}, [{ field: 'file', name: 'cut.mp4', bytes: truncated }]),
      });
      expect(broken.statusCode).toBe(400);
      expect(broken.json().error.code).toBe('unreadable_media');
    });

    it('types audio by its streams: an .m4a with a generic MP4 brand is audio/mp4', async () => {
      const file = join(scratch, 'voice.m4a');
      await promisify(execFile)('ffmpeg', [
        '-v',
        'error',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:duration=1',
        '-c:a',
        'aac',
        '-brand',
        'mp42',
        '-f',
        'mp4',
        '-y',
        file,
      ]);
      const bytes = await readFile(file);
      expect(bytes.subarray(8, 12).toString('latin1')).toBe('mp42');
      const response = await inject({
        method: 'POST',
        url: '/api/artifacts',
        payload: form({}, [{ field: 'file', name: 'voice.m4a', bytes }]),
      });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toMatchObject({
        mime: 'audio/mp4',
        durationSec: expect.closeTo(1, 1),
      });
      expect(response.json()).not.toHaveProperty('width');
    });

    it('answers HEAD with the headers and no body', async () => {
      const response = await inject({ method: 'HEAD', url: `/api/artifacts/${ref.id}` });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-length']).toBe(String(png.length));
      expect(response.body).toBe('');
    });
  });

  it('refuses a character image over the image size limit', async () => {
    const small = serverWith({ imageLimitBytes: 1_000 });
    const response = await small.app.inject({
      method: 'POST',
      url: '/api/characters',
      payload: form({ name: 'Big' }, [
        {
          field: 'images',
          name: 'big.png',
          bytes: Buffer.concat([pngBytes(8, 8), Buffer.alloc(5_000, 7)]),
        },
      ]),
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe('payload_too_large');
  });
});
