/**
 * Cache hits resolved before a run starts, against real stores (SQLite documents, blob files)
 * in a temp dir. The cache is filled the way the activity shell fills it (same key function,
 * inputs wired the way the workflow wires them), so a key the server computes differently from
 * the worker's misses here.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activity as characterLoaderActivity } from '../../nodes/character-loader/activity';
import { graphSchema } from '../../nodes/definitions';
import { FACE_EMBEDDING_MODEL } from '../faces/face-embedder';
import type { CharacterIdentity } from '../faces/identity';
import { IdentityService } from '../faces/identity-service';
import type { ExecutionPlan } from '../graph/plan';
import type { ArtifactRef, Storyboard } from '../graph/values';
import { collectItems, wireInputs } from '../interpreter/plan-values';
import { FileBlobStore } from '../stores/blobs/files';
import { SqliteDocumentStore } from '../stores/documents/sqlite';
import type { CharacterRecord } from '../stores/ports';
import { SqliteVectorStore } from '../stores/vectors/sqlite';
import type { NodeContext } from '../worker/node-api';
import { edge, graph, node } from '../testing/graph-builder';
import { nodeCacheKey } from './cache-key';
import { resolveCacheHits, type CachePlanDeps } from './cache-plan';

let dir: string;
let documents: SqliteDocumentStore;
let blobs: FileBlobStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'charlab-cache-plan-'));
  documents = new SqliteDocumentStore(dir);
  blobs = new FileBlobStore(dir);
});
afterEach(async () => {
  await documents.close();
  await rm(dir, { recursive: true, force: true });
});

/** script → story → frames (one per shot) → clips (one per frame). */
function film(
  options: { storyParams?: Record<string, unknown>; framesParams?: object } = {},
): ExecutionPlan {
  const doc = graph(
    [
      node('script', 'script-input', { text: 'Mira climbs. She looks out.' }),
      node('story', 'gpt-storyboard', { provider: 'auto', shots: 2, ...options.storyParams }),
      node('frames', 'sd-lora-frame', { provider: 'auto', ...options.framesParams }),
      node('clips', 'runway-clip', { provider: 'auto' }),
    ],
    [
      edge('script.text', 'story.script'),
      edge('story.storyboard', 'frames.storyboard'),
      edge('frames.frames', 'clips.frames'),
      edge('story.storyboard', 'clips.storyboard'),
    ],
  );
  return graphSchema.prepare(doc).plan;
}

function storyboardOf(script: string, shots: number): Storyboard {
  return {
    title: script,
    shots: Array.from({ length: shots }, (_, index) => ({
      index,
      description: `${script} #${index}`,
      prompt: `${script} #${index}`,
      negativePrompt: '',
      camera: 'static',
      durationSec: 1,
    })),
  };
}

async function artifact(text: string, mime: string): Promise<ArtifactRef> {
  const stored = await blobs.put(Buffer.from(text), mime);
  return { id: stored.sha256, mime, bytes: stored.bytes, sha256: stored.sha256 };
}

/**
 * Runs `plan` the way a worker would on local providers for a run of `ownerId` and stores
 * every result in the cache under the activity shell's key, returning each node's outputs.
 */
async function runAsWorker(
  plan: ExecutionPlan,
  provider = 'local',
  ownerId = 'local',
): Promise<Map<string, Record<string, unknown>>> {
  const outputs = new Map<string, Record<string, unknown>>();
  for (const id of plan.order) {
    const planNode = plan.nodes[id];
    const step = planNode.step;
    if (step.kind === 'constant') {
      outputs.set(id, step.outputs);
      continue;
    }
    const definition = graphSchema.definition(planNode.type)!;
    const inputs = wireInputs(planNode, outputs);
    const base = {
      type: planNode.type,
      typeVersion: planNode.typeVersion,
      params: planNode.params,
    };
    const store = async (result: Record<string, unknown>, index?: number) => {
      const reroll = index === undefined ? 0 : (plan.rerolls?.[id]?.[String(index)] ?? 0);
      const key = nodeCacheKey(
        definition,
        { ...base, inputs, index, ...(reroll > 0 ? { reroll } : {}) },
        provider,
        ownerId,
      );
      await documents.cache.put({
        key,
        nodeType: planNode.type,
        outputs: result,
        createdAt: '2026-01-01T00:00:00.000Z',
      });
      return result;
    };
    if (planNode.type === 'character-loader') {
      // The real activity: what the server answers must equal what it returns.
      outputs.set(id, await loadAsWorker(planNode.params.characterId as string));
      continue;
    }
    if (planNode.type === 'gpt-storyboard') {
      const storyboard = storyboardOf(String(inputs.script), Number(planNode.params.shots));
      outputs.set(id, await store({ storyboard }));
      continue;
    }
    const shots = (inputs.storyboard as Storyboard).shots;
    const items: Record<string, unknown>[] = [];
    for (let index = 0; index < shots.length; index += 1) {
      items.push(
        planNode.type === 'sd-lora-frame'
          ? await store(
              { frames: await artifact(`frame ${shots[index].prompt}`, 'image/png') },
              index,
            )
          : await store({ clips: await artifact(`clip ${index}`, 'video/mp4') }, index),
      );
    }
    outputs.set(id, collectItems(step, items));
  }
  return outputs;
}

