/**
 * Share links with accounts on (LAB_AUTH=on): alice shares a workflow that uses her own
 * character and uploaded image; anyone with the link reads it without signing in; bob imports
 * a copy in which her character and image are named placeholders; links expire and are
 * revoked; only the link's own preview and video are served; no token is ever stored or
 * listed. Requests authenticate with personal API tokens, as scripts do.
 */
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountService } from '../../auth/account-service';
import { PUBLIC_OWNER, type Viewer } from '../../auth/viewer';
import type { GraphDocument } from '../../graph/document';
import type { ValidationProblem } from '../../graph/problems';
import type { ExecutionPlan } from '../../graph/plan';
import type { ArtifactRef } from '../../graph/values';
import type { CharacterRecord, ShareRecord, WorkflowRecord } from '../../stores/ports';
import { makePng } from '../../testing/fakes/media';
import {
  startTestEngine,
  temporalUnavailable,
  type TestEngine,
} from '../../testing/engine-harness';
import { graphDoc } from '../../testing/server-fixtures';
import { buildServer, type LabServer } from '../app';

const PASSWORD = 'correct-horse-battery-staple';
const DAY_MS = 24 * 3600_000;

interface CreatedShare {
  id: string;
  token: string;
  url: string;
  expiresAt: string;
  createdAt: string;
  status: string;
  hasVideo: boolean;
  hasPreview: boolean;
}

