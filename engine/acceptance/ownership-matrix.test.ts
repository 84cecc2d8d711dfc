/**
 * The two-user ownership matrix (issue 10, item 2, "Must show"): with LAB_AUTH=on, two members
 * (alice and bob) and an admin on a real server over a real engine (embedded stores, the test
 * Temporal dev server, no worker: alice's run stays queued, so nothing about it changes unless
 * a request changes it).
 *
 * Alice makes one of everything: an uploaded image, a character with a face photo, a workflow
 * naming both, a template, a run, a share link (and her API token). Then, for EVERY route the
 * router holds (read from Fastify, so a new route fails the coverage test until it has a row
 * here), bob tries to read, change and delete alice's things, with his API token and with a
 * browser session: 404 (403 `read_only` for shipped things), nothing of alice's in any answer
 * he gets, and alice's stored records byte for byte as before. Signed-out requests get 401 on
 * every route not marked public. The admin reads alice's things. On Socket.IO, bob's
 * `run:watch` of alice's run answers run_not_found and a signed-out socket is refused.
 *
 * And a run uses only what its owner may read (engine/runs/resource-check.ts): bob's run,
 * rerun or template instance naming alice's character or image answers 400 `invalid_graph`
 * naming the node, and nothing starts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountService } from '../auth/account-service';
import { PUBLIC_OWNER } from '../auth/viewer';
import type { ArtifactRef } from '../graph/values';
import { buildServer, type LabServer } from '../server/app';
import { startTestEngine, temporalUnavailable, type TestEngine } from '../testing/engine-harness';
import { sampleFaceCrop } from '../testing/fakes/face-samples';
import { routesOf as routerRoutes, terminateAllRuns } from '../testing/router';
import { graphDoc, pngBytes, storyGraph } from '../testing/server-fixtures';

const skip = temporalUnavailable();

/** A shipped character (like the demo): everyone reads it, only admins change it. */
const SHIPPED_CHARACTER = 'shipped-hero';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Who sends a request. `bob-session` is bob in a browser (cookie + Origin), the rest tokens. */
type Actor = 'alice' | 'bob' | 'bob-session' | 'admin' | 'anonymous';

/** Alice's things (and the admin's invite), by id. */
interface Ids {
  workflow: string;
  template: string;
  character: string;
  /** The image alice uploaded (POST /api/artifacts). */
  artifact: ArtifactRef;
  /** Her character's reference image. */
  characterImage: string;
  run: string;
  share: string;
  shareToken: string;
  aliceToken: string;
  aliceUser: string;
  invite: string;
}

/** One request, built from alice's ids. */
interface Attempt {
  method: Method;
  url: string;
  json?: unknown;
  form?: () => Promise<FormData>;
  /** What bob must get: status and error code, or a check of the whole answer. */
  expect: { status: number; code?: string } | ((response: LightMyRequestResponse) => void);
  /** The answer may carry alice's ids by design (a share link bob was given). */
  mayShowAlice?: true;
  /** Sent without credentials whoever tries it (signing out ends only the sender's session). */
  signedOut?: true;
}

interface RouteCase {
  /** Reached without signing in (`config.public`, or outside /api: pages and /metrics). */
  public?: true;
  /** What bob tries on this route. */
  attempts: (ids: Ids) => Attempt[];
}

const missing = (code: string) => ({ status: 404, code });
const adminOnly = { status: 403, code: 'admin_only' };

/** A response list (JSON array) without any of `ids`. */
const listWithout =
  (...ids: string[]) =>
  (response: LightMyRequestResponse) => {
    expect(response.statusCode, response.body).toBe(200);
    expect(Array.isArray(response.json())).toBe(true);
    for (const id of ids) expect(response.body).not.toContain(id);
  };

const status = (code: number) => (response: LightMyRequestResponse) =>
  expect(response.statusCode, response.body).toBe(code);

const faceForm = async (field: string, variant: boolean, extra: Record<string, string> = {}) => {
  const form = new FormData();
  for (const [key, value] of Object.entries(extra)) form.append(key, value);
  const bytes = await sampleFaceCrop(0, { variant });
  form.append(
    field,
    new Blob([new Uint8Array(bytes)], { type: variant ? 'image/jpeg' : 'image/png' }),
    'face',
  );
  return form;
};

const imageForm = (grey: number) => {
  const form = new FormData();
  form.append(
    'file',
    new Blob([new Uint8Array(pngBytes(12, 12, grey))], { type: 'image/png' }),
    'plate.png',
  );
  return form;
};

/** Alice's workflow: her character and her uploaded image, feeding a local storyboard. */
function aliceGraph(ids: Pick<Ids, 'character' | 'artifact'>) {
  return graphDoc(
    "Alice's film",
    [
      { id: 'script', type: 'script-input', params: { text: 'Alice walks. She waves.' } },
      { id: 'hero', type: 'character-loader', params: { characterId: ids.character } },
      { id: 'plate', type: 'image-input', params: { image: ids.artifact } },
      { id: 'story', type: 'gpt-storyboard', params: { provider: 'local', shots: 2 } },
    ],
    [
      ['script', 'text', 'story', 'script'],
      ['hero', 'character', 'story', 'character'],
    ],
    { exposed: [{ nodeId: 'hero', param: 'characterId', label: 'Character' }] },
  );
}

/**
 * Every route, `METHOD /path`, with what bob tries on it. The coverage test fails when the
 * router holds a route this table does not, or this table one the router does not.
 */
