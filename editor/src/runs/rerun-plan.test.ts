import { describe, expect, it } from 'vitest';
import { characterShort } from '../test/fixtures';
import { planRerun } from './rerun-plan';

describe('planRerun', () => {
  it('sends only the changed params', () => {
    const ran = characterShort();
    const now = characterShort();
    now.nodes.find((n) => n.id === 'merge')!.params.crossfadeSec = 0.5;
    now.nodes.find((n) => n.id === 'story')!.position = { x: 9, y: 9 };
    expect(planRerun(ran, now)).toEqual({
      kind: 'rerun',
      params: { merge: { crossfadeSec: 0.5 } },
    });
    expect(planRerun(ran, characterShort())).toEqual({ kind: 'rerun', params: {} });
  });

  it('starts fresh when nodes or edges changed', () => {
    const ran = characterShort();
    const fewer = characterShort();
    fewer.nodes.pop();
    expect(planRerun(ran, fewer)).toMatchObject({ kind: 'fresh' });
    const rewired = characterShort();
    rewired.edges.pop();
    expect(planRerun(ran, rewired)).toEqual({ kind: 'fresh', reason: 'edges changed' });
  });
});
