import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GraphDocument } from './document';
import { loadGraph as loadGraphWith } from './load';
import {
  TEST_REGISTRY,
  testSchema,
  testEdge as edge,
  testGraph as graph,
  testNode as node,
} from '../testing/test-registry';
import { validateGraph as validateGraphWith } from './validate';
import { closestName, type NodeRegistry, type ValidationProblem } from './problems';

// The core takes its registry as an argument; these tests use the real node types plus test ones.
const loadGraph = (input: unknown, registry: NodeRegistry = TEST_REGISTRY) =>
  loadGraphWith(input, registry);
const validateGraph = (doc: GraphDocument, registry: NodeRegistry = TEST_REGISTRY) =>
  validateGraphWith(doc, registry);

const characterShortText = readFileSync(
  new URL('./fixtures/character-short.v1.json', import.meta.url),
  'utf8',
);

function characterShort(): GraphDocument {
  const result = loadGraph(characterShortText);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.graph;
}

/** The problems' codes and subjects, for compact assertions. */
function summary(problems: ValidationProblem[]) {
  return problems.map(({ code, nodeId, edgeId, port, param }) => ({
    code,
    ...(nodeId === undefined ? {} : { nodeId }),
    ...(edgeId === undefined ? {} : { edgeId }),
    ...(port === undefined ? {} : { port }),
    ...(param === undefined ? {} : { param }),
  }));
}

const script = (id = 'script') => node(id, 'script-input', { text: 'Once upon a time.' });
const story = (id = 'story') => node(id, 'gpt-storyboard');