const ROUTES: Record<string, RouteCase> = {
  // ---- system and pages: public, nobody's data ----
  'GET /api/health': {
    public: true,
    attempts: () => [{ method: 'GET', url: '/api/health', expect: ok200 }],
  },
  // The catalogue is everyone's (a share link's page draws with it before signing in).
  'GET /api/node-types': {
    public: true,
    attempts: () => [{ method: 'GET', url: '/api/node-types', expect: status(200) }],
  },
  'POST /api/graphs/validate': {
    // Validation reads nothing stored: alice's ids in a graph tell bob nothing.
    attempts: (ids) => [
      {
        method: 'POST',
        url: '/api/graphs/validate',
        json: { graph: aliceGraph(ids) },
        expect: status(200),
      },
    ],
  },
  // Prometheus counts over all runs; no record, id or name of anyone's.
  'GET /metrics': {
    public: true,
    attempts: () => [{ method: 'GET', url: '/metrics', expect: status(200) }],
  },
  'GET /': { public: true, attempts: () => [{ method: 'GET', url: '/', expect: status(200) }] },

  // ---- accounts ----
  'GET /api/auth/me': {
    public: true,
    attempts: () => [{ method: 'GET', url: '/api/auth/me', expect: status(200) }],
  },
  'POST /api/auth/sign-in': {
    public: true,
    attempts: () => [
      {
        method: 'POST',
        url: '/api/auth/sign-in',
        json: { username: 'alice', password: 'not-alices-password' },
        expect: { status: 401, code: 'invalid_credentials' },
      },
    ],
  },
  'POST /api/auth/sign-out': {
    public: true,
    attempts: () => [
      { method: 'POST', url: '/api/auth/sign-out', expect: status(204), signedOut: true },
    ],
  },
  'POST /api/auth/password': {
    attempts: () => [
      {
        method: 'POST',
        url: '/api/auth/password',
        json: { current: 'alice-password-1', next: 'taken-over-by-bob' },
        expect: { status: 401, code: 'invalid_credentials' },
      },
    ],
  },
  'GET /api/auth/invites/:token': {
    public: true,
    attempts: () => [
      { method: 'GET', url: '/api/auth/invites/clab_inv_x_y', expect: { status: 404 } },
    ],
  },
  'POST /api/auth/invites/:token/accept': {
    public: true,
    attempts: () => [
      {
        method: 'POST',
        url: '/api/auth/invites/clab_inv_x_y/accept',
        json: { username: 'mallory', password: 'mallory-password-1' },
        expect: { status: 404 },
      },
    ],
  },
  'GET /api/users': { attempts: () => [{ method: 'GET', url: '/api/users', expect: adminOnly }] },
  'POST /api/users': {
    attempts: () => [
      {
        method: 'POST',
        url: '/api/users',
        json: { username: 'bobs-admin', password: 'bobs-admin-pass', role: 'admin' },
        expect: adminOnly,
      },
    ],
  },
  'PATCH /api/users/:id': {
    attempts: (ids) => [
      {
        method: 'PATCH',
        url: `/api/users/${ids.aliceUser}`,
        json: { disabled: true },
        expect: adminOnly,
      },
      { method: 'PATCH', url: '/api/users/usr_bob', json: { role: 'admin' }, expect: adminOnly },
    ],
  },
  'GET /api/invites': {
    attempts: () => [{ method: 'GET', url: '/api/invites', expect: adminOnly }],
  },
  'POST /api/invites': {
    attempts: () => [
      { method: 'POST', url: '/api/invites', json: { role: 'admin' }, expect: adminOnly },
    ],
  },
  'DELETE /api/invites/:id': {
    attempts: (ids) => [{ method: 'DELETE', url: `/api/invites/${ids.invite}`, expect: adminOnly }],
  },
  'GET /api/tokens': {
    attempts: (ids) => [{ method: 'GET', url: '/api/tokens', expect: listWithout(ids.aliceToken) }],
  },
  'POST /api/tokens': {
    attempts: () => [
      {
        method: 'POST',
        url: '/api/tokens',
        json: { name: 'sneaky', kind: 'worker' },
        expect: adminOnly,
      },
    ],
  },
  'DELETE /api/tokens/:id': {
    attempts: (ids) => [
      {
        method: 'DELETE',
        url: `/api/tokens/${ids.aliceToken}`,
        expect: missing('token_not_found'),
      },
    ],
  },

  // ---- workflows and share links ----
  'GET /api/workflows': {
    attempts: (ids) => [
      { method: 'GET', url: '/api/workflows', expect: listWithout(ids.workflow) },
    ],
  },
  'POST /api/workflows': {
    attempts: () => [
      { method: 'POST', url: '/api/workflows', json: { graph: storyGraph() }, expect: status(201) },
    ],
  },
  'POST /api/workflows/import': {
    attempts: () => [
      { method: 'POST', url: '/api/workflows/import', json: storyGraph(), expect: status(201) },
    ],
  },
  'GET /api/workflows/:id': {
    attempts: (ids) => [
      {
        method: 'GET',
        url: `/api/workflows/${ids.workflow}`,
        expect: missing('workflow_not_found'),
      },
    ],
  },
  'PUT /api/workflows/:id': {
    attempts: (ids) => [
      {
        method: 'PUT',
        url: `/api/workflows/${ids.workflow}`,
        json: { graph: storyGraph() },
        expect: missing('workflow_not_found'),
      },
    ],
  },
  'DELETE /api/workflows/:id': {
    attempts: (ids) => [
      {
        method: 'DELETE',
        url: `/api/workflows/${ids.workflow}`,
        expect: missing('workflow_not_found'),
      },
    ],
  },
  'GET /api/workflows/:id/export': {
    attempts: (ids) => [
      {
        method: 'GET',
        url: `/api/workflows/${ids.workflow}/export`,
        expect: missing('workflow_not_found'),
      },
    ],
  },
  'POST /api/workflows/:id/shares': {
    attempts: (ids) => [
      {
        method: 'POST',
        url: `/api/workflows/${ids.workflow}/shares`,
        json: {},
        expect: missing('workflow_not_found'),
      },
    ],
  },
  'GET /api/workflows/:id/shares': {
    attempts: (ids) => [
      {
        method: 'GET',
        url: `/api/workflows/${ids.workflow}/shares`,
        expect: missing('workflow_not_found'),
      },
    ],
  },
  'DELETE /api/shares/:id': {
    attempts: (ids) => [
      { method: 'DELETE', url: `/api/shares/${ids.share}`, expect: missing('share_not_found') },
    ],
  },
  // A share link is a bearer secret: whoever holds it may look (that is what it is for).
  'GET /api/shared/:token': {
    public: true,
    attempts: (ids) => [
      {
        method: 'GET',
        url: `/api/shared/${ids.shareToken}`,
        expect: status(200),
        mayShowAlice: true,
      },
    ],
  },
  // …but only at what the link shows, never at her other files.
  'GET /api/shared/:token/artifacts/:artifactId': {
    public: true,
    attempts: (ids) => [
      {
        method: 'GET',
        url: `/api/shared/${ids.shareToken}/artifacts/${ids.characterImage}`,
        expect: missing('share_not_found'),
      },
      {
        method: 'GET',
        url: `/api/shared/${ids.shareToken}/artifacts/${ids.artifact.id}`,
        expect: missing('share_not_found'),
      },
    ],
  },
  'HEAD /api/shared/:token/artifacts/:artifactId': {
    public: true,
    attempts: (ids) => [
      {
        method: 'HEAD',
        url: `/api/shared/${ids.shareToken}/artifacts/${ids.characterImage}`,
        expect: { status: 404 },
      },
    ],
  },
  // The copy is bob's, and names none of alice's characters or files.
  'POST /api/shared/:token/import': {
    attempts: (ids) => [
      {
        method: 'POST',
        url: `/api/shared/${ids.shareToken}/import`,
        mayShowAlice: true,
        expect: (response) => {
          expect(response.statusCode, response.body).toBe(201);
          const copy = response.json<{
            graph: { nodes: { id: string; params: Record<string, unknown> }[] };
          }>();
          const params = (id: string) => copy.graph.nodes.find((node) => node.id === id)!.params;
          expect(params('hero').characterId).toBe('');
          expect(params('plate').image).toBeNull();
          expect(JSON.stringify(copy.graph.nodes)).not.toContain(ids.character);
          expect(JSON.stringify(copy.graph.nodes)).not.toContain(ids.artifact.id);
        },
      },
    ],
  },

  // ---- templates ----
  'GET /api/templates': {
    attempts: (ids) => [
      { method: 'GET', url: '/api/templates', expect: listWithout(ids.template) },
      { method: 'GET', url: '/api/templates?source=shared', expect: listWithout(ids.template) },
    ],
  },
  'POST /api/templates': {
    attempts: (ids) => [
      {
        method: 'POST',
        url: '/api/templates',
        json: { workflowId: ids.workflow },
        expect: missing('workflow_not_found'),
      },
      {
        method: 'POST',
        url: '/api/templates',
        json: { graph: storyGraph(), preview: { runId: ids.run } },
        expect: missing('run_not_found'),
      },
      {
        method: 'POST',
        url: '/api/templates',
        json: { graph: storyGraph(), preview: { artifactId: ids.artifact.id } },
        expect: missing('artifact_not_found'),
      },
    ],
  },
  'POST /api/templates/import': {
    // A template file carries everything inline: nothing of anyone's to point at.
    attempts: () => [
      { method: 'POST', url: '/api/templates/import', json: {}, expect: { status: 400 } },
    ],
  },
  'GET /api/templates/:id': {
    attempts: (ids) => [
      {
        method: 'GET',
        url: `/api/templates/${ids.template}`,
        expect: missing('template_not_found'),
      },
    ],
  },
  'PUT /api/templates/:id': {
    attempts: (ids) => [
      {
        method: 'PUT',
        url: `/api/templates/${ids.template}`,
        json: { graph: storyGraph() },
        expect: missing('template_not_found'),
      },
      {
        method: 'PUT',
        url: '/api/templates/character-short',
        json: { graph: storyGraph() },
        expect: { status: 403, code: 'template_read_only' },
      },
    ],
  },
  'DELETE /api/templates/:id': {
    attempts: (ids) => [
      {
        method: 'DELETE',
        url: `/api/templates/${ids.template}`,
        expect: missing('template_not_found'),
      },
      {
        method: 'DELETE',
        url: '/api/templates/character-short',
        expect: { status: 403, code: 'template_read_only' },
      },
    ],
  },
  'GET /api/templates/:id/versions': {
    attempts: (ids) => [
      {
        method: 'GET',
        url: `/api/templates/${ids.template}/versions`,
        expect: missing('template_not_found'),
      },
    ],
  },
  'GET /api/templates/:id/export': {
    attempts: (ids) => [
      {
        method: 'GET',
        url: `/api/templates/${ids.template}/export`,
        expect: missing('template_not_found'),
      },
    ],
  },
  'POST /api/templates/:id/instantiate': {
    attempts: (ids) => [
      {
        method: 'POST',
        url: `/api/templates/${ids.template}/instantiate`,
        json: {},
        expect: missing('template_not_found'),
      },
    ],
  },

  // ---- runs ----
  'POST /api/runs': {
    attempts: (ids) => [
      {
        method: 'POST',
        url: '/api/runs',
        json: { workflowId: ids.workflow },
        expect: missing('workflow_not_found'),
      },
      {
        method: 'POST',
        url: '/api/runs',
        json: { templateId: ids.template },
        expect: missing('template_not_found'),
      },
      {
        method: 'POST',
        url: '/api/runs',
        json: { graph: aliceGraph(ids) },
        expect: (response) => {
          expect(response.statusCode, response.body).toBe(400);
          const { error } = response.json<{
            error: { code: string; details: { errors: unknown[] } };
          }>();
          expect(error.code).toBe('invalid_graph');
          expect(error.details.errors).toEqual([
            expect.objectContaining({ code: 'character_not_found', nodeId: 'hero' }),
            expect.objectContaining({ code: 'artifact_not_found', nodeId: 'plate' }),
          ]);
        },
      },
    ],
  },
  'GET /api/runs': {
    attempts: (ids) => [
      { method: 'GET', url: '/api/runs', expect: listWithout(ids.run) },
      { method: 'GET', url: `/api/runs?workflowId=${ids.workflow}`, expect: listWithout(ids.run) },
    ],
  },
  'GET /api/runs/:id': {
    attempts: (ids) => [
      { method: 'GET', url: `/api/runs/${ids.run}`, expect: missing('run_not_found') },
    ],
  },
  'GET /api/runs/:id/graph': {
    attempts: (ids) => [
      { method: 'GET', url: `/api/runs/${ids.run}/graph`, expect: missing('run_not_found') },
    ],
  },
  'POST /api/runs/:id/cancel': {
    attempts: (ids) => [
      { method: 'POST', url: `/api/runs/${ids.run}/cancel`, expect: missing('run_not_found') },
    ],
  },
  'POST /api/runs/:id/nodes/:nodeId/cancel': {
    attempts: (ids) => [
      {
        method: 'POST',
        url: `/api/runs/${ids.run}/nodes/story/cancel`,
        expect: missing('run_not_found'),
      },
    ],
  },
  'POST /api/runs/:id/rerun': {
    attempts: (ids) => [
      {
        method: 'POST',
        url: `/api/runs/${ids.run}/rerun`,
        json: {},
        expect: missing('run_not_found'),
      },
    ],
  },
  'POST /api/runs/:id/regenerate': {
    attempts: (ids) => [
      {
        method: 'POST',
        url: `/api/runs/${ids.run}/regenerate`,
        json: { nodeId: 'story', index: 0 },
        expect: missing('run_not_found'),
      },
    ],
  },

  // ---- characters ----
  'GET /api/characters': {
    attempts: (ids) => [
      { method: 'GET', url: '/api/characters', expect: listWithout(ids.character) },
    ],
  },
  'POST /api/characters': {
    attempts: (ids) => [
      {
        method: 'POST',
        url: '/api/characters',
        json: { name: 'Borrowed', referenceImages: [ids.characterImage] },
        expect: { status: 400, code: 'artifact_not_found' },
      },
    ],
  },
  'GET /api/characters/:id': {
    attempts: (ids) => [
      {
        method: 'GET',
        url: `/api/characters/${ids.character}`,
        expect: missing('character_not_found'),
      },
    ],
  },
  'PUT /api/characters/:id': {
    attempts: (ids) => [
      {
        method: 'PUT',
        url: `/api/characters/${ids.character}`,
        json: { name: 'Renamed by bob' },
        expect: missing('character_not_found'),
      },
      {
        method: 'PUT',
        url: `/api/characters/${SHIPPED_CHARACTER}`,
        json: { name: 'Renamed by bob' },
        expect: { status: 403, code: 'read_only' },
      },
    ],
  },
  'DELETE /api/characters/:id': {
    attempts: (ids) => [
      {
        method: 'DELETE',
        url: `/api/characters/${ids.character}`,
        expect: missing('character_not_found'),
      },
      {
        method: 'DELETE',
        url: `/api/characters/${SHIPPED_CHARACTER}`,
        expect: { status: 403, code: 'read_only' },
      },
    ],
  },
  'POST /api/characters/:id/similar': {
    attempts: (ids) => [
      {
        method: 'POST',
        url: `/api/characters/${ids.character}/similar`,
        json: {},
        expect: missing('character_not_found'),
      },
    ],
  },
  // Search by photo: alice's face (another shot of it) finds nothing of hers for bob.
  'POST /api/characters/similar': {
    attempts: (ids) => [
      {
        method: 'POST',
        url: '/api/characters/similar',
        form: () => faceForm('image', true),
        expect: (response) => {
          expect(response.statusCode, response.body).toBe(200);
          expect(response.body).not.toContain(ids.character);
        },
      },
    ],
  },

  // ---- artifacts ----
  'POST /api/artifacts': {
    attempts: () => [
      {
        method: 'POST',
        url: '/api/artifacts',
        form: async () => imageForm(200),
        expect: status(201),
      },
    ],
  },
  'GET /api/artifacts/:id': {
    attempts: (ids) => [
      {
        method: 'GET',
        url: `/api/artifacts/${ids.artifact.id}`,
        expect: missing('artifact_not_found'),
      },
      {
        method: 'GET',
        url: `/api/artifacts/${ids.characterImage}`,
        expect: missing('artifact_not_found'),
      },
    ],
  },
  'HEAD /api/artifacts/:id': {
    attempts: (ids) => [
      { method: 'HEAD', url: `/api/artifacts/${ids.artifact.id}`, expect: { status: 404 } },
    ],
  },
};

