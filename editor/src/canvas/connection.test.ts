import { describe, expect, it } from 'vitest';
import { catalog, characterShort } from '../test/fixtures';
import { checkConnection, handleAccepts, reaches } from './connection';

const doc = characterShort();
const types = new Map(doc.nodes.map((n) => [n.id, n.type]));
const edges = doc.edges.map((e) => ({
  source: e.source,
  target: e.target,
  sourceHandle: e.sourcePort,
  targetHandle: e.targetPort,
}));
const check = (
  source: string,
  sourceHandle: string,
  target: string,
  targetHandle: string,
  list = edges,
) =>
  checkConnection(
    { source, sourceHandle, target, targetHandle },
    (id) => types.get(id),
    list,
    catalog(),
  );

describe('checkConnection', () => {
  it('accepts matching kinds and a single value into a list input', () => {
    expect(check('story', 'storyboard', 'frames', 'storyboard', [])).toEqual({ ok: true });
  });

  it('names both ports when the kinds differ', () => {
    expect(check('script', 'text', 'frames', 'storyboard', [])).toEqual({
      ok: false,
      reason: 'Text (text) cannot feed Storyboard (storyboard)',
    });
  });

  it('refuses a list into a single input, self-loops, duplicates and loops', () => {
    expect(check('frames', 'frames', 'story', 'character', []).ok).toBe(false);
    expect(check('story', 'storyboard', 'story', 'script', []).ok).toBe(false);
    expect(check('story', 'storyboard', 'frames', 'storyboard')).toMatchObject({
      ok: false,
      reason: 'these ports are already connected',
    });
    expect(check('clips', 'clips', 'merge', 'clips')).toMatchObject({ ok: false });
    expect(reaches('story', 'merge', edges)).toBe(true);
    expect(reaches('merge', 'story', edges)).toBe(false);
  });

  it('refuses unknown ports and nodes', () => {
    expect(check('story', 'nope', 'frames', 'storyboard', []).ok).toBe(false);
    expect(check('ghost', 'text', 'story', 'script', []).ok).toBe(false);
  });
});

describe('handleAccepts', () => {
  const origin = {
    nodeId: 'story',
    nodeType: 'gpt-storyboard',
    handleId: 'storyboard',
    handleType: 'source' as const,
  };
  it('lights compatible inputs on other nodes only', () => {
    expect(
      handleAccepts(origin, 'frames', 'sd-lora-frame', 'storyboard', 'target', catalog()),
    ).toBe(true);
    expect(handleAccepts(origin, 'frames', 'sd-lora-frame', 'character', 'target', catalog())).toBe(
      false,
    );
    expect(handleAccepts(origin, 'frames', 'sd-lora-frame', 'frames', 'source', catalog())).toBe(
      false,
    );
    expect(handleAccepts(origin, 'story', 'gpt-storyboard', 'script', 'target', catalog())).toBe(
      false,
    );
  });
  it('works when the drag starts from an input', () => {
    const fromInput = {
      nodeId: 'clips',
      nodeType: 'runway-clip',
      handleId: 'frames',
      handleType: 'target' as const,
    };
    expect(handleAccepts(fromInput, 'frames', 'sd-lora-frame', 'frames', 'source', catalog())).toBe(
      true,
    );
    expect(handleAccepts(fromInput, 'script', 'script-input', 'text', 'source', catalog())).toBe(
      false,
    );
  });
});