describe.skipIf(temporalUnavailable())('share links (accounts on)', () => {
  let lab: TestEngine;
  let server: LabServer;
  const tokens: Record<'alice' | 'bob' | 'root', string> = { alice: '', bob: '', root: '' };
  let workflow: WorkflowRecord;
  let bareWorkflow: WorkflowRecord;
  let plate: ArtifactRef;
  let video: ArtifactRef;
  let frame: ArtifactRef;
  let unrelated: ArtifactRef;

  const inject = (options: InjectOptions) => server.app.inject(options);
  const as = (user: keyof typeof tokens, options: InjectOptions) =>
    inject({
      ...options,
      headers: { ...options.headers, authorization: `Bearer ${tokens[user]}` },
    });
  const share = async (
    body: Record<string, unknown> = {},
    workflowId = workflow.id,
  ): Promise<CreatedShare> => {
    const response = await as('alice', {
      method: 'POST',
      url: `/api/workflows/${workflowId}/shares`,
      payload: body,
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json<CreatedShare>();
  };
  const storedShares = () => lab.engine.documents.shares.list({ limit: 1000 });

  beforeAll(async () => {
    lab = await startTestEngine({ startWorker: false });
    server = buildServer(lab.engine, {
      auth: 'on',
      rateLimit: false,
      editorDir: join(lab.dataDir, 'no-editor'),
    });
    const accounts = new AccountService(lab.engine.documents);
    for (const [name, role] of [
      ['alice', 'member'],
      ['bob', 'member'],
      ['root', 'admin'],
    ] as const) {
      const user = await accounts.createUser({ username: name, password: PASSWORD, role });
      const viewer: Viewer = { id: user.id, username: user.username, role, via: 'token' };
      tokens[name] = (await accounts.createToken(viewer, { name: 'test' })).token;
    }
    const aliceId = 'usr_alice';
    const now = new Date().toISOString();
    const character = (id: string, name: string, ownerId: string): CharacterRecord => ({
      id,
      name,
      description: '',
      referenceImages: [],
      ownerId,
      createdAt: now,
      updatedAt: now,
      revision: 1,
    });
    await lab.engine.documents.characters.put(character('char_mira', 'Mira', aliceId));
    await lab.engine.documents.characters.put(character('char_demo', 'Demo', PUBLIC_OWNER));

    const { artifacts } = lab.engine;
    plate = await artifacts.putBytes(await makePng(32, 16), 'image/png', {}, aliceId, 'plate.png');
    frame = await artifacts.putBytes(await makePng(24, 24), 'image/png', {}, aliceId);
    video = await artifacts.putBytes(
      Buffer.from('not really an mp4, but bytes'),
      'video/mp4',
      {},
      aliceId,
    );
    unrelated = await artifacts.putBytes(Buffer.from('alice private'), 'video/mp4', {}, aliceId);

    const graph = graphDoc(
      'Mira at dawn',
      [
        { id: 'hero', type: 'character-loader', params: { characterId: 'char_mira' } },
        { id: 'extra', type: 'character-loader', params: { characterId: 'char_demo' } },
        { id: 'plate', type: 'image-input', params: { image: plate } },
        { id: 'script', type: 'script-input', params: { text: 'Mira wakes.' } },
      ],
      [],
      {
        exposed: [{ nodeId: 'hero', param: 'characterId', label: 'Hero', default: 'char_mira' }],
        meta: { createdWith: 'test', template: { id: 'tpl_alices', version: 2 } },
      },
    );
    const created = await as('alice', {
      method: 'POST',
      url: '/api/workflows',
      payload: { graph },
    });
    expect(created.statusCode, created.body).toBe(201);
    workflow = created.json<WorkflowRecord>();
    const bare = await as('alice', {
      method: 'POST',
      url: '/api/workflows',
      payload: { graph: graphDoc('No runs yet', [{ id: 's', type: 'script-input' }], []) },
    });
    bareWorkflow = bare.json<WorkflowRecord>();

    // A finished run of the workflow, as the run service stores it: a frame and a final video.
    await lab.engine.documents.runs.put({
      id: 'run_finished',
      workflowId: workflow.id,
      graph: workflow.graph,
      plan: {} as ExecutionPlan,
      snapshot: {
        runId: 'run_finished',
        status: 'succeeded',
        seq: 0,
        nodes: {},
        outputs: { plate: { image: frame }, script: { video } },
      },
      temporalWorkflowId: 'run_finished',
      ownerId: aliceId,
      createdAt: now,
      updatedAt: now,
    });
  });

  afterAll(async () => {
    await server?.close();
    await lab?.close();
  });

  it('makes a link with the defaults: 30 days, a preview frame, the token shown once', async () => {
    const created = await share();
    expect(created.token).toMatch(/^clab_shr_[0-9a-f]{16}_[0-9a-f]{64}$/);
    expect(created.url).toMatch(new RegExp(`/s/${created.token}$`));
    expect(Date.parse(created.expiresAt) - Date.parse(created.createdAt)).toBe(30 * DAY_MS);
    expect(created).toMatchObject({ status: 'active', hasVideo: false, hasPreview: true });

    const stored = await lab.engine.documents.shares.get(created.id);
    const secret = created.token.split('_').at(-1)!;
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(stored!.graph.meta).toEqual({ createdWith: 'test' });
    expect(stored!.graph.id).toBe(created.id);
    expect(stored!.revision).toBe(workflow.revision);

    const listed = await as('alice', {
      method: 'GET',
      url: `/api/workflows/${workflow.id}/shares`,
    });
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain(secret);
    expect(listed.body).not.toContain('secretHash');
    expect(listed.json<{ id: string }[]>().map((item) => item.id)).toContain(created.id);
  });

  it('refuses bad input with invalid_share, a video there is none of with 409, and stores nothing', async () => {
    const before = (await storedShares()).length;
    for (const payload of [
      { expiresInDays: 0 },
      { expiresInDays: 366 },
      { expiresInDays: 2.5 },
      { expiresInDays: '7' },
      { includeVideo: 'yes' },
      { password: 'x' },
    ]) {
      const response = await as('alice', {
        method: 'POST',
        url: `/api/workflows/${workflow.id}/shares`,
        payload,
      });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error.code).toBe('invalid_share');
    }
    const noVideo = await as('alice', {
      method: 'POST',
      url: `/api/workflows/${bareWorkflow.id}/shares`,
      payload: { includeVideo: true },
    });
    expect(noVideo.statusCode).toBe(409);
    expect(noVideo.json().error.code).toBe('no_video_to_share');
    expect((await storedShares()).length).toBe(before);
  });

  it("answers 404 for another user's workflow, links and revokes", async () => {
    const created = await share();
    for (const method of ['GET', 'POST'] as const) {
      const response = await as('bob', {
        method,
        url: `/api/workflows/${workflow.id}/shares`,
        ...(method === 'POST' ? { payload: {} } : {}),
      });
      expect(response.statusCode).toBe(404);
      expect(response.json().error.code).toBe('workflow_not_found');
    }
    const revoke = await as('bob', { method: 'DELETE', url: `/api/shares/${created.id}` });
    expect(revoke.statusCode).toBe(404);
    expect(revoke.json().error.code).toBe('share_not_found');
    expect((await lab.engine.documents.shares.get(created.id))!.revokedAt).toBeUndefined();
  });

  it('opens without signing in and serves only its own preview and video', async () => {
    const created = await share({ includeVideo: true, expiresInDays: 7 });
    expect(created.hasVideo).toBe(true);
    expect((await inject({ method: 'GET', url: '/api/workflows' })).statusCode).toBe(401);
    // The page draws the graph with the node catalogue, which is everyone's.
    expect((await inject({ method: 'GET', url: '/api/node-types' })).statusCode).toBe(200);

    const opened = await inject({ method: 'GET', url: `/api/shared/${created.token}` });
    expect(opened.statusCode, opened.body).toBe(200);
    const body = opened.json<{
      name: string;
      graph: GraphDocument;
      sharedBy: string;
      revision: number;
      preview: ArtifactRef & { url: string };
      video: ArtifactRef & { url: string };
    }>();
    expect(body).toMatchObject({ name: 'Mira at dawn', sharedBy: 'alice', revision: 1 });
    expect(body.graph.nodes.map((node) => node.id)).toEqual(['hero', 'extra', 'plate', 'script']);
    expect(body.preview.id).toBe(frame.id);
    expect(body.video.id).toBe(video.id);
    expect(opened.body).not.toContain('usr_alice');

    const whole = await inject({ method: 'GET', url: body.video.url });
    expect(whole.statusCode).toBe(200);
    expect(whole.headers['content-type']).toBe('video/mp4');
    expect(whole.body).toBe('not really an mp4, but bytes');
    const ranged = await inject({
      method: 'GET',
      url: body.video.url,
      headers: { range: 'bytes=0-2' },
    });
    expect(ranged.statusCode).toBe(206);
    expect(ranged.body).toBe('not');
    expect((await inject({ method: 'GET', url: body.preview.url })).statusCode).toBe(200);

    // In the graph, or merely alice's: neither is the link's to give.
    for (const other of [plate.id, unrelated.id, 'not-an-id']) {
      const response = await inject({
        method: 'GET',
        url: `/api/shared/${created.token}/artifacts/${other}`,
      });
      expect(response.statusCode).toBe(404);
      expect(response.json().error.code).toBe('share_not_found');
    }
  });

  it('one 404 for unknown, malformed, wrong-secret, expired and revoked links', async () => {
    const created = await share({ includeVideo: true });
    const expired = await share();
    const stored = (await lab.engine.documents.shares.get(expired.id)) as ShareRecord;
    await lab.engine.documents.shares.put({
      ...stored,
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    const revoke = await as('alice', { method: 'DELETE', url: `/api/shares/${created.id}` });
    expect(revoke.statusCode).toBe(204);

    const wrongSecret = created.token.replace(/[0-9a-f]{64}$/, '0'.repeat(64));
    const answers = [];
    for (const token of [
      created.token,
      expired.token,
      wrongSecret,
      'clab_shr_nope',
      'x'.repeat(80),
    ]) {
      answers.push(await inject({ method: 'GET', url: `/api/shared/${token}` }));
      answers.push(
        await inject({ method: 'GET', url: `/api/shared/${token}/artifacts/${video.id}` }),
      );
      answers.push(
        await as('bob', { method: 'POST', url: `/api/shared/${token}/import`, payload: {} }),
      );
    }
    for (const answer of answers) {
      expect(answer.statusCode).toBe(404);
      expect(answer.json().error).toEqual({
        code: 'share_not_found',
        message:
          'this share link does not exist, has expired or was revoked: ask its owner for a new one',
      });
    }

    const listed = await as('alice', {
      method: 'GET',
      url: `/api/workflows/${workflow.id}/shares`,
    });
    const status = Object.fromEntries(
      listed.json<{ id: string; status: string }[]>().map((item) => [item.id, item.status]),
    );
    expect(status[created.id]).toBe('revoked');
    expect(status[expired.id]).toBe('expired');
  });

  it('an admin can revoke anyone’s link', async () => {
    const created = await share();
    const revoke = await as('root', { method: 'DELETE', url: `/api/shares/${created.id}` });
    expect(revoke.statusCode).toBe(204);
    expect((await inject({ method: 'GET', url: `/api/shared/${created.token}` })).statusCode).toBe(
      404,
    );
  });

  it("bob's import names alice's character and image as placeholders; alice's keeps them", async () => {
    const created = await share();
    const signedOut = await inject({
      method: 'POST',
      url: `/api/shared/${created.token}/import`,
      payload: {},
    });
    expect(signedOut.statusCode).toBe(401);

    const imported = await as('bob', {
      method: 'POST',
      url: `/api/shared/${created.token}/import`,
      payload: {},
    });
    expect(imported.statusCode, imported.body).toBe(201);
    const copy = imported.json<
      WorkflowRecord & { problems: ValidationProblem[]; placeholders: unknown[] }
    >();
    expect(copy.ownerId).toBe('usr_bob');
    const params = Object.fromEntries(copy.graph.nodes.map((node) => [node.id, node.params]));
    expect(params.hero.characterId).toBe('');
    expect(params.plate.image).toBeNull();
    // A shipped character every user may read stays.
    expect(params.extra.characterId).toBe('char_demo');
    expect(copy.graph.exposed).toEqual([{ nodeId: 'hero', param: 'characterId', label: 'Hero' }]);
    expect(copy.placeholders).toEqual([
      { nodeId: 'hero', param: 'characterId', kind: 'character', id: 'char_mira', name: 'Mira' },
      { nodeId: 'plate', param: 'image', kind: 'artifact', id: plate.id, name: 'plate.png' },
    ]);
    expect(copy.problems).toEqual([
      {
        code: 'character_missing',
        nodeId: 'hero',
        param: 'characterId',
        message:
          'node "hero" (Character): this graph was shared without its character "Mira": pick one of yours in the inspector',
      },
      {
        code: 'artifact_missing',
        nodeId: 'plate',
        param: 'image',
        message:
          'node "plate" (Image): this graph was shared without its file "plate.png": upload one of yours in the inspector',
      },
    ]);

    // The saved workflow keeps saying so to anyone validating it (the studio, the CLI).
    const saved = await as('bob', { method: 'GET', url: `/api/workflows/${copy.id}` });
    const validated = await as('bob', {
      method: 'POST',
      url: '/api/graphs/validate',
      payload: { graph: saved.json<WorkflowRecord>().graph },
    });
    expect(validated.json<{ errors: ValidationProblem[] }>().errors.map((p) => p.code)).toEqual([
      'character_missing',
      'artifact_missing',
    ]);
    // Nothing of alice's changed hands.
    expect((await as('bob', { method: 'GET', url: '/api/characters/char_mira' })).statusCode).toBe(
      404,
    );
    expect((await as('bob', { method: 'GET', url: `/api/artifacts/${plate.id}` })).statusCode).toBe(
      404,
    );

    const own = await as('alice', {
      method: 'POST',
      url: `/api/shared/${created.token}/import`,
      payload: {},
    });
    expect(own.statusCode).toBe(201);
    const ownCopy = own.json<WorkflowRecord & { problems: unknown[]; placeholders: unknown[] }>();
    expect(ownCopy.placeholders).toEqual([]);
    expect(ownCopy.problems).toEqual([]);
    expect(ownCopy.graph.nodes[0].params.characterId).toBe('char_mira');
  });
});