describe('validateGraph', () => {
  it('finds nothing wrong with the character-short fixture', () => {
    expect(validateGraph(characterShort())).toEqual([]);
  });

  it('empty_graph', () => {
    const problems = validateGraph(graph([]));
    expect(summary(problems)).toEqual([{ code: 'empty_graph' }]);
    expect(problems[0].message).toContain('add one from the palette');
  });

  it('duplicate_id for nodes and for edges, once per id', () => {
    const problems = validateGraph(
      graph(
        [script(), script(), story()],
        [
          edge('e1', 'script.text', 'story.script'),
          edge('e1', 'script.text', 'story.script'),
          edge('e1', 'script.text', 'story.script'),
        ],
      ),
    );
    expect(summary(problems).filter((p) => p.code === 'duplicate_id')).toEqual([
      { code: 'duplicate_id', nodeId: 'script' },
      { code: 'duplicate_id', edgeId: 'e1' },
    ]);
    expect(problems.find((p) => p.edgeId === 'e1' && p.code === 'duplicate_id')!.message).toContain(
      '3 edges have the id "e1"',
    );
  });

  it('unknown_node_type, with a spelling hint, and no knock-on problems for its edges', () => {
    const problems = validateGraph(
      graph(
        [script(), node('story', 'gpt-storybord')],
        [edge('e1', 'script.text', 'story.script')],
      ),
    );
    expect(summary(problems)).toEqual([{ code: 'unknown_node_type', nodeId: 'story' }]);
    expect(problems[0].message).toMatch(
      /type "gpt-storybord".*did you mean "gpt-storyboard"\?.*replace the node/,
    );
  });

  it('unsupported_version when a document skipped loadGraph', () => {
    const problems = validateGraph(graph([node('greet', 'test-greeter', {}, 1)]), TEST_REGISTRY);
    expect(summary(problems)).toEqual([{ code: 'unsupported_version', nodeId: 'greet' }]);
    expect(problems[0].message).toContain('load or prepare');
  });

  it('invalid_param: zod issues, unknown params and definition checks', () => {
    const problems = validateGraph(
      graph(
        [
          script(),
          node('story', 'gpt-storyboard', { shots: 99, provider: 'claude', shotz: 3 }),
          node('hero', 'character-loader', { characterId: '' }),
          node('empty', 'script-input', { text: '   ' }),
        ],
        [
          edge('e1', 'script.text', 'story.script'),
          edge('e2', 'hero.character', 'story.character'),
        ],
      ),
    );
    expect(summary(problems)).toEqual([
      { code: 'invalid_param', nodeId: 'story', param: 'shotz' },
      { code: 'invalid_param', nodeId: 'story', param: 'provider' },
      { code: 'invalid_param', nodeId: 'story', param: 'shots' },
      { code: 'invalid_param', nodeId: 'hero', param: 'characterId' },
      { code: 'invalid_param', nodeId: 'empty', param: 'text' },
    ]);
    const messages = problems.map((p) => p.message);
    expect(messages[0]).toMatch(
      /node "story" \(Storyboard\) has no param "shotz" \(did you mean "shots"\?\)/,
    );
    expect(messages[2]).toMatch(/param "shots": Too big: .*24.*set a valid value in the inspector/);
    expect(messages[3]).toBe(
      'node "hero" (Character): no character chosen: pick one in the inspector',
    );
  });

  it('dangling_edge names the missing end', () => {
    const problems = validateGraph(graph([script()], [edge('e1', 'script.text', 'ghost.script')]));
    expect(summary(problems)).toEqual([{ code: 'dangling_edge', edgeId: 'e1' }]);
    expect(problems[0].message).toContain('missing target node "ghost"');
  });

  it('unknown_port on either end, with a hint (an edge to a real input still counts as wiring it)', () => {
    const problems = validateGraph(
      graph(
        [script(), story()],
        [edge('e1', 'script.txt', 'story.script'), edge('e2', 'script.text', 'story.scrip')],
      ),
    );
    expect(summary(problems)).toEqual([
      { code: 'unknown_port', nodeId: 'script', edgeId: 'e1', port: 'txt' },
      { code: 'unknown_port', nodeId: 'story', edgeId: 'e2', port: 'scrip' },
    ]);
    expect(problems[0].message).toContain(
      'output "txt", which it does not have (did you mean "text"?)',
    );
    // Ports named like Object.prototype members are not mistaken for real ports.
    const proto = validateGraph(
      graph([script(), story()], [edge('e1', 'script.toString', 'story.script')]),
    );
    expect(summary(proto)[0]).toMatchObject({ code: 'unknown_port', port: 'toString' });
  });

  it('port_type_mismatch names both ports and their types', () => {
    const problems = validateGraph(
      graph(
        [script(), story(), node('frames', 'sd-lora-frame')],
        [edge('e1', 'script.text', 'story.script'), edge('e2', 'script.text', 'frames.storyboard')],
      ),
    );
    expect(summary(problems)).toEqual([
      { code: 'port_type_mismatch', nodeId: 'frames', edgeId: 'e2', port: 'storyboard' },
    ]);
    expect(problems[0].message).toBe(
      'edge "e2" connects node "script" (Script) output "text" (text) to node "frames" (Frames (SD + LoRA)) input "storyboard" (storyboard), which cannot take it: connect an output of type storyboard',
    );
  });

  it('missing_required_input, but not for optional inputs', () => {
    const problems = validateGraph(graph([story()]));
    expect(summary(problems)).toEqual([
      { code: 'missing_required_input', nodeId: 'story', port: 'script' },
    ]);
    expect(problems[0].message).toContain(
      'needs its input "script" (text): connect an output of type text',
    );
  });

  it('multiple_inputs_to_port unless the input takes several edges', () => {
    const single = validateGraph(
      graph(
        [script('a'), script('b'), story()],
        [edge('e1', 'a.text', 'story.script'), edge('e2', 'b.text', 'story.script')],
      ),
    );
    expect(summary(single)).toEqual([
      { code: 'multiple_inputs_to_port', nodeId: 'story', edgeId: 'e2', port: 'script' },
    ]);
    expect(single[0].message).toContain('takes one edge but has 2 ("e1" from "a", "e2" from "b")');

    const doc = characterShort();
    doc.nodes.push({ ...doc.nodes.find((n) => n.id === 'clips')!, id: 'clips2' });
    doc.edges.push(
      edge('e9', 'frames.frames', 'clips2.frames'),
      edge('e10', 'story.storyboard', 'clips2.storyboard'),
      edge('e11', 'clips2.clips', 'merge.clips'),
    );
    expect(validateGraph(doc)).toEqual([]);
  });

  it('cycle names the nodes in order and the edges to cut', () => {
    const check = (id: string) => node(id, 'consistency-check');
    const hero = node('hero', 'character-loader', { characterId: 'chr_1' });
    const problems = validateGraph(
      graph(
        [hero, check('a'), check('b'), check('c'), check('solo')],
        [
          edge('h1', 'hero.character', 'a.character'),
          edge('h2', 'hero.character', 'b.character'),
          edge('h3', 'hero.character', 'c.character'),
          edge('h4', 'hero.character', 'solo.character'),
          edge('ab', 'a.frames', 'b.frames'),
          edge('bc', 'b.frames', 'c.frames'),
          edge('ca', 'c.frames', 'a.frames'),
          edge('self', 'solo.frames', 'solo.frames'),
        ],
      ),
    );
    expect(summary(problems)).toEqual([
      { code: 'cycle', nodeId: 'a', edgeId: 'ab' },
      { code: 'cycle', nodeId: 'solo', edgeId: 'self' },
    ]);
    expect(problems[0].message).toBe(
      'the graph loops: "a" → "b" → "c" → "a"; data must flow one way: delete one of the edges "ab", "bc", "ca"',
    );
    expect(problems[1].message).toContain('"solo" → "solo"');
  });

  it('cycle mentions every node of a tangle larger than the cycle it names', () => {
    const check = (id: string) => node(id, 'consistency-check');
    const problems = validateGraph(
      graph(
        [
          node('hero', 'character-loader', { characterId: 'c' }),
          check('a'),
          check('b'),
          check('c'),
        ],
        [
          edge('h1', 'hero.character', 'a.character'),
          edge('h2', 'hero.character', 'b.character'),
          edge('h3', 'hero.character', 'c.character'),
          edge('ab', 'a.frames', 'b.frames'),
          edge('ba', 'b.frames', 'a.frames'),
          edge('bc', 'b.scores', 'c.frames'),
          edge('cb', 'c.frames', 'b.frames'),
        ],
      ),
    );
    const cycles = problems.filter((p) => p.code === 'cycle');
    expect(cycles).toHaveLength(1);
    expect(cycles[0].message).toContain(
      '"a" → "b" → "a" (nodes "a", "b", "c" all depend on each other)',
    );
  });

  it('invalid_exposed for a missing node, a missing param and a duplicate', () => {
    const problems = validateGraph(
      graph([script()], [], {
        exposed: [
          { nodeId: 'script', param: 'text', label: 'Script' },
          { nodeId: 'ghost', param: 'text', label: 'Ghost' },
          { nodeId: 'script', param: 'txt', label: 'Typo' },
          { nodeId: 'script', param: 'text', label: 'Again' },
        ],
      }),
    );
    expect(summary(problems)).toEqual([
      { code: 'invalid_exposed', nodeId: 'ghost', param: 'text' },
      { code: 'invalid_exposed', nodeId: 'script', param: 'txt' },
      { code: 'invalid_exposed', nodeId: 'script', param: 'text' },
    ]);
    expect(problems[1].message).toContain('has no param "txt" (did you mean "text"?)');
    expect(problems[2].message).toContain('exposed twice');
  });

  it('invalid_exposed for a default the param refuses; a valid default and help pass', () => {
    const problems = validateGraph(
      graph([script()], [], {
        exposed: [{ nodeId: 'script', param: 'text', label: 'Script', default: 42 }],
      }),
    );
    expect(summary(problems)).toEqual([
      { code: 'invalid_exposed', nodeId: 'script', param: 'text' },
    ]);
    expect(problems[0].message).toContain('has the default 42');
    const fine = graph([script()], [], {
      exposed: [
        { nodeId: 'script', param: 'text', label: 'Script', help: 'Say it', default: 'Hi.' },
      ],
    });
    expect(validateGraph(fine)).toEqual([]);
  });

  it('reports every problem at once', () => {
    const codes = validateGraph(
      graph(
        [script(), script(), story(), node('x', 'nope'), node('hero', 'character-loader')],
        [edge('e1', 'script.text', 'ghost.in'), edge('e1', 'hero.character', 'story.script')],
        { exposed: [{ nodeId: 'ghost', param: 'p', label: 'P' }] },
      ),
    ).map((p) => p.code);
    expect(new Set(codes)).toEqual(
      new Set([
        'duplicate_id',
        'unknown_node_type',
        'invalid_param',
        'dangling_edge',
        'port_type_mismatch',
        'invalid_exposed',
      ]),
    );
  });

  it('closestName suggests only close names', () => {
    expect(closestName('sd-lora-frames', ['sd-lora-frame', 'runway-clip'])).toBe('sd-lora-frame');
    expect(closestName('banana', ['sd-lora-frame', 'runway-clip'])).toBeUndefined();
  });
});

describe('the graph schema check (load, then validate)', () => {
  it('migrates an old document and validates it', () => {
    const text = readFileSync(
      new URL('./fixtures/migrations/document/0001-edges-and-params.before.json', import.meta.url),
      'utf8',
    );
    const result = testSchema.check(text);
    expect(result.errors).toEqual([]);
    expect(result.loaded).toMatchObject({ migratedFrom: 0 });
    expect(result.loaded?.graph.version).toBe(1);
  });

  it('returns load errors and validation errors the same way', () => {
    expect(testSchema.check('{')).toEqual({
      errors: [expect.objectContaining({ code: 'invalid_json' })],
    });
    const invalid = testSchema.check({ ...JSON.parse(characterShortText), nodes: [] });
    expect(invalid.loaded).toBeDefined();
    expect(invalid.errors.map((e) => e.code)).toContain('empty_graph');
  });
});
