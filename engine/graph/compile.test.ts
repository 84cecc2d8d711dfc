import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { descendants, type CompileOptions } from './compile';
import type { GraphDocument } from './document';
import { loadGraph as loadGraphWith } from './load';
import type { ActivityStep } from './plan';
import { testEdge as edge, testGraph as graph, testNode as node } from '../testing/test-registry';
import { TEST_REGISTRY, testSchema } from '../testing/test-registry';
import { GraphInvalid, type NodeRegistry } from './problems';

// The core takes its registry as an argument; these tests use the real node types plus test ones.
const loadGraph = (input: unknown, registry: NodeRegistry = TEST_REGISTRY) =>
  loadGraphWith(input, registry);
/** Compiling goes through `prepare`, which validates first, as every production caller does. */
const compile = (doc: GraphDocument, _registry?: NodeRegistry, options?: CompileOptions) =>
  testSchema.prepare(doc, options).plan;

function characterShort(): GraphDocument {
  const text = readFileSync(new URL('./fixtures/character-short.v1.json', import.meta.url), 'utf8');
  const result = loadGraph(text);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.graph;
}

function activity(step: unknown): ActivityStep {
  expect(step).toMatchObject({ kind: 'activity' });
  return step as ActivityStep;
}

describe('compile', () => {
  it('orders the character short topologically and wires every input to its sources', () => {
    const plan = compile(characterShort());
    expect(plan).toMatchObject({
      schema: 'character-lab/plan',
      version: 1,
      graphId: 'wf_character_short',
      graphName: 'Character short',
      forceRun: [],
    });
    expect(plan.order).toEqual(['script', 'character', 'story', 'frames', 'clips', 'merge']);
    expect(plan.nodes.story.inputs).toEqual({
      script: { list: false, sources: [{ node: 'script', port: 'text' }] },
      character: { list: false, sources: [{ node: 'character', port: 'character' }] },
    });
    expect(plan.nodes.merge.inputs).toEqual({
      clips: { list: true, sources: [{ node: 'clips', port: 'clips' }] },
      storyboard: { list: false, sources: [{ node: 'story', port: 'storyboard' }] },
    });
    expect(plan.nodes.merge.parents).toEqual(['clips', 'story']);
    expect(plan.nodes.frames.parents).toEqual(['story', 'character']);
    expect(plan.nodes.script.parents).toEqual([]);
    expect(plan.nodes.script.inputs).toEqual({});
  });

  it('evaluates workflow nodes to constants and pins each node type version', () => {
    const plan = compile(characterShort());
    expect(plan.nodes.script).toMatchObject({
      type: 'script-input',
      typeVersion: 1,
      title: 'Script',
      step: {
        kind: 'constant',
        outputs: {
          text: 'Mara climbs the last ridge at dawn. She looks down at the glowing valley. She smiles and starts the descent.',
        },
      },
    });
  });

  it('turns other nodes into activity steps with queue, fan-out, list outputs, timeouts and retry', () => {
    const plan = compile(characterShort());
    expect(activity(plan.nodes.frames.step)).toEqual({
      kind: 'activity',
      activityType: 'sd-lora-frame',
      taskQueue: 'lab-gpu',
      fanOut: { input: 'storyboard', path: 'shots' },
      listOutputs: ['frames'],
      maxParallel: 2,
      startToCloseSec: 900,
      heartbeatSec: 10,
      retry: { maximumAttempts: 3, initialIntervalSec: 1, backoffCoefficient: 2 },
      cacheable: true,
    });
    expect(activity(plan.nodes.clips.step).fanOut).toEqual(
      TEST_REGISTRY.get('runway-clip')!.fanOut,
    );
    expect(activity(plan.nodes.character.step)).toMatchObject({
      taskQueue: 'lab-cpu',
      cacheable: false,
    });
    expect(activity(plan.nodes.character.step).fanOut).toBeUndefined();
    expect(activity(plan.nodes.merge.step)).toMatchObject({
      taskQueue: 'lab-cpu',
      listOutputs: [],
    });
    expect(activity(plan.nodes.story.step)).toMatchObject({
      taskQueue: 'lab-io',
      activityType: 'gpt-storyboard',
    });
  });

  it('parses params with defaults even when the document left them out', () => {
    const plan = compile(
      graph(
        [node('s', 'script-input'), node('story', 'gpt-storyboard', { shots: 2 }, 1)],
        [edge('e1', 's.text', 'story.script')],
      ),
    );
    expect(plan.nodes.story.params).toEqual({
      provider: 'auto',
      model: 'gpt-5.4-mini',
      shots: 2,
      shotDurationSec: 2,
      style: 'cinematic, soft light',
    });
    expect(plan.nodes.s.params.text).toMatch(/explorer/);
  });

  it('breaks ties by document order, so the same graph always gives the same plan', () => {
    const doc = characterShort();
    const reversed = { ...doc, nodes: [...doc.nodes].reverse() };
    expect(compile(reversed).order).toEqual([
      'character',
      'script',
      'story',
      'frames',
      'clips',
      'merge',
    ]);
    expect(compile(doc)).toEqual(compile(structuredClone(doc)));
  });

  it('concatenates several sources of a list input in edge order', () => {
    const doc = characterShort();
    doc.nodes.splice(4, 0, {
      ...doc.nodes.find((n) => n.id === 'clips')!,
      id: 'alt',
      label: 'Alt clips',
    });
    doc.edges.unshift(
      edge('a3', 'alt.clips', 'merge.clips'),
      edge('a1', 'frames.frames', 'alt.frames'),
      edge('a2', 'story.storyboard', 'alt.storyboard'),
    );
    const plan = compile(doc);
    expect(plan.nodes.merge.inputs.clips.sources).toEqual([
      { node: 'alt', port: 'clips' },
      { node: 'clips', port: 'clips' },
    ]);
    expect(plan.nodes.alt.title).toBe('Alt clips');
    expect(plan.order).toEqual(['script', 'character', 'story', 'frames', 'alt', 'clips', 'merge']);
  });

  it('is plain JSON: the plan survives a round trip (it is the workflow input)', () => {
    const plan = compile(characterShort());
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('forceRun adds every descendant, in plan order', () => {
    const doc = characterShort();
    expect(compile(doc, undefined, { forceRun: ['frames'] }).forceRun).toEqual([
      'frames',
      'clips',
      'merge',
    ]);
    expect(compile(doc, undefined, { forceRun: ['merge', 'character'] }).forceRun).toEqual([
      'character',
      'story',
      'frames',
      'clips',
      'merge',
    ]);
  });

  it('throws GraphInvalid with every problem, LabError-shaped', () => {
    const doc = characterShort();
    const broken = { ...doc, edges: doc.edges.filter((e) => e.id !== 'e1') };
    let thrown: unknown;
    try {
      compile(broken, undefined, { forceRun: ['nope'] });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GraphInvalid);
    const invalid = thrown as GraphInvalid;
    expect(invalid.problems.map((p) => p.code)).toEqual(['missing_required_input', 'unknown_node']);
    expect(invalid).toMatchObject({
      code: 'invalid_graph',
      status: 400,
      details: { errors: invalid.problems },
    });
    expect(invalid.message).toMatch(
      /^the graph has 2 problems: node "story".*; cannot rerun from node "nope"/,
    );
    expect(invalid.problems[1].message).toContain('cannot rerun from node "nope"');
  });
});

describe('descendants', () => {
  it('walks a plan in plan order and a document in document order', () => {
    const doc = characterShort();
    const plan = compile(doc);
    expect(descendants(plan, 'story')).toEqual(['frames', 'clips', 'merge']);
    expect(descendants(doc, 'character')).toEqual(['story', 'frames', 'clips', 'merge']);
    expect(descendants(plan, 'merge')).toEqual([]);
    expect(descendants(doc, 'ghost')).toEqual([]);
  });
});
