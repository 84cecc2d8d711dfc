import { describe, expect, it } from 'vitest';
import { characterShort } from '../test/fixtures';
import { graphSchema } from '../../../nodes/definitions';
import { copySelection, parsePaste, placeFragment } from './clipboard';

describe('clipboard', () => {
  it('copies the selection as a loadable graph document with only inner edges', () => {
    const doc = characterShort();
    const text = copySelection(doc.nodes, doc.edges, new Set(['script', 'story', 'merge']))!;
    const parsed = JSON.parse(text);
    expect(parsed).toMatchObject({ schema: 'character-lab/graph', version: 1 });
    expect(parsed.nodes.map((n: { id: string }) => n.id)).toEqual(['script', 'story', 'merge']);
    expect(parsed.edges.map((e: { id: string }) => e.id)).toEqual([
      'e-script-story',
      'e-story-merge',
    ]);
    const pasted = parsePaste(text, graphSchema);
    expect(pasted.kind).toBe('graph');
    if (pasted.kind === 'graph') expect(pasted.fragment.nodes).toEqual(parsed.nodes);
  });

  it('copies nothing when nothing is selected', () => {
    const doc = characterShort();
    expect(copySelection(doc.nodes, doc.edges, new Set())).toBeNull();
  });

  it('accepts a bare { nodes, edges } and fills param defaults', () => {
    const result = parsePaste(
      JSON.stringify({
        nodes: [
          { id: 'a', type: 'gpt-storyboard', typeVersion: 1, position: { x: 0, y: 0 }, params: {} },
        ],
        edges: [],
      }),
      graphSchema,
    );
    expect(result.kind).toBe('graph');
    if (result.kind === 'graph')
      expect(result.fragment.nodes[0].params).toMatchObject({ shots: 4 });
  });

  it('migrates a version 0 document on paste', () => {
    const result = parsePaste(
      JSON.stringify({
        version: 0,
        id: 'old',
        name: 'Old',
        nodes: [{ id: 's', type: 'script-input', position: { x: 0, y: 0 }, data: { text: 'Hi.' } }],
        links: [],
      }),
      graphSchema,
    );
    expect(result).toMatchObject({ kind: 'graph', migratedFrom: 0 });
    if (result.kind === 'graph') expect(result.fragment.nodes[0].params.text).toBe('Hi.');
  });

  it('lets ordinary text through and reports broken graph JSON with every problem', () => {
    expect(parsePaste('hello world', graphSchema).kind).toBe('not-graph');
    expect(parsePaste('{"a": 1}', graphSchema).kind).toBe('not-graph');
    expect(parsePaste('{"nodes": [', graphSchema).kind).toBe('problems');
    const broken = parsePaste(
      JSON.stringify({
        schema: 'character-lab/graph',
        version: 1,
        id: 'x',
        name: 'x',
        nodes: [
          {
            id: 'a',
            type: 'script-input',
            typeVersion: 1,
            position: { x: 'left', y: 0 },
            params: {},
          },
        ],
        edges: [{ id: 'e', source: 'a' }],
      }),
      graphSchema,
    );
    expect(broken.kind).toBe('problems');
    if (broken.kind === 'problems') expect(broken.problems.length).toBeGreaterThanOrEqual(2);
  });

  it('places a fragment on free ids, drops edges leaving it and moves it to a point', () => {
    const doc = characterShort();
    const placed = placeFragment(
      { nodes: doc.nodes.filter((n) => ['script', 'story'].includes(n.id)), edges: doc.edges },
      new Set(['script']),
      new Set(['e-script-story']),
      { at: { x: 1000, y: 500 } },
    );
    expect(placed.nodes.map((n) => [n.id, n.position])).toEqual([
      ['script-2', { x: 1000, y: 500 }],
      ['story', { x: 1340, y: 580 }],
    ]);
    expect(placed.edges).toEqual([
      {
        id: 'e-script-story-2',
        source: 'script-2',
        sourcePort: 'text',
        target: 'story',
        targetPort: 'script',
      },
    ]);
  });
});
