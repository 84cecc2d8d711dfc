/**
 * Runs the server answers from the cache before starting a workflow, on a real Temporal dev
 * server with the real worker and stores. Node implementations are small counting ones (the
 * cache is under test, not the media): a call counted is work done.
 */
import { readFile, rm } from 'node:fs/promises';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activity as characterLoaderActivity } from '../../nodes/character-loader/activity';
import { artifactRefsIn } from '../artifacts/cached-outputs';
import { FACE_EMBEDDING_MODEL } from '../faces/face-embedder';
import type { ArtifactRef, Character, Storyboard } from '../graph/values';
import type { NodeActivity } from '../worker/node-api';
import { edge, graph, node } from '../testing/graph-builder';
import { startTestEngine, temporalUnavailable, type TestEngine } from '../testing/engine-harness';
import type { RunEvent } from './events';

const calls: Record<string, number> = {};
const count = (type: string) => (calls[type] = (calls[type] ?? 0) + 1);

const implementations: Record<string, NodeActivity> = {
  // The real loader (it only reads the store): the server must answer exactly as it would.
  'character-loader': async (args) => {
    count('character-loader');
    return characterLoaderActivity(args as Parameters<typeof characterLoaderActivity>[0]);
  },
  'gpt-storyboard': async ({ params, inputs }) => {
    count('gpt-storyboard');
    const script = String(inputs.script);
    const character = inputs.character as Character | undefined;
    const storyboard: Storyboard = {
      // Written for the character, as the real one is: an edit to them changes every shot.
      title: character ? `${script} (${character.description})` : script,
      shots: Array.from({ length: Number(params.shots) }, (_, index) => ({
        index,
        description: `${script} #${index}`,
        prompt: `${character?.description ?? ''}${script} #${index}`,
        negativePrompt: '',
        camera: 'static',
        durationSec: 1,
      })),
    };
    return { storyboard };
  },
  'sd-lora-frame': async ({ inputs, ctx }) => {
    count('sd-lora-frame');
    const shot = (inputs.storyboard as Storyboard).shots[ctx.index!];
    const seed = ctx.reroll > 0 ? ` reroll ${ctx.reroll}` : '';
    return {
      frames: await ctx.artifacts.putBytes(Buffer.from(`frame ${shot.prompt}${seed}`), 'image/png'),
    };
  },
  'runway-clip': async ({ inputs, ctx }) => {
    count('runway-clip');
    const frame = (inputs.frames as ArtifactRef[])[ctx.index!];
    return { clips: await ctx.artifacts.putBytes(Buffer.from(`clip of ${frame.id}`), 'video/mp4') };
  },
  'voice-over': async ({ inputs, ctx }) => {
    count('voice-over');
    const { title } = inputs.storyboard as Storyboard;
    return { audio: await ctx.artifacts.putBytes(Buffer.from(`voice of ${title}`), 'audio/wav') };
  },
  'ffmpeg-merge': async ({ inputs, ctx }) => {
    count('ffmpeg-merge');
    const ids = (inputs.clips as ArtifactRef[]).map((clip) => clip.id).join(',');
    const audio = (inputs.audio as ArtifactRef | undefined)?.id ?? '';
    return { video: await ctx.artifacts.putBytes(Buffer.from(`${ids}+${audio}`), 'video/mp4') };
  },
};

const TEMPLATE = new URL('../../workflows/character-short.json', import.meta.url);