/**
 * The character-loader activity as the worker runs it, with the worker's identity service. Its
 * detector refuses: these tests store identities up front, and a loader that would have to
 * compute one is never answered on the server.
 */
async function loadAsWorker(characterId: string): Promise<Record<string, unknown>> {
  const vectors = new SqliteVectorStore(dir);
  try {
    const identities = new IdentityService({
      documents,
      vectors,
      blobs,
      detector: {
        model: FACE_EMBEDDING_MODEL,
        detect: () => Promise.reject(new Error('no face detection in these tests')),
      },
    });
    const ctx = {
      characters: documents.characters,
      identity: (character) => identities.identityOf(character),
      progress: () => {},
      log: () => {},
    } satisfies Partial<NodeContext>;
    return await characterLoaderActivity({
      params: { characterId },
      inputs: {},
      ctx: ctx as unknown as NodeContext,
    });
  } finally {
    await vectors.close();
  }
}

const deps = (extra: Partial<CachePlanDeps> = {}): CachePlanDeps => ({
  graph: graphSchema,
  cache: documents.cache,
  blobs,
  workerServices: {},
  ...extra,
});

describe('resolveCacheHits', () => {
  it('answers an unchanged graph whole: every node a cached constant with the stored outputs', async () => {
    const plan = film();
    const ran = await runAsWorker(plan);
    const resolved = await resolveCacheHits(plan, deps());
    expect(resolved.complete).toBe(true);
    expect(resolved.cached).toEqual(['story', 'frames', 'clips']);
    for (const id of resolved.cached) {
      expect(resolved.plan.nodes[id].step).toMatchObject({
        kind: 'constant',
        outputs: ran.get(id),
      });
    }
    // Fan-out nodes carry each item's outputs, reported one node.cached each.
    const frames = resolved.plan.nodes.frames.step;
    expect(frames.kind === 'constant' && frames.cached?.items).toHaveLength(2);
    expect(resolved.plan.nodes.story.step).toMatchObject({ cached: {} });
    // The compiled plan is left as it was: the run record keeps it.
    expect(plan.nodes.story.step.kind).toBe('activity');
  });

  it('recomputes a node whose cached artifact is missing, and everything below it', async () => {
    const plan = film();
    const ran = await runAsWorker(plan);
    const frame = (ran.get('frames')!.frames as ArtifactRef[])[1];
    await rm(join(blobs.root, frame.id.slice(0, 2), frame.id), { force: true });
    await rm(join(blobs.root, frame.id), { force: true });
    expect(await blobs.stat(frame.id)).toBeNull();
    const resolved = await resolveCacheHits(plan, deps());
    expect(resolved.cached).toEqual(['story']);
    expect(resolved.complete).toBe(false);
    expect(resolved.plan.nodes.frames.step.kind).toBe('activity');
  });

  it('recomputes a node whose cached artifact no longer holds its bytes', async () => {
    const plan = film();
    const ran = await runAsWorker(plan);
    const clip = (ran.get('clips')!.clips as ArtifactRef[])[0];
    const path = await blobs.toLocalFile(clip.id);
    // Same length, other bytes: only the hash can tell.
    await writeFile(path, Buffer.from('clip X'));
    const resolved = await resolveCacheHits(plan, deps());
    expect(resolved.cached).toEqual(['story', 'frames']);
    expect(resolved.plan.nodes.clips.step.kind).toBe('activity');
  });

  it('recomputes a node whose param changed and everything downstream of it', async () => {
    await runAsWorker(film());
    const changed = film({ storyParams: { shots: 3 } });
    const resolved = await resolveCacheHits(changed, deps());
    expect(resolved.cached).toEqual([]);
    expect(resolved.plan).toBe(changed);
    // A change at the bottom keeps everything above it.
    const lastChanged = film({ framesParams: { seed: 7 } });
    const partly = await resolveCacheHits(lastChanged, deps());
    expect(partly.cached).toEqual(['story']);
  });

  it('recomputes when `auto` resolves to another provider on the workers', async () => {
    const plan = film();
    await runAsWorker(plan);
    const withOpenai = await resolveCacheHits(
      plan,
      deps({ workerServices: { openai: { apiKey: 'sk-test' } } }),
    );
    expect(withOpenai.cached).toEqual([]);
    // Workers the server cannot vouch for: `auto` with a real provider is left to them.
    const unknownWorkers = await resolveCacheHits(plan, deps({ workerServices: undefined }));
    expect(unknownWorkers.cached).toEqual([]);
  });

  it('recomputes a node whose provider is named explicitly', async () => {
    await runAsWorker(film());
    // Asked for OpenAI on workers without it: the worker refuses, with its own error.
    const explicit = film({ storyParams: { provider: 'openai' } });
    expect((await resolveCacheHits(explicit, deps())).cached).toEqual([]);
    // With OpenAI configured, the key is OpenAI's, which the local run never stored.
    const configured = await resolveCacheHits(
      explicit,
      deps({ workerServices: { openai: { apiKey: 'sk-test' } } }),
    );
    expect(configured.cached).toEqual([]);
    // `local` is local on any worker, so it resolves without knowing the workers.
    const local = film({ storyParams: { provider: 'local' } });
    await runAsWorker(local);
    expect((await resolveCacheHits(local, deps({ workerServices: undefined }))).cached).toEqual([
      'story',
    ]);
  });

  it('recomputes a node whose type version was bumped', async () => {
    const plan = film();
    await runAsWorker(plan);
    const bumped = structuredClone(plan);
    bumped.nodes.frames.typeVersion += 1;
    expect((await resolveCacheHits(bumped, deps())).cached).toEqual(['story']);
  });

  it('leaves forced nodes (rerun from a node) and regenerated items to the workflow', async () => {
    const plan = film();
    await runAsWorker(plan);
    const forced = graphSchema.prepare(
      graph(
        [
          node('script', 'script-input', { text: 'Mira climbs. She looks out.' }),
          node('story', 'gpt-storyboard', { provider: 'auto', shots: 2 }),
          node('frames', 'sd-lora-frame', { provider: 'auto' }),
          node('clips', 'runway-clip', { provider: 'auto' }),
        ],
        [
          edge('script.text', 'story.script'),
          edge('story.storyboard', 'frames.storyboard'),
          edge('frames.frames', 'clips.frames'),
          edge('story.storyboard', 'clips.storyboard'),
        ],
      ),
      { forceRun: ['frames'] },
    ).plan;
    expect((await resolveCacheHits(forced, deps())).cached).toEqual(['story']);

    const rerolled: ExecutionPlan = { ...plan, rerolls: { frames: { '1': 1 } } };
    expect((await resolveCacheHits(rerolled, deps())).cached).toEqual(['story']);
    // Once the regenerated item is stored, the same regenerate is a hit like any other.
    await runAsWorker(rerolled);
    expect((await resolveCacheHits(rerolled, deps())).complete).toBe(true);
  });
});

