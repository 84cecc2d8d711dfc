import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import { ApplicationFailure, noopMetricMeter } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activity as characterLoaderActivity } from '../../nodes/character-loader/activity';
import { graphSchema } from '../../nodes/definitions';
import { ArtifactService } from '../artifacts/artifact-service';
import { providerConfigFromEnv } from '../config';
import { FACE_EMBEDDING_MODEL } from '../faces/face-embedder';
import type { NodeActivityInput } from '../graph/plan';
import type { ArtifactRef } from '../graph/values';
import { nodeCacheKey } from '../runs/cache-key';
import { emptySnapshot } from '../runs/events';
import { openStores, type Stores } from '../stores';
import { graph, node } from '../testing/graph-builder';
import type { NodeActivity } from './node-api';
import { createNodeActivities } from './node-activities';

// Definitions as a node declares them: the shell reads fan-out from there.
const single = {};
const perShot = { fanOut: { input: 'storyboard', path: 'shots' } };

const storyboard = (provider: string): NodeActivityInput => ({
  runId: 'r1',
  nodeId: 'story',
  type: 'test-writer',
  typeVersion: 1,
  params: { provider, shots: 2 },
  inputs: { script: 'Hello. World.' },
  useCache: true,
});

const shots = (second: string) => ({
  title: 't',
  shots: [
    {
      index: 0,
      description: 'a',
      prompt: 'a',
      negativePrompt: '',
      camera: 'static',
      durationSec: 1,
    },
    {
      index: 1,
      description: second,
      prompt: second,
      negativePrompt: '',
      camera: 'static',
      durationSec: 1,
    },
  ],
});

const frame = (index: number, second: string): NodeActivityInput => ({
  runId: 'r2',
  nodeId: 'frames',
  type: 'test-painter',
  typeVersion: 1,
  params: { provider: 'local', width: 64, height: 64 },
  inputs: { storyboard: shots(second) },
  index,
  total: 2,
  useCache: true,
});

describe('nodeCacheKey', () => {
  it('keys `auto` by the provider it resolves to, explicit providers by name', () => {
    expect(nodeCacheKey(single, storyboard('auto'), 'local', 'local')).not.toBe(
      nodeCacheKey(single, storyboard('auto'), 'openai', 'local'),
    );
    expect(nodeCacheKey(single, storyboard('local'), 'local', 'local')).toBe(
      nodeCacheKey(single, storyboard('local'), 'local', 'local'),
    );
    expect(nodeCacheKey(single, storyboard('openai'), 'openai', 'local')).not.toBe(
      nodeCacheKey(single, storyboard('local'), 'local', 'local'),
    );
  });

  it('ignores the run and keys fan-out items by their own item only', () => {
    expect(nodeCacheKey(single, { ...storyboard('local'), runId: 'other' }, 'local', 'local')).toBe(
      nodeCacheKey(single, storyboard('local'), 'local', 'local'),
    );
    const key = (item: NodeActivityInput) => nodeCacheKey(perShot, item, 'local', 'local');
    expect(key(frame(0, 'b'))).toBe(key(frame(0, 'changed')));
    expect(key(frame(1, 'b'))).not.toBe(key(frame(1, 'changed')));
  });
});

describe('nodeCacheKey and regenerated items', () => {
  it('gives a rerolled item its own key and leaves every other key as it was', () => {
    const plain = nodeCacheKey(perShot, frame(1, 'b'), 'local', 'local');
    const rerolled = nodeCacheKey(perShot, { ...frame(1, 'b'), reroll: 1 }, 'local', 'local');
    expect(rerolled).not.toBe(plain);
    expect(nodeCacheKey(perShot, { ...frame(1, 'b'), reroll: 2 }, 'local', 'local')).not.toBe(
      rerolled,
    );
    // No reroll (or 0): the key of runs made before regenerating existed.
    expect(nodeCacheKey(perShot, { ...frame(1, 'b'), reroll: 0 }, 'local', 'local')).toBe(plain);
    expect(nodeCacheKey(perShot, frame(0, 'b'), 'local', 'local')).toBe(
      nodeCacheKey(perShot, frame(0, 'b'), 'local', 'local'),
    );
  });
});

