/**
 * Every shipped template loads, validates, compiles and runs end to end on local providers
 * (STYLE 16). Sizes are shrunk through the same param overrides a user would `--set`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeGraph } from '../engine/graph/canonical';
import type { ArtifactRef } from '../engine/graph/values';
import { probe } from '../engine/media/ffmpeg';
import { graphSchema } from '../nodes/definitions';
import {
  startTestEngine,
  temporalUnavailable,
  type TestEngine,
} from '../engine/testing/engine-harness';
import { ffprobeVideo } from '../engine/testing/server-harness';

const dir = fileURLToPath(new URL('.', import.meta.url));
const templates = readdirSync(dir).filter((file) => file.endsWith('.json'));

/** Shrinks every frame and merge node so a template runs in seconds. */
function shrink(text: string): Record<string, unknown> {
  const loaded = graphSchema.load(text);
  if (!loaded.ok) throw new Error('does not load');
  const values: Record<string, unknown> = {};
  for (const node of loaded.graph.nodes) {
    if (node.type === 'sd-lora-frame' || node.type === 'ffmpeg-merge') {
      values[`${node.id}.width`] = 384;
      values[`${node.id}.height`] = 216;
    }
    if (node.type === 'gpt-storyboard') values[`${node.id}.shotDurationSec`] = 1;
  }
  return values;
}

/** The node types a template uses. */
function nodeTypes(text: string): string[] {
  const loaded = graphSchema.load(text);
  if (!loaded.ok) throw new Error('does not load');
  return loaded.graph.nodes.map((node) => node.type);
}

describe('shipped templates', () => {
  it('ships at least the character short and a branching template', () => {
    expect(templates).toEqual(expect.arrayContaining(['character-short.json', 'two-scenes.json']));
  });

  for (const file of templates) {
    it(`${file} loads, validates, compiles and is saved in the canonical format`, () => {
      const text = readFileSync(join(dir, file), 'utf8');
      const { errors } = graphSchema.check(text);
      expect(errors).toEqual([]);
      const { graph, plan } = graphSchema.prepare(text);
      expect(serializeGraph(graph)).toBe(text);
      expect(plan.order).toHaveLength(graph.nodes.length);
      expect(graph.exposed.length).toBeGreaterThan(0);
    });
  }
});

describe.skipIf(temporalUnavailable())('shipped templates run end to end', () => {
  let lab: TestEngine;
  let scratch: string;
  beforeAll(async () => {
    lab = await startTestEngine();
    scratch = await mkdtemp(join(tmpdir(), 'charlab-templates-'));
  });
  afterAll(async () => {
    await lab?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  for (const file of templates) {
    it(`${file} runs to an H.264 video`, async () => {
      const text = readFileSync(join(dir, file), 'utf8');
      const run = await lab.engine.runs.start({ graph: text, values: shrink(text) });
      const snapshot = await lab.engine.runs.waitForEnd(run.id, 180_000);
      expect(snapshot.status, JSON.stringify(snapshot.nodes)).toBe('succeeded');
      const videos = Object.values(snapshot.outputs).flatMap((outputs) =>
        Object.values(outputs).filter(
          (value): value is ArtifactRef => (value as ArtifactRef)?.mime === 'video/mp4',
        ),
      );
      expect(videos).toHaveLength(1);
      const mp4 = await lab.engine.artifacts.toLocalFile(videos[0]);
      const probed = await ffprobeVideo(mp4);
      expect(probed).toMatchObject({ codec: 'h264', width: 384, height: 216 });
      // A voice-over's narration is mixed in: the film has sound.
      if (nodeTypes(text).includes('voice-over')) {
        expect(await probe(mp4)).toMatchObject({ hasAudio: true, audioCodec: 'aac' });
      }
    });
  }
});