/** script + character → story → frames (with the character) → clips: the template's spine. */
function castFilm(characterId = 'chr_mira'): ExecutionPlan {
  const doc = graph(
    [
      node('script', 'script-input', { text: 'Mira climbs. She looks out.' }),
      node('character', 'character-loader', { characterId }),
      node('story', 'gpt-storyboard', { provider: 'auto', shots: 2 }),
      node('frames', 'sd-lora-frame', { provider: 'auto' }),
      node('clips', 'runway-clip', { provider: 'auto' }),
    ],
    [
      edge('script.text', 'story.script'),
      edge('character.character', 'story.character'),
      edge('story.storyboard', 'frames.storyboard'),
      edge('character.character', 'frames.character'),
      edge('frames.frames', 'clips.frames'),
      edge('story.storyboard', 'clips.storyboard'),
    ],
  );
  return graphSchema.prepare(doc).plan;
}

/** An identity as IdentityService stores it, for `references`; `face: false` found none. */
function identityOf(references: ArtifactRef[], face = true): CharacterIdentity {
  return {
    version: 1,
    model: FACE_EMBEDDING_MODEL,
    mean: face ? Array.from({ length: 128 }, (_, i) => (i % 7) / 10) : [],
    threshold: face ? 0.5 : 0,
    references: references.map((ref) => ({
      artifactId: ref.id,
      status: face ? 'face' : 'no-face',
      faces: face ? 1 : 0,
      role: face ? 'identity' : 'style',
    })),
  };
}