describe('nodeCacheKey and owners', () => {
  it("keeps the local user's keys exactly as before accounts, and scopes every other owner's", () => {
    // Pinned: computed by the build before accounts. A change here empties every existing cache.
    expect(
      nodeCacheKey(
        {},
        {
          type: 'gpt-storyboard',
          typeVersion: 1,
          params: { provider: 'auto', shots: 2 },
          inputs: { script: 'Mira climbs. She looks out.' },
        },
        'local',
        'local',
      ),
    ).toBe('bff855512786bb352ebf2b68eb3f88b9ec6bf03883918ebb8cc9acefc2d145c1');
    const local = nodeCacheKey(single, storyboard('local'), 'local', 'local');
    const alice = nodeCacheKey(single, storyboard('local'), 'local', 'usr_alice');
    const bob = nodeCacheKey(single, storyboard('local'), 'local', 'usr_bob');
    expect(new Set([local, alice, bob]).size).toBe(3);
    expect(nodeCacheKey(single, storyboard('local'), 'local', 'usr_alice')).toBe(alice);
  });
});

/**
 * The activity shell itself, on real embedded stores. Temporal hands an activity its Context
 * through AsyncLocalStorage; this runs the shell inside one built the way the SDK's own
 * MockActivityEnvironment (@temporalio/testing 1.x, not a dependency here) builds it, so the
 * shell runs exactly as on a worker, without a Temporal server.
 */
