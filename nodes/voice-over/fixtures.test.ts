/**
 * The node's fixture graphs (n8n-style: workflow JSON kept with the node) load, validate and
 * compile with this build's node types, are saved in the canonical format, and run: the
 * narrated short's plan is executed in order, activity by activity, on local providers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { serializeGraph } from '../../engine/graph/canonical';
import type { ExecutionPlan } from '../../engine/graph/plan';
import type { ArtifactRef, Storyboard } from '../../engine/graph/values';
import { probe } from '../../engine/media/ffmpeg';
import { createTestNodeContext, type TestNodeContext } from '../../engine/testing/node-context';
import { loadNodeActivities } from '../activities';
import { graphSchema } from '../definitions';

const dir = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixtures = readdirSync(dir).filter((file) => file.endsWith('.json'));

let t: TestNodeContext | undefined;
afterEach(async () => {
  await t?.dispose();
  t = undefined;
});

describe('voice-over fixtures', () => {
  it('include the narrated short', () => {
    expect(fixtures).toContain('narrated-short.json');
  });

  for (const file of fixtures) {
    it(`${file} loads, validates, compiles and is saved in the canonical format`, () => {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(graphSchema.check(text).errors).toEqual([]);
      const { graph, plan } = graphSchema.prepare(text);
      expect(serializeGraph(graph)).toBe(text);
      expect(plan.order).toHaveLength(graph.nodes.length);
      const voice = graph.nodes.find((node) => node.type === 'voice-over');
      expect(voice).toBeDefined();
      expect(plan.nodes[voice!.id].step).toMatchObject({ kind: 'activity', taskQueue: 'lab-io' });
    });
  }

  it('narrated-short.json runs to an MP4 whose sound is the narration', async () => {
    const { plan } = graphSchema.prepare(readFileSync(join(dir, 'narrated-short.json'), 'utf8'));
    expect(plan.nodes.merge.inputs.audio.sources).toEqual([{ node: 'voice', port: 'audio' }]);
    t = await createTestNodeContext();
    const outputs = await runPlan(plan, t);

    const storyboard = outputs.story.storyboard as Storyboard;
    const expected = storyboard.shots.reduce((sum, shot) => sum + shot.durationSec, 0);
    const narration = await probe(
      await t.artifacts.toLocalFile(outputs.voice.audio as ArtifactRef),
    );
    expect(Math.abs(narration.durationSec! - expected)).toBeLessThanOrEqual(0.15);
    const video = await probe(await t.artifacts.toLocalFile(outputs.merge.video as ArtifactRef));
    expect(video).toMatchObject({
      hasVideo: true,
      hasAudio: true,
      videoCodec: 'h264',
      audioCodec: 'aac',
    });
    expect(Math.abs(video.durationSec! - expected)).toBeLessThanOrEqual(0.2);
  });
});

/**
 * Runs a plan in its topological order in this process, the way the interpreter wires it
 * (list inputs concatenated, fan-out per item, list outputs collected), without Temporal.
 */
async function runPlan(
  plan: ExecutionPlan,
  t: TestNodeContext,
): Promise<Record<string, Record<string, unknown>>> {
  const activities = await loadNodeActivities();
  const outputs: Record<string, Record<string, unknown>> = {};
  for (const id of plan.order) {
    const node = plan.nodes[id];
    if (node.step.kind === 'constant') {
      outputs[id] = node.step.outputs;
      continue;
    }
    const inputs: Record<string, unknown> = {};
    for (const [port, { list, sources }] of Object.entries(node.inputs)) {
      const values = sources.map((source) => outputs[source.node][source.port]);
      inputs[port] = list ? values.flat() : values[0];
    }
    const { fanOut, listOutputs } = node.step;
    if (!fanOut) {
      outputs[id] = await activities[node.type]({ params: node.params, inputs, ctx: t.ctx });
      continue;
    }
    const source = inputs[fanOut.input] as Record<string, unknown> | unknown[];
    const items = (
      fanOut.path ? (source as Record<string, unknown>)[fanOut.path] : source
    ) as unknown[];
    const collected: Record<string, unknown[]> = Object.fromEntries(
      listOutputs.map((p) => [p, []]),
    );
    for (let index = 0; index < items.length; index++) {
      const ctx = await t.child({ index, total: items.length });
      const result = await activities[node.type]({ params: node.params, inputs, ctx });
      for (const port of listOutputs) collected[port].push(result[port]);
    }
    outputs[id] = collected;
  }
  return outputs;
}