/** Stores Mira (id `chr_mira`) with a computed identity unless `identity` says otherwise. */
async function storeMira(
  overrides: Partial<CharacterRecord> & { identity?: CharacterIdentity | null } = {},
): Promise<CharacterRecord> {
  const portrait = await artifact('mira portrait', 'image/png');
  const { identity = identityOf([portrait]), ...rest } = overrides;
  const record: CharacterRecord = {
    id: 'chr_mira',
    name: 'Mira',
    description: 'a climber in a red scarf',
    triggerWord: 'mira_char',
    lora: { name: 'mira_v1', weight: 0.8 },
    referenceImages: [portrait],
    ownerId: 'local',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    revision: 1,
    ...(identity ? { identity } : {}),
    ...rest,
  };
  await documents.characters.put(record);
  return record;
}

const withCharacters = (ownerId = 'local') => deps({ characters: documents.characters, ownerId });

describe('resolveCacheHits with a character loader (resolveOnServer)', () => {
  it('loads the character on the server, so an unchanged graph below it resolves whole', async () => {
    await storeMira();
    const plan = castFilm();
    const ran = await runAsWorker(plan);
    const resolved = await resolveCacheHits(plan, withCharacters());
    expect(resolved.complete).toBe(true);
    expect(resolved.resolved).toEqual(['character']);
    expect(resolved.cached).toEqual(['story', 'frames', 'clips']);
    // Exactly the activity's value (the keys below chain through it), reported as work done
    // (no `cached` mark), like any constant step.
    expect(resolved.plan.nodes.character.step).toEqual({
      kind: 'constant',
      outputs: ran.get('character'),
    });
    expect(ran.get('character')).toMatchObject({
      character: { id: 'chr_mira', embeddingModel: FACE_EMBEDDING_MODEL },
    });
    expect(plan.nodes.character.step.kind).toBe('activity');
    // Without the characters (a caller that cannot read them) the loader is the worker's, and
    // nothing below it can be looked up: the behaviour before.
    const withoutReads = await resolveCacheHits(plan, deps());
    expect(withoutReads).toMatchObject({ cached: [], resolved: [], complete: false });
  });

  it("gives the activity's value for a character whose references show no face", async () => {
    const portrait = await artifact('a landscape', 'image/png');
    await storeMira({ referenceImages: [portrait], identity: identityOf([portrait], false) });
    const plan = castFilm();
    const ran = await runAsWorker(plan);
    expect(ran.get('character')!.character).not.toHaveProperty('embeddingModel');
    const resolved = await resolveCacheHits(plan, withCharacters());
    expect(resolved.complete).toBe(true);
    expect(resolved.plan.nodes.character.step).toEqual({
      kind: 'constant',
      outputs: ran.get('character'),
    });
  });

  it('recomputes everything that reads an edited character', async () => {
    const stored = await storeMira();
    const plan = castFilm();
    await runAsWorker(plan);
    await documents.characters.put({
      ...stored,
      description: 'a climber in a blue scarf',
      revision: 2,
    });
    const resolved = await resolveCacheHits(plan, withCharacters());
    // The loader reads the edit; story and frames take it as input, so their keys changed.
    expect(resolved).toMatchObject({ resolved: ['character'], cached: [], complete: false });
    const step = resolved.plan.nodes.character.step;
    expect(step.kind === 'constant' && step.outputs.character).toMatchObject({
      description: 'a climber in a blue scarf',
    });
    for (const id of ['story', 'frames', 'clips']) {
      expect(resolved.plan.nodes[id].step.kind).toBe('activity');
    }
    // Once the workers have run the edited character, it resolves whole again.
    await runAsWorker(plan);
    expect((await resolveCacheHits(plan, withCharacters())).complete).toBe(true);
  });

  it('leaves the loader to the worker while the identity is missing or stale', async () => {
    const plan = castFilm();
    const stored = await storeMira();
    await runAsWorker(plan);
    const leftToWorker = { resolved: [], cached: [], complete: false };
    // Stored before identities existed: the activity computes it (work, not a read).
    await documents.characters.put({ ...stored, identity: undefined });
    expect(await resolveCacheHits(plan, withCharacters())).toMatchObject(leftToWorker);
    // A reference added since the identity was computed.
    const added = await artifact('mira profile', 'image/png');
    await documents.characters.put({
      ...stored,
      referenceImages: [...stored.referenceImages, added],
    });
    expect(await resolveCacheHits(plan, withCharacters())).toMatchObject(leftToWorker);
    // Computed with another face model.
    await documents.characters.put({
      ...stored,
      identity: { ...stored.identity!, model: 'an-older-face-model' },
    });
    expect(await resolveCacheHits(plan, withCharacters())).toMatchObject(leftToWorker);
  });

  it("reads only a character the run's owner may read: their own or a public one", async () => {
    const plan = castFilm();
    const stored = await storeMira({ ownerId: 'alice' });
    await runAsWorker(plan, 'local', 'alice');
    await runAsWorker(plan, 'local', 'bob');
    expect(await resolveCacheHits(plan, withCharacters('bob'))).toMatchObject({
      resolved: [],
      complete: false,
    });
    expect((await resolveCacheHits(plan, withCharacters('alice'))).complete).toBe(true);
    await documents.characters.put({ ...stored, ownerId: 'public' });
    expect((await resolveCacheHits(plan, withCharacters('bob'))).complete).toBe(true);
  });

  it("looks up only the run owner's cache; the local user's keys are those of before accounts", async () => {
    await storeMira({ ownerId: 'public' });
    const plan = castFilm();
    await runAsWorker(plan, 'local', 'alice');
    // Bob reads the same public character, but alice's results are not his to reuse.
    expect(await resolveCacheHits(plan, withCharacters('bob'))).toMatchObject({
      resolved: ['character'],
      cached: [],
      complete: false,
    });
    expect(await resolveCacheHits(plan, withCharacters('local'))).toMatchObject({ cached: [] });
    expect((await resolveCacheHits(plan, withCharacters('alice'))).complete).toBe(true);
    // The local user (accounts off) finds what an older build stored: keys without a scope.
    const legacy = film();
    await runAsWorker(legacy);
    expect((await resolveCacheHits(legacy, deps())).complete).toBe(true);
    expect((await resolveCacheHits(legacy, deps({ ownerId: 'local' }))).complete).toBe(true);
    expect((await resolveCacheHits(legacy, deps({ ownerId: 'alice' }))).cached).toEqual([]);
  });

  it('leaves a missing, unchosen, damaged or forced character to the worker', async () => {
    const leftToWorker = { resolved: [], cached: [], complete: false };
    // Missing and unchosen: the activity fails the node with character_not_found.
    expect(await resolveCacheHits(castFilm('chr_nobody'), withCharacters())).toMatchObject(
      leftToWorker,
    );
    // (An empty id never compiles; blanks do, and the activity trims them to none.)
    expect(await resolveCacheHits(castFilm('  '), withCharacters())).toMatchObject(leftToWorker);
    // A record that is no Character (an empty name): the start does not fail on it.
    const stored = await storeMira();
    await documents.characters.put({ ...stored, name: '' });
    expect(await resolveCacheHits(castFilm(), withCharacters())).toMatchObject(leftToWorker);
    // Rerun from the loader: the worker loads it, as asked.
    await documents.characters.put(stored);
    const forced = { ...castFilm(), forceRun: ['character'] };
    expect(await resolveCacheHits(forced, withCharacters())).toMatchObject(leftToWorker);
  });
});