/** script → story → frames (one per shot) → clips; `tag` gives each test its own keys. */
function film(tag: string) {
  return graph(
    [
      node('script', 'script-input', { text: `${tag}: Mira climbs. She looks out.` }),
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
  );
}

/** An event without what differs between two runs of the same work: seq, time, run. */
const shape = ({ type, nodeId, index, total, status, outputs }: RunEvent) => ({
  type,
  ...(nodeId !== undefined ? { nodeId } : {}),
  ...(index !== undefined ? { index } : {}),
  ...(total !== undefined ? { total } : {}),
  ...(status !== undefined ? { status } : {}),
  ...(outputs !== undefined ? { outputs } : {}),
});

const unavailable = temporalUnavailable();

describe.skipIf(unavailable)('runs answered from the cache before the workflow', () => {
  let lab: TestEngine;

  beforeAll(async () => {
    lab = await startTestEngine({ implementations });
  });
  afterAll(async () => {
    await lab?.close();
  });

  const events = (runId: string) => lab.engine.events.since(runId, 0);
  const workflowExists = async (temporalWorkflowId: string) => {
    try {
      await lab.engine.temporal.client.workflow.getHandle(temporalWorkflowId).describe();
      return true;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
  };

  it('answers an unchanged graph without a workflow, with the events and snapshot of a cached run', async () => {
    const first = await lab.engine.runs.start({ graph: film('whole') });
    const firstEnd = await lab.engine.runs.waitForEnd(first.id, 60_000);
    expect(firstEnd.status).toBe('succeeded');
    const before = { ...calls };

    const second = await lab.engine.runs.start({ graph: film('whole') });
    expect(calls).toEqual(before);
    expect(await workflowExists(second.temporalWorkflowId)).toBe(false);
    const snapshot = await lab.engine.runs.waitForEnd(second.id, 10_000);
    expect(snapshot).toMatchObject({ status: 'succeeded', outputs: firstEnd.outputs });
    expect(snapshot.nodes.script.status).toBe('succeeded');
    expect(snapshot.nodes.story).toMatchObject({ status: 'cached', progress: 1 });
    for (const id of ['frames', 'clips']) {
      expect(snapshot.nodes[id]).toMatchObject({
        status: 'cached',
        done: 2,
        total: 2,
        outputs: firstEnd.nodes[id].outputs,
        items: { 0: { status: 'cached', progress: 1 }, 1: { status: 'cached', progress: 1 } },
      });
    }
    // The stored record agrees with the folded events, so a restart or a list reads the same.
    expect((await lab.engine.runs.get(second.id))?.snapshot).toEqual(snapshot);

    const log = await events(second.id);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    const out = (id: string) => firstEnd.nodes[id].outputs;
    const item = (id: string, port: string, index: number) => ({
      [port]: (out(id)![port] as unknown[])[index],
    });
    expect(log.map(shape)).toEqual([
      { type: 'run.started', status: 'running' },
      { type: 'node.completed', nodeId: 'script', status: 'succeeded', outputs: out('script') },
      { type: 'node.cached', nodeId: 'story', status: 'cached', outputs: out('story') },
      ...['frames', 'clips'].flatMap((id) => {
        const port = id;
        return [
          { type: 'node.started', nodeId: id, total: 2, status: 'running' },
          {
            type: 'node.cached',
            nodeId: id,
            index: 0,
            status: 'cached',
            outputs: item(id, port, 0),
          },
          {
            type: 'node.cached',
            nodeId: id,
            index: 1,
            status: 'cached',
            outputs: item(id, port, 1),
          },
          { type: 'node.cached', nodeId: id, total: 2, status: 'cached', outputs: out(id) },
        ];
      }),
      { type: 'run.completed', status: 'succeeded', outputs: firstEnd.outputs },
    ]);
  });

  it('recomputes an item whose artifact is gone; the cached nodes above it go in as constants', async () => {
    const first = await lab.engine.runs.start({ graph: film('missing') });
    const firstEnd = await lab.engine.runs.waitForEnd(first.id, 60_000);
    const lost = (firstEnd.nodes.frames.outputs!.frames as ArtifactRef[])[1];
    await rm(await lab.engine.blobs.toLocalFile(lost.id), { force: true });
    expect(await lab.engine.blobs.stat(lost.id)).toBeNull();
    const before = { ...calls };

    const second = await lab.engine.runs.start({ graph: film('missing') });
    const snapshot = await lab.engine.runs.waitForEnd(second.id, 60_000);
    expect(snapshot.status).toBe('succeeded');
    expect(await workflowExists(second.temporalWorkflowId)).toBe(true);
    // The lost frame is drawn again (its sibling is still a hit in the activity shell), and
    // the clips below get the same frame bytes back, so their cache holds.
    expect(calls['gpt-storyboard']).toBe(before['gpt-storyboard']);
    expect(calls['sd-lora-frame']).toBe(before['sd-lora-frame'] + 1);
    expect(calls['runway-clip']).toBe(before['runway-clip']);
    expect(await lab.engine.blobs.stat(lost.id)).not.toBeNull();
    expect(snapshot.nodes.story.status).toBe('cached');
    expect(snapshot.nodes.frames.status).toBe('succeeded');
    expect(snapshot.nodes.clips.status).toBe('cached');
    const story = (await events(second.id)).filter((e) => e.nodeId === 'story').map(shape);
    expect(story).toEqual([
      {
        type: 'node.cached',
        nodeId: 'story',
        status: 'cached',
        outputs: firstEnd.nodes.story.outputs,
      },
    ]);
  });

  it('regenerates one item of a run answered from the cache, and reruns recompute what they force', async () => {
    const first = await lab.engine.runs.start({ graph: film('regen') });
    await lab.engine.runs.waitForEnd(first.id, 60_000);
    const cachedRun = await lab.engine.runs.start({ graph: film('regen') });
    expect(await workflowExists(cachedRun.temporalWorkflowId)).toBe(false);
    await lab.engine.runs.waitForEnd(cachedRun.id, 10_000);
    const before = { ...calls };

    const regenerated = await lab.engine.runs.regenerate(cachedRun.id, {
      nodeId: 'frames',
      index: 1,
    });
    const snapshot = await lab.engine.runs.waitForEnd(regenerated.id, 60_000);
    expect(snapshot.status).toBe('succeeded');
    expect(calls['sd-lora-frame']).toBe(before['sd-lora-frame'] + 1);
    expect(calls['runway-clip']).toBe(before['runway-clip'] + 1);
    expect(snapshot.nodes.frames.items?.[0].status).toBe('cached');
    expect(snapshot.nodes.frames.items?.[1].status).toBe('succeeded');

    const rerun = await lab.engine.runs.rerun(cachedRun.id, { fromNodeId: 'story' });
    const rerunEnd = await lab.engine.runs.waitForEnd(rerun.id, 60_000);
    expect(rerunEnd.nodes.story.status).toBe('succeeded');
    expect(rerunEnd.nodes.frames.status).toBe('succeeded');
    expect(calls['gpt-storyboard']).toBe(before['gpt-storyboard'] + 1);
  });

  it('answers an unchanged character-short template without a workflow; an edited character recomputes what is below it', async () => {
    // A character whose face identity is computed (as the API computes it on create): loading
    // it is a read the server does itself.
    const portrait = await lab.engine.artifacts.putBytes(Buffer.from('portrait'), 'image/png');
    const stored = {
      id: 'chr_template',
      name: 'Mira',
      description: 'a climber in a red scarf',
      referenceImages: [portrait],
      ownerId: 'local',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      revision: 1,
      identity: {
        version: 1,
        model: FACE_EMBEDDING_MODEL,
        mean: Array.from({ length: 128 }, (_, i) => (i % 5) / 10),
        threshold: 0.5,
        references: [
          { artifactId: portrait.id, status: 'face' as const, faces: 1, role: 'identity' as const },
        ],
      },
    };
    await lab.engine.documents.characters.put(stored);
    const template = await readFile(TEMPLATE, 'utf8');
    const values = {
      'script.text': 'Template: Mira climbs. She looks out. She walks on.',
      'character.characterId': stored.id,
      'story.shots': 2,
    };
    const first = await lab.engine.runs.start({ graph: template, values });
    const firstEnd = await lab.engine.runs.waitForEnd(first.id, 120_000);
    expect(firstEnd.status).toBe('succeeded');
    expect(firstEnd.nodes.character).toMatchObject({
      status: 'succeeded',
      outputs: { character: { id: stored.id, embeddingModel: FACE_EMBEDDING_MODEL } },
    });
    const before = { ...calls };

    const again = await lab.engine.runs.start({ graph: template, values });
    expect(await workflowExists(again.temporalWorkflowId)).toBe(false);
    const againEnd = await lab.engine.runs.waitForEnd(again.id, 10_000);
    expect(calls).toEqual(before);
    expect(againEnd).toMatchObject({ status: 'succeeded', outputs: firstEnd.outputs });
    expect(againEnd.nodes.character).toMatchObject({
      status: 'succeeded',
      outputs: firstEnd.nodes.character.outputs,
    });
    for (const id of ['story', 'frames', 'clips', 'voice', 'merge']) {
      expect(againEnd.nodes[id].status).toBe('cached');
    }
    const log = (await events(again.id)).filter((e) => e.nodeId === 'character').map(shape);
    expect(log).toEqual([
      {
        type: 'node.completed',
        nodeId: 'character',
        status: 'succeeded',
        outputs: firstEnd.nodes.character.outputs,
      },
    ]);

    await lab.engine.documents.characters.put({
      ...stored,
      description: 'a climber in a blue scarf',
      revision: 2,
    });
    const edited = await lab.engine.runs.start({ graph: template, values });
    const editedEnd = await lab.engine.runs.waitForEnd(edited.id, 120_000);
    expect(editedEnd.status).toBe('succeeded');
    expect(await workflowExists(edited.temporalWorkflowId)).toBe(true);
    expect(editedEnd.nodes.character.outputs).toMatchObject({
      character: { description: 'a climber in a blue scarf' },
    });
    // Every node below the character worked again: the storyboard is written for them.
    for (const id of ['story', 'frames', 'clips', 'voice', 'merge']) {
      expect(editedEnd.nodes[id].status).toBe('succeeded');
    }
    expect(calls['gpt-storyboard']).toBe(before['gpt-storyboard'] + 1);
    expect(calls['sd-lora-frame']).toBe(before['sd-lora-frame'] + 2);
    expect(calls['ffmpeg-merge']).toBe(before['ffmpeg-merge'] + 1);
    expect(editedEnd.outputs).not.toEqual(firstEnd.outputs);
  }, 300_000);

  it("keeps each owner's cache and artifacts to their runs; derived runs keep the owner", async () => {
    const owned = async (ref: ArtifactRef) => (await lab.engine.artifacts.get(ref.id))?.ownerId;
    const clipsOf = (snapshot: { outputs?: unknown }) => artifactRefsIn(snapshot.outputs);

    const alice = await lab.engine.runs.start({ graph: film('owners'), ownerId: 'usr_alice' });
    const aliceEnd = await lab.engine.runs.waitForEnd(alice.id, 60_000);
    expect(aliceEnd.status).toBe('succeeded');
    const clips = clipsOf(aliceEnd);
    expect(clips).toHaveLength(2);
    for (const clip of clips) expect(await owned(clip)).toBe('usr_alice');
    const before = { ...calls };

    // Bob's run of the very same graph is his own work: nothing of alice's answers it.
    const bob = await lab.engine.runs.start({ graph: film('owners'), ownerId: 'usr_bob' });
    expect(await workflowExists(bob.temporalWorkflowId)).toBe(true);
    const bobEnd = await lab.engine.runs.waitForEnd(bob.id, 60_000);
    expect(bobEnd.nodes.story.status).toBe('succeeded');
    expect(calls['sd-lora-frame']).toBe(before['sd-lora-frame'] + 2);
    // The same bytes: one artifact, alice's first, which bob reads through a grant.
    expect(clipsOf(bobEnd)).toEqual(clips);
    for (const clip of clips) {
      expect(await lab.engine.artifacts.readableByOwner(clip.id, 'usr_bob')).not.toBeNull();
      expect(await lab.engine.artifacts.readableByOwner(clip.id, 'usr_carol')).toBeNull();
    }

    // Bob again: answered by the server from his own cache, and his outputs stay his to read
    // even if a grant went missing.
    for (const clip of clips) {
      await lab.engine.documents.artifactGrants.delete(`usr_bob:${clip.id}`);
    }
    const bobAgain = await lab.engine.runs.start({ graph: film('owners'), ownerId: 'usr_bob' });
    expect(await workflowExists(bobAgain.temporalWorkflowId)).toBe(false);
    expect((await lab.engine.runs.waitForEnd(bobAgain.id, 10_000)).status).toBe('succeeded');
    for (const clip of clips) {
      expect(await lab.engine.artifacts.readableByOwner(clip.id, 'usr_bob')).not.toBeNull();
    }

    const regenerated = await lab.engine.runs.regenerate(alice.id, { nodeId: 'frames', index: 1 });
    expect(regenerated.ownerId).toBe('usr_alice');
    const regeneratedEnd = await lab.engine.runs.waitForEnd(regenerated.id, 60_000);
    expect(regeneratedEnd.status).toBe('succeeded');
    const newClip = clipsOf(regeneratedEnd)[1];
    expect(newClip.id).not.toBe(clips[1].id);
    expect(await owned(newClip)).toBe('usr_alice');
    const rerun = await lab.engine.runs.rerun(bob.id, { fromNodeId: 'story' });
    expect(rerun).toMatchObject({ ownerId: 'usr_bob', parentRunId: bob.id });
    expect((await lab.engine.runs.waitForEnd(rerun.id, 60_000)).status).toBe('succeeded');
  }, 300_000);
});