/** The error code of a JSON error answer, else undefined (pages, metrics, HEAD). */
function errorCode(response: LightMyRequestResponse): string | undefined {
  try {
    return (JSON.parse(response.body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

function ok200(response: LightMyRequestResponse): void {
  expect(response.statusCode, response.body).toBe(200);
}

/** Routes as `METHOD /path/:param`, read from the router. */
function routesOf(server: LabServer): string[] {
  return routerRoutes(server).map((route) => `${route.method} ${route.url}`);
}

describe.skipIf(skip)(
  'ownership matrix: two users × every route and socket event (LAB_AUTH=on)',
  () => {
    let lab: TestEngine;
    let server: LabServer;
    let url: string;
    let scratch: string;
    let accounts: AccountService;
    const tokens = {} as Record<'alice' | 'bob' | 'admin', string>;
    let bobCookie = '';
    const ids = {} as Ids;
    const sockets: Socket[] = [];

    const headersOf = (actor: Actor): Record<string, string> => {
      if (actor === 'anonymous') return {};
      if (actor === 'bob-session') {
        // A browser page of the studio: its cookie, and the Origin every browser sends.
        return { cookie: bobCookie, origin: url, host: new URL(url).host };
      }
      return { authorization: `Bearer ${tokens[actor]}` };
    };

    const send = async (actor: Actor, attempt: Omit<Attempt, 'expect'>) => {
      const options: InjectOptions = {
        method: attempt.method,
        url: attempt.url,
        headers: headersOf(attempt.signedOut ? 'anonymous' : actor),
      };
      if (attempt.form) options.payload = await attempt.form();
      else if (attempt.json !== undefined) {
        options.payload = JSON.stringify(attempt.json);
        options.headers = { ...options.headers, 'content-type': 'application/json' };
      }
      return server.app.inject(options);
    };

    /** As `send`, failing unless the answer has `expected` status. */
    const must = async <T>(actor: Actor, attempt: Omit<Attempt, 'expect'>, expected: number) => {
      const response = await send(actor, attempt);
      expect(response.statusCode, `${attempt.method} ${attempt.url}: ${response.body}`).toBe(
        expected,
      );
      return response.json<T>();
    };

    /** Everything stored that is alice's (or shipped), as JSON text in a stable order. */
    const aliceState = async (): Promise<string> => {
      const { documents } = lab.engine;
      const mine = { where: { ownerId: ids.aliceUser }, limit: 100_000 };
      const byId = <T extends { id: string }>(records: T[]) =>
        [...records].sort((a, b) => a.id.localeCompare(b.id));
      const runs = byId(await documents.runs.list(mine));
      return JSON.stringify({
        user: await documents.users.get(ids.aliceUser),
        tokens: byId(await documents.apiTokens.list({ where: { userId: ids.aliceUser } })),
        workflows: byId(await documents.workflows.list(mine)),
        templates: byId(await documents.templates.list(mine)),
        templateVersions: byId(await documents.templateVersions.list(mine)),
        characters: byId(await documents.characters.list(mine)),
        artifacts: byId(await documents.artifacts.list(mine)),
        grants: byId(await documents.artifactGrants.list(mine)),
        shares: byId(await documents.shares.list(mine)),
        runs,
        events: await Promise.all(runs.map((run) => documents.events.list(run.id))),
        shipped: await documents.characters.get(SHIPPED_CHARACTER),
        invites: byId(await documents.invites.list({ limit: 100 })),
      });
    };

    /** What of alice's no answer to bob may carry (her film's name may: bob's copy has it). */
    const aliceIds = () => [
      ids.workflow,
      ids.template,
      ids.character,
      ids.artifact.id,
      ids.characterImage,
      ids.run,
      ids.share,
      ids.aliceToken,
    ];

    beforeAll(async () => {
      lab = await startTestEngine({ startWorker: false });
      scratch = await mkdtemp(join(tmpdir(), 'charlab-ownership-'));
      server = buildServer(lab.engine, {
        auth: 'on',
        editorDir: join(scratch, 'no-editor'),
        rateLimit: false,
        bootstrapAdmin: { username: 'root', password: 'root-password-1' },
      });
      ({ url } = await server.listen('127.0.0.1', 0));
      await server.app.ready();

      const now = new Date().toISOString();
      await lab.engine.documents.characters.put({
        id: SHIPPED_CHARACTER,
        name: 'Shipped hero',
        description: 'shipped with the studio',
        referenceImages: [],
        ownerId: PUBLIC_OWNER,
        createdAt: now,
        updatedAt: now,
        revision: 1,
      });
      accounts = new AccountService(lab.engine.documents);
      const tokenFor = async (username: string, role: 'admin' | 'member', password?: string) => {
        const user = password
          ? await accounts.createUser({ username, password, role })
          : (await accounts.listUsers()).find((candidate) => candidate.username === username)!;
        const { token, record } = await accounts.createToken(
          { id: user.id, username, role, via: 'session' },
          { name: `${username}'s CLI` },
        );
        return { user, token, tokenId: record.id };
      };
      const alice = await tokenFor('alice', 'member', 'alice-password-1');
      const bob = await tokenFor('bob', 'member', 'bob-password-12');
      const admin = await tokenFor('root', 'admin');
      tokens.alice = alice.token;
      tokens.bob = bob.token;
      tokens.admin = admin.token;
      ids.aliceUser = alice.user.id;
      ids.aliceToken = alice.tokenId;

      const signIn = await server.app.inject({
        method: 'POST',
        url: '/api/auth/sign-in',
        payload: { username: 'bob', password: 'bob-password-12' },
      });
      expect(signIn.statusCode, signIn.body).toBe(200);
      bobCookie = String(signIn.headers['set-cookie']).split(';')[0];

      // Alice makes one of everything.
      ids.artifact = await must<ArtifactRef>(
        'alice',
        { method: 'POST', url: '/api/artifacts', form: async () => imageForm(77) },
        201,
      );
      const character = await must<{ id: string; referenceImages: ArtifactRef[] }>(
        'alice',
        {
          method: 'POST',
          url: '/api/characters',
          form: () => faceForm('images', false, { name: 'Alice' }),
        },
        201,
      );
      ids.character = character.id;
      ids.characterImage = character.referenceImages[0].id;
      ids.workflow = (
        await must<{ id: string }>(
          'alice',
          { method: 'POST', url: '/api/workflows', json: { graph: aliceGraph(ids) } },
          201,
        )
      ).id;
      ids.template = (
        await must<{ id: string }>(
          'alice',
          {
            method: 'POST',
            url: '/api/templates',
            json: { workflowId: ids.workflow, name: "Alice's template" },
          },
          201,
        )
      ).id;
      ids.run = (
        await must<{ runId: string }>(
          'alice',
          { method: 'POST', url: '/api/runs', json: { workflowId: ids.workflow } },
          202,
        )
      ).runId;
      const share = await must<{ id: string; token: string }>(
        'alice',
        { method: 'POST', url: `/api/workflows/${ids.workflow}/shares`, json: {} },
        201,
      );
      ids.share = share.id;
      ids.shareToken = share.token;
      ids.invite = (
        await must<{ id: string }>('admin', { method: 'POST', url: '/api/invites', json: {} }, 201)
      ).id;
    }, 180_000);

    afterAll(async () => {
      for (const socket of sockets) socket.close();
      await server?.close();
      // No worker ran these runs: stop their workflows so nothing lingers on Temporal.
      if (lab) {
        await terminateAllRuns(lab.engine, 'ownership matrix over');
        await lab.close();
      }
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    it('has a row for every route the router holds, and no row for a route it does not', () => {
      const routed = routesOf(server);
      expect(routed.length).toBeGreaterThan(40);
      // Fastify answers HEAD for every GET with the GET's handler: its row covers both.
      const derivedHead = (route: string) =>
        route.startsWith('HEAD ') &&
        !ROUTES[route] &&
        ROUTES[`GET ${route.slice(5)}`] !== undefined;
      const uncovered = routed.filter((route) => !ROUTES[route] && !derivedHead(route));
      const stale = Object.keys(ROUTES).filter((route) => !routed.includes(route));
      expect({ uncovered, stale }).toEqual({ uncovered: [], stale: [] });
    });

    /** The attempts of a row, with a HEAD twin for each GET the router also answers as HEAD. */
    const attemptsOf = (route: string, spec: RouteCase): { attempt: Attempt; twinOf?: Attempt }[] =>
      spec.attempts(ids).flatMap((attempt) => {
        const twin =
          attempt.method === 'GET' && !ROUTES[`HEAD ${route.slice(4)}`]
            ? [{ attempt: { ...attempt, method: 'HEAD' as const }, twinOf: attempt }]
            : [];
        return [{ attempt }, ...twin];
      });

    for (const actor of ['bob', 'bob-session'] as const) {
      it(`${actor}: every route refuses alice's things, shows none of them, changes none of them`, async () => {
        const before = await aliceState();
        const statusOfGet = new Map<Attempt, number>();
        for (const [route, spec] of Object.entries(ROUTES)) {
          for (const { attempt, twinOf } of attemptsOf(route, spec)) {
            const response = await send(actor, attempt);
            const what = `${route}: ${attempt.method} ${attempt.url} → ${response.statusCode} ${response.body.slice(0, 400)}`;
            if (twinOf) {
              // HEAD says what GET says, without the body.
              expect(response.statusCode, what).toBe(statusOfGet.get(twinOf));
              expect(response.body, what).toBe('');
            } else if (typeof attempt.expect === 'function') attempt.expect(response);
            else {
              expect(response.statusCode, what).toBe(attempt.expect.status);
              if (attempt.expect.code && attempt.method !== 'HEAD') {
                expect(response.json<{ error: { code: string } }>().error.code, what).toBe(
                  attempt.expect.code,
                );
              }
            }
            statusOfGet.set(attempt, response.statusCode);
            if (response.statusCode < 300 && !attempt.mayShowAlice) {
              for (const secret of aliceIds()) expect(response.body, what).not.toContain(secret);
            }
            expect(await aliceState(), `alice's data changed by ${what}`).toBe(before);
          }
        }
      }, 300_000);
    }

    it('signed out: 401 unauthenticated on every route not marked public; public ones answer', async () => {
      for (const [route, spec] of Object.entries(ROUTES)) {
        for (const { attempt } of attemptsOf(route, spec).slice(0, 2)) {
          const response = await send('anonymous', attempt);
          const what = `${route}: ${attempt.method} ${attempt.url} → ${response.statusCode} ${response.body.slice(0, 300)}`;
          if (spec.public) {
            // Answered by the route itself (a wrong password is its own 401), never the gate.
            expect(errorCode(response), what).not.toBe('unauthenticated');
            if (attempt.method === 'HEAD') expect(response.statusCode, what).not.toBe(401);
          } else {
            expect(response.statusCode, what).toBe(401);
            if (attempt.method !== 'HEAD') {
              expect(response.json<{ error: { code: string } }>().error.code, what).toBe(
                'unauthenticated',
              );
            }
          }
        }
      }
      // A token that is no token is refused, not taken for "signed out".
      const forged = await server.app.inject({
        method: 'GET',
        url: `/api/workflows/${ids.workflow}`,
        headers: { authorization: `Bearer ${tokens.alice.slice(0, -4)}abcd` },
      });
      expect([forged.statusCode, forged.json().error.code]).toEqual([401, 'invalid_token']);
    });

    it("the admin reads alice's things; alice reads her own", async () => {
      for (const actor of ['admin', 'alice'] as const) {
        await must(actor, { method: 'GET', url: `/api/workflows/${ids.workflow}` }, 200);
        await must(actor, { method: 'GET', url: `/api/workflows/${ids.workflow}/export` }, 200);
        await must(actor, { method: 'GET', url: `/api/characters/${ids.character}` }, 200);
        await must(actor, { method: 'GET', url: `/api/runs/${ids.run}` }, 200);
        await must(actor, { method: 'GET', url: `/api/runs/${ids.run}/graph` }, 200);
        await must(actor, { method: 'GET', url: `/api/workflows/${ids.workflow}/shares` }, 200);
        await must(actor, { method: 'GET', url: `/api/templates/${ids.template}` }, 200);
        await must(actor, { method: 'GET', url: `/api/templates/${ids.template}/versions` }, 200);
        await must(actor, { method: 'GET', url: `/api/templates/${ids.template}/export` }, 200);
        const bytes = await send(actor, {
          method: 'GET',
          url: `/api/artifacts/${ids.artifact.id}`,
        });
        expect(bytes.statusCode).toBe(200);
        expect(bytes.rawPayload.equals(pngBytes(12, 12, 77))).toBe(true);
      }
      // Her own lists do show her things (the lists bob got are not empty by accident).
      const workflows = await must<{ id: string }[]>(
        'alice',
        { method: 'GET', url: '/api/workflows' },
        200,
      );
      expect(workflows.map((w) => w.id)).toContain(ids.workflow);
      const runs = await must<{ id: string }[]>('alice', { method: 'GET', url: '/api/runs' }, 200);
      expect(runs.map((r) => r.id)).toContain(ids.run);
      const characters = await must<{ id: string }[]>(
        'alice',
        { method: 'GET', url: '/api/characters' },
        200,
      );
      expect(characters.map((c) => c.id)).toContain(ids.character);
      const templates = await must<{ id: string }[]>(
        'alice',
        { method: 'GET', url: '/api/templates' },
        200,
      );
      expect(templates.map((t) => t.id)).toContain(ids.template);
      await must('alice', { method: 'GET', url: `/api/templates/${ids.template}` }, 200);
      // The photo search bob ran finds her character for her.
      const found = await send('alice', {
        method: 'POST',
        url: '/api/characters/similar',
        form: () => faceForm('image', true),
      });
      expect(found.statusCode, found.body).toBe(200);
      expect(found.body).toContain(ids.character);
    });

    describe('Socket.IO', () => {
      const open = (
        auth: Record<string, string> | undefined,
        headers: Record<string, string> = {},
      ) => {
        const socket = connect(url, {
          transports: ['websocket'],
          reconnection: false,
          ...(auth ? { auth } : {}),
          extraHeaders: headers,
        });
        sockets.push(socket);
        return socket;
      };
      /** Resolves once connected (also when that happened before the call), rejects if refused. */
      const connected = (socket: Socket) =>
        socket.connected
          ? Promise.resolve()
          : new Promise<void>((resolve, reject) => {
              socket.once('connect', () => resolve());
              socket.once('connect_error', reject);
            });

      it('every event a browser socket handles is in this matrix', async () => {
        const socket = open({ token: tokens.bob });
        await connected(socket);
        const serverSide = server.io.of('/').sockets.get(socket.id!)!;
        const handled = serverSide
          .eventNames()
          .filter((name) => name !== 'disconnect' && name !== 'disconnecting' && name !== 'error');
        expect(handled.sort()).toEqual(['run:unwatch', 'run:watch']);
      });

      it("bob's run:watch of alice's run answers run_not_found (token and session); alice and the admin get it", async () => {
        const before = await aliceState();
        const viaToken = open({ token: tokens.bob });
        const viaCookie = open(undefined, { cookie: bobCookie, origin: url });
        for (const socket of [viaToken, viaCookie]) {
          await connected(socket);
          const ack = (await socket
            .timeout(10_000)
            .emitWithAck('run:watch', { runId: ids.run, sinceSeq: 0 })) as {
            error?: { code: string };
          };
          expect(ack.error?.code).toBe('run_not_found');
          expect(JSON.stringify(ack)).not.toContain(ids.workflow);
          // Unwatching what one never watched changes nothing.
          await socket.timeout(10_000).emitWithAck('run:unwatch', { runId: ids.run });
        }
        for (const actor of ['alice', 'admin'] as const) {
          const socket = open({ token: tokens[actor] });
          await connected(socket);
          const ack = (await socket
            .timeout(10_000)
            .emitWithAck('run:watch', { runId: ids.run, sinceSeq: 0 })) as {
            runId?: string;
            error?: unknown;
          };
          expect(ack.error).toBeUndefined();
          expect(ack.runId).toBe(ids.run);
        }
        expect(await aliceState()).toBe(before);
      });

      it('a signed-out socket, or one with a forged token, is refused; a personal token is no worker token', async () => {
        for (const socket of [open(undefined), open({ token: 'clab_pat_nope_nope' })]) {
          await expect(connected(socket)).rejects.toThrow(/unauthenticated/);
        }
        const worker = connect(`${url}/workers`, {
          transports: ['websocket'],
          reconnection: false,
          auth: { token: tokens.bob },
        });
        sockets.push(worker);
        await expect(connected(worker)).rejects.toThrow();
      });
    });

    describe('a run uses only what its owner may read', () => {
      it("bob's run naming alice's character answers 400 naming the node, and nothing starts", async () => {
        const runsBefore = await lab.engine.documents.runs.list({ limit: 1_000 });
        const graph = graphDoc(
          "Bob's film",
          [
            { id: 'script', type: 'script-input', params: { text: 'Bob runs.' } },
            { id: 'borrowed', type: 'character-loader', params: { characterId: ids.character } },
            { id: 'story', type: 'gpt-storyboard', params: { provider: 'local', shots: 1 } },
          ],
          [
            ['script', 'text', 'story', 'script'],
            ['borrowed', 'character', 'story', 'character'],
          ],
        );
        const refused = await send('bob', { method: 'POST', url: '/api/runs', json: { graph } });
        expect(refused.statusCode, refused.body).toBe(400);
        const { error } = refused.json<{
          error: { code: string; message: string; details: { errors: unknown[] } };
        }>();
        expect(error.code).toBe('invalid_graph');
        expect(error.details.errors).toEqual([
          {
            code: 'character_not_found',
            nodeId: 'borrowed',
            param: 'characterId',
            message: expect.stringContaining('"borrowed"'),
          },
        ]);
        // Missing or someone else's: the same answer, so ids cannot be probed.
        const nobody = structuredClone(graph);
        nobody.nodes[1].params = { characterId: 'char_nobody' };
        const unknown = await send('bob', {
          method: 'POST',
          url: '/api/runs',
          json: { graph: nobody },
        });
        expect(unknown.statusCode).toBe(400);
        expect(unknown.body.replaceAll('char_nobody', ids.character)).toBe(refused.body);
        expect(await lab.engine.documents.runs.list({ limit: 1_000 })).toEqual(runsBefore);

        // With the shipped character it starts (bob may read it).
        const shipped = structuredClone(graph);
        shipped.nodes[1].params = { characterId: SHIPPED_CHARACTER };
        const started = await must<{ runId: string }>(
          'bob',
          { method: 'POST', url: '/api/runs', json: { graph: shipped } },
          202,
        );

        // A rerun of bob's own run with alice's character swapped in is refused the same way.
        const rerun = await send('bob', {
          method: 'POST',
          url: `/api/runs/${started.runId}/rerun`,
          json: { params: { borrowed: { characterId: ids.character } } },
        });
        expect(rerun.statusCode, rerun.body).toBe(400);
        expect(rerun.json().error.details.errors).toEqual([
          expect.objectContaining({ code: 'character_not_found', nodeId: 'borrowed' }),
        ]);
        expect(await lab.engine.documents.runs.list({ limit: 1_000 })).toHaveLength(
          runsBefore.length + 1,
        );
      });

      it("bob's template instantiated with alice's character answers 400 and makes no workflow", async () => {
        const graph = aliceGraph({ character: SHIPPED_CHARACTER, artifact: ids.artifact });
        // Bob's own graph: the image is his upload (the same bytes as alice's give him a grant).
        const own = await must<ArtifactRef>(
          'bob',
          { method: 'POST', url: '/api/artifacts', form: async () => imageForm(31) },
          201,
        );
        graph.nodes[2].params = { image: own };
        const template = await must<{ id: string }>(
          'bob',
          { method: 'POST', url: '/api/templates', json: { graph } },
          201,
        );
        const workflowsBefore = await must<unknown[]>(
          'bob',
          { method: 'GET', url: '/api/workflows' },
          200,
        );
        const refused = await send('bob', {
          method: 'POST',
          url: `/api/templates/${template.id}/instantiate`,
          json: { values: { 'hero.characterId': ids.character } },
        });
        expect(refused.statusCode, refused.body).toBe(400);
        expect(refused.json().error.details.errors).toEqual([
          expect.objectContaining({ code: 'character_not_found', nodeId: 'hero' }),
        ]);
        expect(await must<unknown[]>('bob', { method: 'GET', url: '/api/workflows' }, 200)).toEqual(
          workflowsBefore,
        );
        // Running it directly with those values is refused the same way.
        const run = await send('bob', {
          method: 'POST',
          url: '/api/runs',
          json: { templateId: template.id, values: { 'hero.characterId': ids.character } },
        });
        expect(run.statusCode, run.body).toBe(400);
        expect(run.json().error.code).toBe('invalid_graph');
        // With his own (shipped) character it is a workflow as usual.
        await must(
          'bob',
          { method: 'POST', url: `/api/templates/${template.id}/instantiate`, json: {} },
          201,
        );
      });
    });
  },
);
