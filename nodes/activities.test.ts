import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { ArtifactRef } from '../engine/graph/values';
import { probeVideo } from '../engine/media/ffmpeg';
import { makePng } from '../engine/testing/fakes/media';
import { createTestNodeContext, type TestNodeContext } from '../engine/testing/node-context';
import { loadNodeActivities } from './activities';
import { graphSchema, NODE_DEFINITIONS } from './definitions';

let t: TestNodeContext | undefined;

afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

describe('the worker activity registry', () => {
  it('has an activity for exactly the node types that run as activities', async () => {
    const runAsActivities = NODE_DEFINITIONS.filter((d) => d.runsOn !== 'inline').map(
      (d) => d.type,
    );
    const activities = await loadNodeActivities();
    expect(Object.keys(activities).sort()).toEqual([...runAsActivities].sort());
  });

  it('runs the local animatic chain: character → storyboard → frames → clips → merged MP4', async () => {
    t = await createTestNodeContext();
    const activities = await loadNodeActivities();
    const run = async (
      type: string,
      params: Record<string, unknown>,
      inputs: Record<string, unknown>,
      index?: number,
    ) => {
      const ctx = index === undefined ? t!.ctx : await t!.child({ index, total: 2 });
      return activities[type]({
        params: graphSchema.definition(type)!.params.parse(params),
        inputs,
        ctx,
      });
    };
    const reference = await t.artifacts.putBytes(await makePng(90, 120), 'image/png', {
      width: 90,
      height: 120,
    });
    await t.stores.documents.characters.put({
      id: 'chr_1',
      name: 'Mara',
      description: 'an explorer in a red coat',
      referenceImages: [reference],
      ownerId: 'local',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      revision: 1,
    });

    const { character } = await run('character-loader', { characterId: 'chr_1' }, {});
    const script = 'Mara reaches the ridge. "We made it," she whispers.';
    const { storyboard } = await run(
      'gpt-storyboard',
      { shotDurationSec: 1 },
      { script, character },
    );
    const frames: unknown[] = [];
    for (const index of [0, 1]) {
      frames.push(
        (await run('sd-lora-frame', { width: 320, height: 176 }, { storyboard, character }, index))
          .frames,
      );
    }
    const clips: unknown[] = [];
    for (const index of [0, 1]) {
      clips.push((await run('runway-clip', { fps: 12 }, { frames, storyboard }, index)).clips);
    }
    const { video } = await run(
      'ffmpeg-merge',
      { width: 320, height: 180, fps: 12, crf: 30 },
      { clips, storyboard },
    );

    const info = await probeVideo(
      await t.artifacts.toLocalFile(video as ArtifactRef),
      'the final video',
    );
    expect(info).toMatchObject({ width: 320, height: 180, videoCodec: 'h264', fps: 12 });
    expect(info.durationSec).toBeCloseTo(2, 1);
    const srt = await readFile(`${t.ctx.workDir}/subtitles.srt`, 'utf8');
    // Subtitles carry what is said: the second shot's line, timed after the first clip.
    expect(srt).toBe('1\n00:00:01,000 --> 00:00:02,000\nWe made it.\n');
  });
});
