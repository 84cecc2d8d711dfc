/**
 * The DocumentStore conformance suite: what every adapter (SQLite, MongoDB) must do the same
 * way. An adapter's test file calls describeDocumentStoreConformance with a harness factory.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunEventInput } from '../../runs/events';
import type {
  ApiTokenRecord,
  ArtifactGrantRecord,
  CacheEntry,
  CharacterRecord,
  Collection,
  DocumentStore,
  ExternalTaskRecord,
  InviteRecord,
  RunRecord,
  SessionRecord,
  ShareRecord,
  TemplateVersionRecord,
  UserRecord,
  WorkflowRecord,
} from '../ports';

/** One empty storage location (a temp dir, a fresh database) for one test. */
export interface DocumentStoreHarness {
  /** Opens a store instance; every instance of one harness sees the same data. */
  open(): Promise<DocumentStore>;
  /** Removes everything the harness created; stores are closed before this runs. */
  cleanup(): Promise<void>;
}

const AT = '2025-01-01T00:00:00.000Z';

/** A workflow record with a small but real graph document. */
export function sampleWorkflow(
  id: string,
  overrides: Partial<WorkflowRecord> = {},
): WorkflowRecord {
  return {
    id,
    name: `Workflow ${id}`,
    ownerId: 'local',
    createdAt: AT,
    updatedAt: AT,
    revision: 1,
    graph: {
      schema: 'character-lab/graph',
      version: 1,
      id,
      name: `Workflow ${id}`,
      description: 'ü – unicode survives',
      nodes: [
        {
          id: 'script',
          type: 'test-text',
          typeVersion: 1,
          position: { x: 0, y: 0 },
          params: { text: 'A hero walks in.' },
        },
      ],
      edges: [],
      exposed: [{ nodeId: 'script', param: 'text', label: 'Script' }],
      meta: {},
    },
    ...overrides,
  };
}

function event(runId: string, key: string, extra: Partial<RunEventInput> = {}): RunEventInput {
  return { key, runId, type: 'node.progress', nodeId: 'story', progress: 0.5, at: AT, ...extra };
}

function cacheEntry(key: string, outputs: Record<string, unknown>): CacheEntry {
  return { key, nodeType: 'test-writer', outputs, createdAt: AT };
}