describe('the activity shell acts for the run owner', () => {
  let root: string;
  let stores: Stores;
  let artifacts: ArtifactService;
  let calls: number;

  const implementations: Record<string, NodeActivity> = {
    'character-loader': characterLoaderActivity as NodeActivity,
    // Stands in for any node that makes media: it stores bytes through ctx.artifacts.
    'voice-over': async ({ inputs, ctx }) => {
      calls += 1;
      return {
        audio: await ctx.artifacts.putBytes(
          Buffer.from(`voice: ${String(inputs.text)}`),
          'audio/wav',
        ),
      };
    },
  };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'charlab-shell-test-'));
    stores = await openStores({ dataDir: root, env: {} });
    artifacts = new ArtifactService(stores.blobs, stores.documents);
    calls = 0;
  });
  afterEach(async () => {
    await stores.close();
    await rm(root, { recursive: true, force: true });
  });

  function activities() {
    return createNodeActivities({
      graph: graphSchema,
      implementations,
      sink: { post: () => {}, send: async () => {}, close: async () => {} },
      documents: stores.documents,
      blobs: stores.blobs,
      vectors: stores.vectors,
      artifacts,
      providers: providerConfigFromEnv({}),
    });
  }

  /** Runs `call` inside an activity Context, as the worker does. */
  function inActivity<T>(call: () => Promise<T>): Promise<T> {
    const info = { attempt: 1, heartbeatDetails: undefined } as unknown as Info;
    const context = new Context(
      info,
      new Promise<never>(() => {}),
      new AbortController().signal,
      () => {},
      undefined,
      new DefaultLogger('WARN'),
      noopMetricMeter,
      {},
    );
    return asyncLocalStorage.run(context, call);
  }

  async function storeRun(runId: string, ownerId: string): Promise<void> {
    // The record as the run service stores it; the shell reads only its owner.
    const doc = graph([node('script', 'script-input', { text: 'Hello.' })], []);
    const { plan } = graphSchema.prepare(doc);
    const now = '2026-01-01T00:00:00.000Z';
    await stores.documents.runs.put({
      id: runId,
      ownerId,
      createdAt: now,
      updatedAt: now,
      graph: doc,
      plan,
      snapshot: emptySnapshot(runId, plan.order),
      temporalWorkflowId: `run-${runId}`,
    });
  }

  const voice = (runId: string, text = 'Hello.'): NodeActivityInput => ({
    runId,
    nodeId: 'voice',
    type: 'voice-over',
    typeVersion: 1,
    params: { provider: 'local' },
    inputs: { text },
    useCache: true,
  });

  const load = (runId: string, characterId: string): NodeActivityInput => ({
    runId,
    nodeId: 'character',
    type: 'character-loader',
    typeVersion: 1,
    params: { characterId },
    inputs: {},
    useCache: false,
  });

  async function storeCharacter(id: string, ownerId: string): Promise<void> {
    // No reference images: an identity with none is current, so loading computes nothing.
    await stores.documents.characters.put({
      id,
      name: 'Mira',
      description: 'a climber in a red scarf',
      referenceImages: [],
      identity: { version: 1, model: FACE_EMBEDDING_MODEL, mean: [], threshold: 0, references: [] },
      ownerId,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      revision: 1,
    });
  }

  it("stores what a run makes as its owner's; a run without a record as the local user's", async () => {
    await storeRun('run_alice', 'usr_alice');
    const made = await inActivity(() => activities()['voice-over'](voice('run_alice')));
    const ref = made.outputs.audio as ArtifactRef;
    expect((await artifacts.get(ref.id))?.ownerId).toBe('usr_alice');
    expect(await artifacts.readableByOwner(ref.id, 'usr_bob')).toBeNull();

    const orphan = await inActivity(() =>
      activities()['voice-over'](voice('run_without_record', 'Other.')),
    );
    expect((await artifacts.get((orphan.outputs.audio as ArtifactRef).id))?.ownerId).toBe('local');
  });

  it("keeps each owner's cache to their own runs, and caches the local user's under the old key", async () => {
    await storeRun('run_alice', 'usr_alice');
    await storeRun('run_alice_2', 'usr_alice');
    await storeRun('run_bob', 'usr_bob');
    await storeRun('run_local', 'local');
    const shell = activities();
    const first = await inActivity(() => shell['voice-over'](voice('run_alice')));
    expect(first.cached).toBe(false);
    const definition = graphSchema.definition('voice-over')!;
    expect(
      await stores.documents.cache.get(nodeCacheKey(definition, voice('x'), 'local', 'usr_alice')),
    ).not.toBeNull();
    expect(
      await stores.documents.cache.get(nodeCacheKey(definition, voice('x'), 'local', 'local')),
    ).toBeNull();

    expect(await inActivity(() => shell['voice-over'](voice('run_alice_2')))).toEqual({
      outputs: first.outputs,
      cached: true,
    });
    expect(calls).toBe(1);
    // Bob's run of the same work does it again: alice's results are not his.
    expect((await inActivity(() => shell['voice-over'](voice('run_bob')))).cached).toBe(false);
    expect(calls).toBe(2);
    await inActivity(() => shell['voice-over'](voice('run_local')));
    expect(
      await stores.documents.cache.get(nodeCacheKey(definition, voice('x'), 'local', 'local')),
    ).not.toBeNull();
  });

  it("lets the owner read a cache hit's artifacts, whoever stored the bytes first", async () => {
    await storeRun('run_bob', 'usr_bob');
    const ref = await artifacts.putBytes(Buffer.from('narration'), 'audio/wav', {}, 'usr_alice');
    // An entry under bob's key naming alice's bytes (the same bytes made by both, say).
    const definition = graphSchema.definition('voice-over')!;
    await stores.documents.cache.put({
      key: nodeCacheKey(definition, voice('x'), 'local', 'usr_bob'),
      nodeType: 'voice-over',
      outputs: { audio: ref },
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    expect(await artifacts.readableByOwner(ref.id, 'usr_bob')).toBeNull();
    const hit = await inActivity(() => activities()['voice-over'](voice('run_bob')));
    expect(hit).toEqual({ outputs: { audio: ref }, cached: true });
    expect(await artifacts.readableByOwner(ref.id, 'usr_bob')).not.toBeNull();
  });

  it("loads only characters the run's owner may read, and answers another's as missing", async () => {
    await storeRun('run_alice', 'usr_alice');
    await storeRun('run_bob', 'usr_bob');
    await storeCharacter('chr_alice', 'usr_alice');
    await storeCharacter('chr_shipped', 'public');
    const shell = activities();
    const loaded = await inActivity(() =>
      shell['character-loader'](load('run_alice', 'chr_alice')),
    );
    expect(loaded.outputs.character).toMatchObject({ id: 'chr_alice' });
    expect(
      (await inActivity(() => shell['character-loader'](load('run_bob', 'chr_shipped')))).outputs
        .character,
    ).toMatchObject({ id: 'chr_shipped' });

    const refusal = async (characterId: string) => {
      const error = await inActivity(() =>
        shell['character-loader'](load('run_bob', characterId)),
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApplicationFailure);
      const failure = error as ApplicationFailure;
      return {
        nonRetryable: failure.nonRetryable,
        details: failure.details,
        message: failure.message.replace(characterId, '<id>'),
      };
    };
    // Alice's character and one that never existed look the same to bob's run.
    const hidden = await refusal('chr_alice');
    expect(hidden).toEqual(await refusal('chr_nobody'));
    expect(hidden).toMatchObject({
      nonRetryable: true,
      details: [{ code: 'character_not_found' }],
    });
  });
});
