/**
 * Users' templates over HTTP: create from a graph or a workflow, versions, export/import,
 * instantiate, run to a finished video on local providers, and every kind of bad input
 * answered 4xx with its code and nothing stored.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startTestEngine,
  temporalUnavailable,
  type TestEngine,
} from '../../testing/engine-harness';
import { pngBytes, tinyFilm } from '../../testing/server-fixtures';
import { buildServer, type LabServer } from '../app';

const skip = temporalUnavailable();

/** The tiny film, its script and shot count exposed with help and a default. */
function shortFilm(text = 'Mira climbs the ridge. She sees the valley.') {
  return tinyFilm(text, [
    { nodeId: 'script', param: 'text', label: 'Script', help: 'One sentence per shot' },
    { nodeId: 'story', param: 'shots', label: 'Shots', default: 2 },
  ]);
}

interface TemplateBody {
  id: string;
  name: string;
  category: string;
  version: number;
  source: string;
  owner?: string;
  preview: { artifactId: string; mime: string } | null;
  exposed: { key: string; label: string; value: unknown; default?: unknown; schema: object }[];
  graph: { nodes: { id: string; params: Record<string, unknown> }[]; meta: object };
}

describe.skipIf(skip)('templates API', () => {
  let lab: TestEngine;
  let server: LabServer;
  let scratch: string;
  const inject = (options: InjectOptions) => server.app.inject(options);
  const post = (url: string, payload: unknown) =>
    inject({ method: 'POST', url, payload: payload as object });
  const mine = async () =>
    (await inject({ method: 'GET', url: '/api/templates?source=mine' })).json<TemplateBody[]>();
  const workflowCount = async () =>
    (await inject({ method: 'GET', url: '/api/workflows' })).json<unknown[]>().length;
  const runCount = async () =>
    (await inject({ method: 'GET', url: '/api/runs' })).json<unknown[]>().length;
  const create = async (extra: Record<string, unknown> = {}) => {
    const response = await post('/api/templates', {
      graph: shortFilm(),
      name: 'Tiny film',
      category: 'Shorts',
      ...extra,
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json<TemplateBody>();
  };

  beforeAll(async () => {
    lab = await startTestEngine({ startWorker: true });
    scratch = await mkdtemp(join(tmpdir(), 'charlab-templates-test-'));
    server = buildServer(lab.engine, { editorDir: join(scratch, 'no-editor'), rateLimit: false });
  });

  afterAll(async () => {
    await server?.close();
    await lab?.close();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('saves a graph as a template: version 1, owned, with exposed params and their schemas', async () => {
    const template = await create({ description: 'Two shots of Mira' });
    expect(template).toMatchObject({
      name: 'Tiny film',
      description: 'Two shots of Mira',
      category: 'Shorts',
      version: 1,
      source: 'mine',
      owner: 'local',
      preview: null,
    });
    expect(template.id).toMatch(/^tpl_[0-9a-f]{16}$/);
    const shots = template.exposed.find((field) => field.key === 'story.shots')!;
    expect(shots).toMatchObject({ label: 'Shots', default: 2, value: 2 });
    // The param's own JSON Schema from the node type: the form checks the same range.
    expect(shots.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 24 });
    expect(template.exposed.find((f) => f.key === 'script.text')).toMatchObject({
      help: 'One sentence per shot',
    });

    const listed = (await inject({ method: 'GET', url: '/api/templates' })).json<TemplateBody[]>();
    expect(listed.find((t) => t.id === template.id)).not.toHaveProperty('graph');
    expect(listed.filter((t) => t.source === 'shipped').map((t) => t.id)).toEqual(
      expect.arrayContaining(['character-short', 'two-scenes']),
    );
  });

  it('saves a workflow as a template, with a preview artifact of the owner', async () => {
    const workflow = (await post('/api/workflows', { graph: shortFilm() })).json<{ id: string }>();
    const still = await lab.engine.artifacts.putBytes(pngBytes(16, 9), 'image/png', {}, 'local');
    const response = await post('/api/templates', {
      workflowId: workflow.id,
      name: 'From a workflow',
      preview: { artifactId: still.id },
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json<TemplateBody>().preview).toEqual({
      artifactId: still.id,
      mime: 'image/png',
    });
  });

  it('searches by words and filters by category and source', async () => {
    const tagged = await create({ name: 'Moonlit chase', category: 'Action' });
    const query = async (search: string) =>
      (await inject({ method: 'GET', url: `/api/templates?${search}` }))
        .json<TemplateBody[]>()
        .map((t) => t.id);
    expect(await query('q=moonlit')).toEqual([tagged.id]);
    expect(await query('q=CHASE%20moon')).toEqual([tagged.id]);
    expect(await query('category=action')).toEqual([tagged.id]);
    expect(await query('q=moonlit&source=shipped')).toEqual([]);
    expect(await query('source=shared')).toEqual([]);
    const bad = await inject({ method: 'GET', url: '/api/templates?source=everyone' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('invalid_request');
  });

  it('updates into a new version; older versions stay readable and instantiable', async () => {
    const template = await create();
    const v1Workflow = (
      await post(`/api/templates/${template.id}/instantiate`, { values: {} })
    ).json<{ graph: TemplateBody['graph'] }>();

    const changed = shortFilm('A new first line. A new second line.');
    const update = await inject({
      method: 'PUT',
      url: `/api/templates/${template.id}`,
      payload: { graph: changed, name: 'Tiny film II' },
    });
    expect(update.statusCode, update.body).toBe(200);
    expect(update.json()).toMatchObject({ id: template.id, version: 2, name: 'Tiny film II' });
    // Unchanged fields carry over to the next version.
    expect(update.json().category).toBe('Shorts');

    const versions = (
      await inject({ method: 'GET', url: `/api/templates/${template.id}/versions` })
    ).json<{ version: number; name: string }[]>();
    expect(versions.map((v) => [v.version, v.name])).toEqual([
      [2, 'Tiny film II'],
      [1, 'Tiny film'],
    ]);
    const old = (
      await inject({ method: 'GET', url: `/api/templates/${template.id}?version=1` })
    ).json<TemplateBody>();
    expect(old.version).toBe(1);
    expect(old.exposed.find((f) => f.key === 'script.text')!.value).toBe(
      'Mira climbs the ridge. She sees the valley.',
    );
    const fromOld = await post(`/api/templates/${template.id}/instantiate`, {
      values: {},
      version: 1,
    });
    expect(fromOld.statusCode).toBe(201);
    expect(fromOld.json().graph.meta).toMatchObject({ template: { id: template.id, version: 1 } });
    // A workflow made from version 1 is a copy: the update did not touch it.
    const script = v1Workflow.graph.nodes.find((n) => n.id === 'script')!;
    expect(script.params.text).toBe('Mira climbs the ridge. She sees the valley.');
    const missing = await inject({ method: 'GET', url: `/api/templates/${template.id}?version=9` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('template_version_not_found');
  });

  it('gives concurrent updates distinct versions and keeps what an update leaves out', async () => {
    const template = await create({ description: 'Kept' });
    const saves = await Promise.all(
      [1, 2, 3].map(() =>
        inject({
          method: 'PUT',
          url: `/api/templates/${template.id}`,
          payload: { graph: shortFilm() },
        }),
      ),
    );
    expect(saves.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(saves.map((r) => r.json<TemplateBody>().version).sort()).toEqual([2, 3, 4]);
    const latest = (await inject({ method: 'GET', url: `/api/templates/${template.id}` })).json<
      TemplateBody & { description: string }
    >();
    expect(latest).toMatchObject({
      version: 4,
      name: 'Tiny film',
      description: 'Kept',
      category: 'Shorts',
    });
  });

  it('exports a file with its schema id, version and preview, and imports it back', async () => {
    const still = await lab.engine.artifacts.putBytes(pngBytes(8, 8, 40), 'image/png', {}, 'local');
    const template = await create({ name: 'Exported', preview: { artifactId: still.id } });
    const exported = await inject({ method: 'GET', url: `/api/templates/${template.id}/export` });
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-disposition']).toContain('attachment');
    const file = exported.json();
    expect(file).toMatchObject({
      schema: 'character-lab/template',
      version: 1,
      name: 'Exported',
      category: 'Shorts',
      templateVersion: 1,
      preview: { mime: 'image/png', sha256: still.id },
      graph: { schema: 'character-lab/graph', version: 1 },
    });
    expect(Buffer.from(file.preview.base64, 'base64').equals(pngBytes(8, 8, 40))).toBe(true);
    // Help and default are part of the graph's save format, so they survive the file.
    expect(file.graph.exposed).toEqual([
      { nodeId: 'script', param: 'text', label: 'Script', help: 'One sentence per shot' },
      { nodeId: 'story', param: 'shots', label: 'Shots', default: 2 },
    ]);

    const imported = await post('/api/templates/import', file);
    expect(imported.statusCode, imported.body).toBe(201);
    const copy = imported.json<TemplateBody>();
    expect(copy.id).not.toBe(template.id);
    expect(copy).toMatchObject({ name: 'Exported', version: 1, source: 'mine' });
    expect(copy.preview).toEqual({ artifactId: still.id, mime: 'image/png' });
    expect(copy.exposed.map((f) => f.key)).toEqual(template.exposed.map((f) => f.key));
    // Export of the copy is byte-identical but for the graph id it was given.
    const again = (await inject({ method: 'GET', url: `/api/templates/${copy.id}/export` })).json();
    expect({ ...again, graph: { ...again.graph, id: 'x' } }).toEqual({
      ...file,
      graph: { ...file.graph, id: 'x' },
    });
  });

  it('imports a bare graph document (format 0) as a template', async () => {
    const response = await post('/api/templates/import', shortFilm());
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json()).toMatchObject({
      name: 'Tiny film',
      category: 'General',
      migratedFrom: 0,
      migrations: [{ name: 'template-file:0001-wrap-graph-document' }],
    });
  });

  it('runs a template with values to a finished video', async () => {
    const template = await create();
    const started = await post('/api/runs', {
      templateId: template.id,
      values: { 'script.text': 'Mira waves. The sun sets.' },
    });
    expect(started.statusCode, started.body).toBe(202);
    const { runId } = started.json<{ runId: string }>();
    const snapshot = await lab.engine.runs.waitForEnd(runId, 120_000);
    expect(snapshot.status).toBe('succeeded');
    const graph = (await inject({ method: 'GET', url: `/api/runs/${runId}/graph` })).json<
      TemplateBody['graph']
    >();
    expect(graph.nodes.find((n) => n.id === 'script')!.params.text).toBe(
      'Mira waves. The sun sets.',
    );
    const video = snapshot.outputs.merge?.video as { id: string; mime: string } | undefined;
    expect(video?.mime).toBe('video/mp4');

    // The run's final video becomes the template's preview.
    const updated = await inject({
      method: 'PUT',
      url: `/api/templates/${template.id}`,
      payload: { graph: shortFilm(), name: 'Tiny film', preview: { runId } },
    });
    expect(updated.statusCode, updated.body).toBe(200);
    expect(updated.json().preview).toEqual({ artifactId: video!.id, mime: 'video/mp4' });
  });

  describe('bad input: 4xx with a code, nothing stored', () => {
    it('refuses a key the template does not expose', async () => {
      const template = await create();
      const [workflows, runs] = [await workflowCount(), await runCount()];
      for (const [url, body] of [
        [`/api/templates/${template.id}/instantiate`, { values: { 'merge.crf': 10 } }],
        ['/api/runs', { templateId: template.id, values: { 'merge.crf': 10 } }],
      ] as const) {
        const response = await post(url, body);
        expect(response.statusCode).toBe(400);
        expect(response.json().error).toMatchObject({
          code: 'param_not_exposed',
          details: { notExposed: ['merge.crf'] },
        });
      }
      expect([await workflowCount(), await runCount()]).toEqual([workflows, runs]);
    });

    it("refuses a value outside the param's schema, naming the key", async () => {
      const template = await create();
      const [workflows, runs] = [await workflowCount(), await runCount()];
      for (const [url, body] of [
        [`/api/templates/${template.id}/instantiate`, { values: { 'story.shots': 500 } }],
        ['/api/runs', { templateId: template.id, values: { 'story.shots': 0 } }],
        ['/api/runs', { templateId: template.id, values: { 'script.text': 42 } }],
      ] as const) {
        const response = await post(url, body);
        expect(response.statusCode).toBe(400);
        const { error } = response.json();
        expect(error.code).toBe('invalid_param');
        expect(error.details.keys).toHaveLength(1);
        expect(Object.keys(body.values)).toContain(error.details.keys[0]);
      }
      expect([await workflowCount(), await runCount()]).toEqual([workflows, runs]);
    });

    it('answers 404 for an unknown template everywhere', async () => {
      const before = await mine();
      for (const response of [
        await inject({ method: 'GET', url: '/api/templates/tpl_0000000000000000' }),
        await inject({ method: 'GET', url: '/api/templates/nope/versions' }),
        await inject({ method: 'GET', url: '/api/templates/nope/export' }),
        await post('/api/templates/tpl_0000000000000000/instantiate', { values: {} }),
        await post('/api/runs', { templateId: 'tpl_0000000000000000', values: {} }),
        await inject({
          method: 'PUT',
          url: '/api/templates/tpl_0000000000000000',
          payload: { graph: shortFilm(), name: 'x' },
        }),
        await inject({ method: 'DELETE', url: '/api/templates/tpl_0000000000000000' }),
      ]) {
        expect(response.statusCode).toBe(404);
        expect(response.json().error.code).toBe('template_not_found');
      }
      expect(await mine()).toEqual(before);
    });

    it('keeps shipped templates read-only', async () => {
      for (const response of [
        await inject({
          method: 'PUT',
          url: '/api/templates/character-short',
          payload: { graph: shortFilm(), name: 'Hijacked' },
        }),
        await inject({ method: 'PUT', url: '/api/templates/character-short', payload: {} }),
        await inject({ method: 'DELETE', url: '/api/templates/character-short' }),
      ]) {
        expect(response.statusCode).toBe(403);
        expect(response.json().error.code).toBe('template_read_only');
      }
      const shipped = (
        await inject({ method: 'GET', url: '/api/templates/character-short' })
      ).json<TemplateBody>();
      expect(shipped).toMatchObject({ name: 'Character short', source: 'shipped', version: 1 });
      // The way to change one: export it and import the file as a template of one's own.
      const file = await inject({ method: 'GET', url: '/api/templates/character-short/export' });
      expect(file.statusCode).toBe(200);
      const copy = await post('/api/templates/import', file.json());
      expect(copy.statusCode, copy.body).toBe(201);
      expect(copy.json()).toMatchObject({ name: 'Character short', source: 'mine', version: 1 });
      expect(copy.json().exposed.map((f: { key: string }) => f.key)).toEqual(
        shipped.exposed.map((f) => f.key),
      );
    });

    it('refuses bad template files', async () => {
      const template = await create();
      const file = (
        await inject({ method: 'GET', url: `/api/templates/${template.id}/export` })
      ).json();
      const before = await mine();
      const cases: unknown[] = [
        { ...file, version: 2 },
        { ...file, schema: 'someone-else/template' },
        { ...file, name: '' },
        { ...file, graph: { ...file.graph, nodes: 'none' } },
        // A graph that loads but cannot run: the merge has no clips.
        { ...file, graph: { ...file.graph, edges: [] } },
        {
          ...file,
          preview: { mime: 'image/png', base64: Buffer.from('<html>').toString('base64') },
        },
        [1, 2, 3],
      ];
      const codes = [];
      for (const body of cases) {
        const response = await post('/api/templates/import', body);
        expect(response.statusCode, JSON.stringify(body).slice(0, 200)).toBe(400);
        expect(response.json().error.code).toBe('invalid_template');
        codes.push(response.json().error.details.errors[0].code);
      }
      expect(codes.slice(0, 2)).toEqual(['unsupported_version', 'unknown_schema']);
      expect(codes[5]).toBe('invalid_preview');
      expect(await mine()).toEqual(before);
    });

    it('refuses a template whose graph cannot run, and a preview that is not the owner’s', async () => {
      const before = await mine();
      const broken = await post('/api/templates', {
        graph: { ...shortFilm(), edges: [] },
        name: 'Broken',
      });
      expect(broken.statusCode).toBe(400);
      expect(broken.json().error.code).toBe('invalid_graph');
      const foreign = await lab.engine.artifacts.putBytes(
        pngBytes(4, 4, 7),
        'image/png',
        {},
        'bob',
      );
      const stolen = await post('/api/templates', {
        graph: shortFilm(),
        name: 'Stolen preview',
        preview: { artifactId: foreign.id },
      });
      expect(stolen.statusCode).toBe(404);
      expect(stolen.json().error.code).toBe('artifact_not_found');
      const badDefault = await post('/api/templates', {
        graph: {
          ...shortFilm(),
          exposed: [{ nodeId: 'story', param: 'shots', label: 'Shots', default: 99 }],
        },
        name: 'Bad default',
      });
      expect(badDefault.statusCode).toBe(400);
      expect(badDefault.json().error.details.errors[0].code).toBe('invalid_exposed');
      expect(await mine()).toEqual(before);
    });

    it('deletes an own template and every version', async () => {
      const template = await create();
      await inject({
        method: 'PUT',
        url: `/api/templates/${template.id}`,
        payload: { graph: shortFilm(), name: 'Tiny film' },
      });
      expect(
        (await inject({ method: 'DELETE', url: `/api/templates/${template.id}` })).statusCode,
      ).toBe(204);
      expect(
        (await inject({ method: 'GET', url: `/api/templates/${template.id}` })).statusCode,
      ).toBe(404);
      expect(
        await lab.engine.documents.templateVersions.list({ where: { templateId: template.id } }),
      ).toEqual([]);
    });
  });
});