/** Registers the DocumentStore conformance tests for one adapter. */
export function describeDocumentStoreConformance(
  name: string,
  factory: () => Promise<DocumentStoreHarness>,
): void {
  describe(`DocumentStore conformance: ${name}`, () => {
    let harness: DocumentStoreHarness;
    let opened: DocumentStore[] = [];
    let store: DocumentStore;

    async function open(): Promise<DocumentStore> {
      const instance = await harness.open();
      opened.push(instance);
      return instance;
    }

    async function reopen(): Promise<DocumentStore> {
      await store.close();
      opened = opened.filter((s) => s !== store);
      store = await open();
      return store;
    }

    beforeEach(async () => {
      harness = await factory();
      store = await open();
    });

    afterEach(async () => {
      for (const instance of opened) await instance.close();
      opened = [];
      await harness.cleanup();
    });

    it('reports healthy', async () => {
      expect(await store.health()).toBe(true);
    });

    it('gets, replaces and deletes a record', async () => {
      expect(await store.workflows.get('wf_1')).toBeNull();
      const first = sampleWorkflow('wf_1');
      await store.workflows.put(first);
      expect(await store.workflows.get('wf_1')).toEqual(first);

      const second = sampleWorkflow('wf_1', {
        name: 'Renamed',
        updatedAt: '2025-02-01T00:00:00.000Z',
      });
      await store.workflows.put(second);
      expect(await store.workflows.get('wf_1')).toEqual(second);
      expect(await store.workflows.list()).toHaveLength(1);

      expect(await store.workflows.delete('wf_1')).toBe(true);
      expect(await store.workflows.get('wf_1')).toBeNull();
      expect(await store.workflows.delete('wf_1')).toBe(false);
    });

    it('saves a workflow only from its current revision', async () => {
      await store.workflows.put(sampleWorkflow('wf_1'));
      const second = sampleWorkflow('wf_1', { name: 'Second', revision: 2 });
      expect(await store.workflows.putIfRevision(second, 1)).toBe(true);
      expect(await store.workflows.get('wf_1')).toEqual(second);

      // A save from revision 1 again is stale: refused, and the stored record is unchanged.
      const stale = sampleWorkflow('wf_1', { name: 'Stale', revision: 2 });
      expect(await store.workflows.putIfRevision(stale, 1)).toBe(false);
      expect(await store.workflows.get('wf_1')).toEqual(second);

      const third = sampleWorkflow('wf_1', { name: 'Third', revision: 3 });
      expect(await store.workflows.putIfRevision(third, 2)).toBe(true);
      expect((await store.workflows.get('wf_1'))?.revision).toBe(3);
      // A missing workflow is never created by a conditional save.
      expect(await store.workflows.putIfRevision(sampleWorkflow('wf_none'), 0)).toBe(false);
      expect(await store.workflows.get('wf_none')).toBeNull();
    });

    it('refuses a conditional save whose revision is not the next one', async () => {
      await store.workflows.put(sampleWorkflow('wf_1'));
      for (const [revision, expected] of [
        [1, 1],
        [3, 1],
        [1, -1],
        [2, 0.5],
      ]) {
        await expect(
          store.workflows.putIfRevision(sampleWorkflow('wf_1', { revision }), expected),
        ).rejects.toMatchObject({ code: 'invalid_record' });
      }
      expect(await store.workflows.get('wf_1')).toEqual(sampleWorkflow('wf_1'));
    });

    it('reads a workflow stored without a revision as revision 0', async () => {
      const { revision: _, ...old } = sampleWorkflow('wf_old');
      await store.workflows.put(old as WorkflowRecord);
      expect((await store.workflows.get('wf_old'))?.revision).toBe(0);
      expect((await store.workflows.list()).map((r) => r.revision)).toEqual([0]);
      expect(
        await store.workflows.putIfRevision(sampleWorkflow('wf_old', { revision: 2 }), 1),
      ).toBe(false);
      const saved = sampleWorkflow('wf_old', { name: 'Saved' });
      expect(await store.workflows.putIfRevision(saved, 0)).toBe(true);
      expect(await store.workflows.get('wf_old')).toEqual(saved);
    });

    it('lets exactly one of several concurrent saves from one revision win', async () => {
      const other = await open();
      for (let round = 1; round <= 5; round += 1) {
        const expected = round === 1 ? 1 : round;
        if (round === 1) await store.workflows.put(sampleWorkflow('wf_race'));
        const saves = Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? store : other).workflows.putIfRevision(
            sampleWorkflow('wf_race', {
              name: `round ${round} writer ${i}`,
              revision: expected + 1,
            }),
            expected,
          ),
        );
        const won = await Promise.all(saves);
        expect(won.filter(Boolean)).toHaveLength(1);
        const stored = await other.workflows.get('wf_race');
        expect(stored?.revision).toBe(expected + 1);
        expect(stored?.name).toBe(`round ${round} writer ${won.indexOf(true)}`);
      }
    });

    it('creates a template version once: of concurrent creates of one id exactly one wins', async () => {
      const other = await open();
      const version = (writer: number): TemplateVersionRecord => {
        const { graph, ownerId, createdAt, updatedAt } = sampleWorkflow('tpl_race');
        return {
          id: 'tpl_race@2',
          templateId: 'tpl_race',
          version: 2,
          name: `writer ${writer}`,
          description: '',
          category: 'General',
          preview: null,
          graph,
          ownerId,
          createdAt,
          updatedAt,
        };
      };
      const won = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 === 0 ? store : other).templateVersions.create(version(i)),
        ),
      );
      expect(won.filter(Boolean)).toHaveLength(1);
      // The loser wrote nothing: the stored version is the winner's.
      expect(await other.templateVersions.get('tpl_race@2')).toEqual(version(won.indexOf(true)));
      expect(await store.templateVersions.list({ where: { templateId: 'tpl_race' } })).toHaveLength(
        1,
      );
      expect(await store.templates.get('tpl_race@2')).toBeNull();
    });

    it('creates a user once: of concurrent creates of one id exactly one wins', async () => {
      const other = await open();
      const won = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (i % 2 === 0 ? store : other).users.create(userRecord('usr_mara', `hash-${i}`)),
        ),
      );
      expect(won.filter(Boolean)).toHaveLength(1);
      // The losers wrote nothing: the stored user is the winner's, password hash and all.
      expect(await other.users.get('usr_mara')).toEqual(
        userRecord('usr_mara', `hash-${won.indexOf(true)}`),
      );
      expect(await store.users.create(userRecord('usr_mara', 'later'))).toBe(false);
      expect(await store.users.list()).toHaveLength(1);
      // put() still replaces (role changes, password changes), create() never does.
      await store.users.put({ ...userRecord('usr_mara', 'changed'), credentialsVersion: 2 });
      expect((await other.users.get('usr_mara'))?.passwordHash).toBe('changed');
    });

    it('round-trips the account records and lists them by their owner fields', async () => {
      const session: SessionRecord = {
        id: 'ses_0123456789abcdef',
        userId: 'usr_mara',
        secretHash: 'a'.repeat(64),
        credentialsVersion: 3,
        createdAt: AT,
        lastSeenAt: AT,
        expiresAt: '2025-01-15T00:00:00.000Z',
      };
      const token: ApiTokenRecord = {
        id: 'pat_0123456789abcdef',
        kind: 'personal',
        userId: 'usr_mara',
        name: 'laptop ü',
        secretHash: 'b'.repeat(64),
        createdAt: AT,
      };
      const worker: ApiTokenRecord = {
        ...token,
        id: 'wrk_0123456789abcdef',
        kind: 'worker',
        userId: 'usr_admin',
        name: 'gpu-1',
        lastUsedAt: AT,
      };
      const invite: InviteRecord = {
        id: 'inv_0123456789abcdef',
        secretHash: 'c'.repeat(64),
        role: 'admin',
        createdBy: 'system',
        createdAt: AT,
        expiresAt: '2025-01-02T00:00:00.000Z',
      };
      const share: ShareRecord = {
        id: 'shr_0123456789abcdef',
        secretHash: 'd'.repeat(64),
        workflowId: 'wf_1',
        revision: 4,
        name: 'Hero intro',
        graph: sampleWorkflow('wf_1').graph,
        video: { id: 'e'.repeat(64), mime: 'video/mp4', bytes: 9, sha256: 'e'.repeat(64) },
        expiresAt: '2025-02-01T00:00:00.000Z',
        ownerId: 'usr_mara',
        createdAt: AT,
        updatedAt: AT,
      };
      const grant: ArtifactGrantRecord = {
        id: `usr_bob:${'f'.repeat(64)}`,
        ownerId: 'usr_bob',
        artifactId: 'f'.repeat(64),
        createdAt: AT,
      };
      await store.sessions.put(session);
      await store.sessions.put({ ...session, id: 'ses_other', userId: 'usr_bob' });
      await store.apiTokens.put(token);
      await store.apiTokens.put(worker);
      await store.invites.put(invite);
      await store.shares.put(share);
      await store.artifactGrants.put(grant);

      const reopened = await reopen();
      expect(await reopened.sessions.get(session.id)).toEqual(session);
      expect(await reopened.apiTokens.get(token.id)).toEqual(token);
      expect(await reopened.apiTokens.get(worker.id)).toEqual(worker);
      expect(await reopened.invites.get(invite.id)).toEqual(invite);
      expect(await reopened.shares.get(share.id)).toEqual(share);
      expect(await reopened.artifactGrants.get(grant.id)).toEqual(grant);

      const ids = (records: { id: string }[]) => records.map((r) => r.id).sort();
      expect(ids(await reopened.sessions.list({ where: { userId: 'usr_mara' } }))).toEqual([
        session.id,
      ]);
      expect(ids(await reopened.apiTokens.list({ where: { kind: 'worker' } }))).toEqual([
        worker.id,
      ]);
      expect(ids(await reopened.shares.list({ where: { workflowId: 'wf_1' } }))).toEqual([
        share.id,
      ]);
      expect(ids(await reopened.artifactGrants.list({ where: { ownerId: 'usr_bob' } }))).toEqual([
        grant.id,
      ]);
      // One collection's ids are not another's.
      expect(await reopened.sessions.get(token.id)).toBeNull();
      expect(await reopened.apiTokens.get(session.id)).toBeNull();
    });

    it('lets exactly one of two concurrent deletes of an invite succeed', async () => {
      // acceptInvite relies on this: the delete is what makes an invite single-use.
      const other = await open();
      for (let round = 0; round < 5; round += 1) {
        const id = `inv_race${round}`;
        await store.invites.put({
          id,
          secretHash: 'c'.repeat(64),
          role: 'member',
          createdBy: 'usr_admin',
          createdAt: AT,
          expiresAt: '2025-01-02T00:00:00.000Z',
        });
        const deleted = await Promise.all([
          store.invites.delete(id),
          other.invites.delete(id),
          store.invites.delete(id),
          other.invites.delete(id),
        ]);
        expect(deleted.filter(Boolean)).toHaveLength(1);
        expect(await other.invites.get(id)).toBeNull();
      }
    });

    it('keeps every collection separate', async () => {
      const character: CharacterRecord = {
        id: 'same',
        name: 'Mara',
        description: 'A courier',
        referenceImages: [
          { id: 'a'.repeat(64), mime: 'image/png', bytes: 3, sha256: 'a'.repeat(64) },
        ],
        lora: { name: 'mara_v2', weight: 0.8 },
        revision: 3,
        ownerId: 'local',
        createdAt: AT,
        updatedAt: AT,
      };
      const task: ExternalTaskRecord = {
        id: 'same',
        provider: 'runway',
        taskId: 'task-1',
        status: 'RUNNING',
        createdAt: AT,
        updatedAt: AT,
      };
      await store.workflows.put(sampleWorkflow('same'));
      await store.characters.put(character);
      await store.externalTasks.put(task);
      await store.artifacts.put({
        id: 'b'.repeat(64),
        sha256: 'b'.repeat(64),
        mime: 'video/mp4',
        bytes: 10,
        durationSec: 2.5,
        ownerId: 'local',
        createdAt: AT,
        filename: 'clip.mp4',
      });

      expect(await store.characters.get('same')).toEqual(character);
      expect(await store.externalTasks.get('same')).toEqual(task);
      expect((await store.workflows.get('same'))?.name).toBe('Workflow same');
      expect(await store.runs.get('same')).toBeNull();
      expect(await store.artifacts.list()).toHaveLength(1);

      expect(await store.characters.delete('same')).toBe(true);
      expect(await store.workflows.get('same')).not.toBeNull();
      expect(await store.externalTasks.get('same')).not.toBeNull();
    });

    it('lists with where, orderByDesc and limit', async () => {
      const runs = [
        ['r1', 'alice', 'wf_a', '2025-01-01T10:00:00.000Z'],
        ['r2', 'bob', 'wf_a', '2025-01-03T10:00:00.000Z'],
        ['r3', 'alice', 'wf_b', '2025-01-02T10:00:00.000Z'],
        ['r4', 'alice', 'wf_a', '2025-01-04T10:00:00.000Z'],
        ['r5', 'alice', undefined, '2025-01-05T10:00:00.000Z'],
      ] as const;
      for (const [id, ownerId, workflowId, createdAt] of runs) {
        await store.runs.put(runRecord(id, ownerId, workflowId, createdAt));
      }
      const ids = (records: RunRecord[]) => records.map((r) => r.id);

      expect(ids(await store.runs.list()).sort()).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
      expect(ids(await store.runs.list({ orderByDesc: 'createdAt' }))).toEqual([
        'r5',
        'r4',
        'r2',
        'r3',
        'r1',
      ]);
      expect(
        ids(
          await store.runs.list({
            where: { ownerId: 'alice' },
            orderByDesc: 'createdAt',
            limit: 2,
          }),
        ),
      ).toEqual(['r5', 'r4']);
      expect(
        ids(
          await store.runs.list({
            where: { ownerId: 'alice', workflowId: 'wf_a' },
            orderByDesc: 'createdAt',
          }),
        ),
      ).toEqual(['r4', 'r1']);
      expect(await store.runs.list({ where: { ownerId: 'carol' } })).toEqual([]);
      expect(await store.runs.list({ limit: 0 })).toEqual([]);
      expect(await store.workflows.list()).toEqual([]);
    });

    it('matches numbers, booleans and null exactly in where', async () => {
      const characters = [
        { id: 'c1', revision: 1, name: 'One', lora: undefined },
        { id: 'c2', revision: 2, name: 'Two', lora: { name: 'two', weight: 1 } },
        { id: 'c3', revision: 2, name: '2', lora: undefined },
      ];
      for (const c of characters) {
        await store.characters.put({
          id: c.id,
          name: c.name,
          description: '',
          referenceImages: [],
          revision: c.revision,
          ...(c.lora ? { lora: c.lora } : {}),
          ownerId: 'local',
          createdAt: AT,
          updatedAt: AT,
        });
      }
      const ids = async (where: Partial<CharacterRecord>) =>
        (await store.characters.list({ where })).map((r) => r.id).sort();
      expect(await ids({ revision: 2 })).toEqual(['c2', 'c3']);
      // The string "2" is not the number 2.
      expect(await ids({ name: '2' })).toEqual(['c3']);
      expect(await ids({ revision: '2' as unknown as number })).toEqual([]);

      await store.externalTasks.put({
        id: 't1',
        provider: 'runway',
        taskId: 'x',
        status: 'SUCCEEDED',
        createdAt: AT,
        updatedAt: AT,
        ...({ paid: true, note: null } as object),
      });
      await store.externalTasks.put({
        id: 't2',
        provider: 'runway',
        taskId: 'y',
        status: 'FAILED',
        createdAt: AT,
        updatedAt: AT,
        ...({ paid: false } as object),
      });
      const tasks = store.externalTasks as unknown as Collection<{
        id: string;
        paid: boolean;
        note: null;
      }>;
      expect((await tasks.list({ where: { paid: true } })).map((t) => t.id)).toEqual(['t1']);
      expect((await tasks.list({ where: { paid: false } })).map((t) => t.id)).toEqual(['t2']);
      // null matches a stored null and a missing field.
      expect((await tasks.list({ where: { note: null } })).map((t) => t.id).sort()).toEqual([
        't1',
        't2',
      ]);
    });

    it('numbers events per run from 1 without gaps', async () => {
      const first = await store.events.append(
        event('run_a', 'a1', { type: 'run.started', nodeId: undefined }),
      );
      expect(first).toMatchObject({ runId: 'run_a', type: 'run.started', seq: 1 });
      expect(first).not.toHaveProperty('key');
      const second = await store.events.append(event('run_a', 'a2'));
      expect(second?.seq).toBe(2);
      expect(second).toEqual({
        runId: 'run_a',
        type: 'node.progress',
        nodeId: 'story',
        progress: 0.5,
        at: AT,
        seq: 2,
      });

      // Another run counts on its own.
      expect((await store.events.append(event('run_b', 'a1')))?.seq).toBe(1);
      expect((await store.events.append(event('run_a', 'a3')))?.seq).toBe(3);

      const listed = await store.events.list('run_a');
      expect(listed.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(listed[1]).toEqual(second);
      expect((await store.events.list('run_b')).map((e) => e.seq)).toEqual([1]);
      expect(await store.events.list('run_none')).toEqual([]);
    });

    it('drops a redelivered event and keeps seq gapless', async () => {
      await store.events.append(event('run_a', 'k1'));
      const redelivered = await store.events.append(event('run_a', 'k1', { progress: 0.9 }));
      expect(redelivered).toBeNull();
      expect((await store.events.append(event('run_a', 'k2')))?.seq).toBe(2);
      const listed = await store.events.list('run_a');
      expect(listed).toHaveLength(2);
      expect(listed[0].progress).toBe(0.5);
    });

    it('lists events after sinceSeq', async () => {
      for (let i = 1; i <= 5; i += 1) await store.events.append(event('run_a', `k${i}`));
      expect((await store.events.list('run_a', 3)).map((e) => e.seq)).toEqual([4, 5]);
      expect((await store.events.list('run_a', 0)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
      expect(await store.events.list('run_a', 5)).toEqual([]);
      expect(await store.events.list('run_a', 99)).toEqual([]);
    });

    it('keeps seq unique and gapless when two instances append at once', async () => {
      const other = await open();
      const count = 40;
      const appends: Promise<unknown>[] = [];
      for (let i = 0; i < count; i += 1) {
        // Both instances deliver every event: each key must be stored once.
        appends.push(store.events.append(event('run_c', `k${i}`)));
        appends.push(other.events.append(event('run_c', `k${i}`)));
      }
      const results = (await Promise.all(appends)) as ({ seq: number } | null)[];
      const stored = results.filter((r) => r !== null);
      expect(stored).toHaveLength(count);
      expect(new Set(stored.map((r) => r.seq)).size).toBe(count);

      const listed = await other.events.list('run_c');
      expect(listed.map((e) => e.seq)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    });

    it('keeps the first cache entry for a key', async () => {
      expect(await store.cache.get('key-1')).toBeNull();
      const first = cacheEntry('key-1', { storyboard: { title: 'First' } });
      await store.cache.put(first);
      await store.cache.put(cacheEntry('key-1', { storyboard: { title: 'Second' } }));
      expect(await store.cache.get('key-1')).toEqual(first);
      expect(await store.cache.get('key-2')).toBeNull();
    });

    it('keeps everything across close and reopen', async () => {
      await store.workflows.put(sampleWorkflow('wf_keep'));
      await store.events.append(event('run_keep', 'k1'));
      await store.events.append(event('run_keep', 'k2'));
      await store.cache.put(cacheEntry('key-keep', { text: 'kept' }));

      const reopened = await reopen();
      expect(await reopened.workflows.get('wf_keep')).toEqual(sampleWorkflow('wf_keep'));
      expect((await reopened.events.list('run_keep')).map((e) => e.seq)).toEqual([1, 2]);
      expect(await reopened.events.append(event('run_keep', 'k2'))).toBeNull();
      expect((await reopened.events.append(event('run_keep', 'k3')))?.seq).toBe(3);
      expect((await reopened.cache.get('key-keep'))?.outputs).toEqual({ text: 'kept' });
    });
  });
}

function userRecord(id: string, passwordHash: string): UserRecord {
  return {
    id,
    username: id.replace(/^usr_/, ''),
    role: 'member',
    passwordHash,
    disabled: false,
    credentialsVersion: 1,
    createdAt: AT,
    updatedAt: AT,
  };
}

function runRecord(
  id: string,
  ownerId: string,
  workflowId: string | undefined,
  createdAt: string,
): RunRecord {
  const graph = sampleWorkflow(workflowId ?? 'adhoc').graph;
  return {
    id,
    ownerId,
    ...(workflowId ? { workflowId } : {}),
    createdAt,
    updatedAt: createdAt,
    graph,
    plan: {
      schema: 'character-lab/plan',
      version: 1,
      graphId: graph.id,
      graphName: graph.name,
      order: ['script'],
      nodes: {
        script: {
          id: 'script',
          type: 'test-text',
          typeVersion: 1,
          title: 'Script',
          params: { text: 'A hero walks in.' },
          inputs: {},
          parents: [],
          step: { kind: 'constant', outputs: { text: 'A hero walks in.' } },
        },
      },
      forceRun: [],
    },
    snapshot: { runId: id, status: 'queued', seq: 0, nodes: {}, outputs: {} },
    temporalWorkflowId: `run-${id}`,
  };
}
