import { describe, expect, it } from 'vitest';
import type { FaceEmbedder } from '../../engine/faces/face-embedder';
import { faceDistance } from '../../engine/faces/face-embedder';
import type { ArtifactRef } from '../../engine/graph/values';
import type { BudgetGrant } from '../../engine/worker/run-budget';
import type { ScoringIdentity } from '../consistency-check/score';
import { attemptSeed, runGate, type GateArgs, type GateAttempt } from './gate';

/**
 * A deterministic embedder: an "image" is the text `face:<x>` (a face whose descriptor is x on
 * the first axis, 0 elsewhere) or anything else (no face). Distances are real Euclidean ones.
 */
const embedder: FaceEmbedder = {
  model: 'test-model',
  embed(image) {
    const match = /^face:(-?[\d.]+)$/.exec(image.toString('utf8'));
    if (!match) return Promise.resolve(null);
    const d = new Float32Array(4);
    d[0] = Number(match[1]);
    return Promise.resolve(d);
  },
  distance: faceDistance,
};

const identity: ScoringIdentity = {
  version: 3,
  model: 'test-model',
  mean: [0, 0, 0, 0],
  threshold: 0.5,
};

function ref(content: string): ArtifactRef {
  const hex = Buffer.from(content).toString('hex').padEnd(64, '0').slice(0, 64);
  return { id: hex, sha256: hex, mime: 'image/png', bytes: content.length };
}

/** A renderer that answers each seed with the image `images(seed, attempt)` and records seeds. */
function renderer(images: (attempt: number) => string) {
  const seeds: number[] = [];
  return {
    seeds,
    render: (seed: number, attempt: number) => {
      seeds.push(seed);
      const content = images(attempt);
      return Promise.resolve({ frame: ref(`${content}#${attempt}`), bytes: Buffer.from(content) });
    },
  };
}

function args(overrides: Partial<GateArgs> & Pick<GateArgs, 'render'>): GateArgs & {
  reports: string[];
  saved: GateAttempt[][];
} {
  const reports: string[] = [];
  const saved: GateAttempt[][] = [];
  return {
    index: 0,
    label: 'shot 1',
    identity,
    embedder,
    maxAttempts: 3,
    budget: 10,
    thresholdOverride: 0,
    baseSeed: 42,
    reroll: 0,
    claim: (_claimant, limit): Promise<BudgetGrant> =>
      Promise.resolve({ granted: true, used: limit }),
    resumed: [],
    onAttempt: (attempts) => saved.push(attempts),
    report: (stage) => reports.push(stage),
    reports,
    saved,
    ...overrides,
  };
}

describe('runGate', () => {
  it('keeps a first frame that passes and renders nothing more', async () => {
    const r = renderer(() => 'face:0.3');
    const result = await runGate(args({ render: r.render }));
    expect(r.seeds).toEqual([42]);
    expect(result.consistency).toEqual({
      gated: true,
      distance: 0.3,
      threshold: 0.5,
      pass: true,
      attempts: 1,
      seed: 42,
      identityVersion: 3,
    });
  });

  it('re-renders a failing frame with new deterministic seeds until one passes', async () => {
    const r = renderer((attempt) => (attempt < 3 ? 'face:0.9' : 'face:0.2'));
    const a = args({ render: r.render });
    const result = await runGate(a);
    expect(r.seeds).toEqual([42, attemptSeed(42, 0, 2), attemptSeed(42, 0, 3)]);
    expect(new Set(r.seeds).size).toBe(3);
    expect(result.kept.attempt).toBe(3);
    expect(result.consistency).toMatchObject({ pass: true, attempts: 3, distance: 0.2 });
    // Every attempt is reported (the run's event log) and checkpointed (a retry resumes).
    expect(a.reports.filter((s) => /attempt \d\/3/.test(s))).toHaveLength(3);
    expect(a.saved.map((a) => a.length)).toEqual([1, 2, 3]);
  });

  it('keeps the best-scoring attempt when none passes', async () => {
    const distances = ['face:0.8', 'face:0.6', 'face:0.95'];
    const r = renderer((attempt) => distances[attempt - 1]);
    const result = await runGate(args({ render: r.render }));
    expect(result.kept.attempt).toBe(2);
    expect(result.consistency).toMatchObject({ pass: false, distance: 0.6, attempts: 3 });
  });

  it('counts a frame without a face as a failure and prefers any face over none', async () => {
    const r = renderer((attempt) => (attempt === 1 ? 'landscape' : 'face:0.7'));
    const result = await runGate(args({ render: r.render, maxAttempts: 2 }));
    expect(r.seeds).toHaveLength(2);
    expect(result.kept.attempt).toBe(2);

    const none = renderer(() => 'landscape');
    const noFace = await runGate(args({ render: none.render, maxAttempts: 2 }));
    expect(noFace.consistency).toMatchObject({ pass: false, distance: null, attempts: 2 });
  });

  it('stops re-rendering when the run budget refuses and says so', async () => {
    const r = renderer(() => 'face:0.9');
    let left = 1;
    const claims: string[] = [];
    const result = await runGate(
      args({
        render: r.render,
        claim: (claimant, limit) => {
          claims.push(claimant);
          return Promise.resolve({ granted: left-- > 0, used: limit });
        },
      }),
    );
    expect(claims).toEqual(['0:2', '0:3']);
    expect(r.seeds).toHaveLength(2);
    expect(result.consistency).toMatchObject({ pass: false, attempts: 2, budgetExhausted: true });
  });

  it('never claims budget for the first render', async () => {
    const r = renderer(() => 'face:0.1');
    const claims: string[] = [];
    await runGate(
      args({
        render: r.render,
        budget: 0,
        claim: (claimant) => {
          claims.push(claimant);
          return Promise.resolve({ granted: false, used: 0 });
        },
      }),
    );
    expect(claims).toEqual([]);
    expect(r.seeds).toEqual([42]);
  });

  it('resumes after the attempts a previous try finished, without rendering them again', async () => {
    const first = renderer((attempt) => (attempt === 1 ? 'face:0.9' : 'face:0.1'));
    const crashed = args({
      render: async (seed, attempt) => {
        if (attempt === 2) throw new Error('worker lost');
        return first.render(seed, attempt);
      },
    });
    await expect(runGate(crashed)).rejects.toThrow('worker lost');
    const resumed = crashed.saved.at(-1)!;
    expect(resumed).toHaveLength(1);

    const retry = renderer((attempt) => (attempt === 1 ? 'face:0.9' : 'face:0.1'));
    const result = await runGate(args({ render: retry.render, resumed }));
    expect(retry.seeds).toEqual([attemptSeed(42, 0, 2)]);
    expect(result.consistency).toMatchObject({ pass: true, attempts: 2 });
  });

  it('stops when a new seed gives the same frame (a deterministic provider)', async () => {
    const same = {
      render: (_seed: number) =>
        Promise.resolve({ frame: ref('same-card'), bytes: Buffer.from('face:0.9') }),
    };
    const a = args({ render: same.render });
    const result = await runGate(a);
    expect(result.attempts).toHaveLength(2);
    expect(a.reports.at(-1)).toMatch(/same frame/);
  });

  it('uses a threshold override instead of the calibrated threshold', async () => {
    const r = renderer(() => 'face:0.55');
    const result = await runGate(args({ render: r.render, thresholdOverride: 0.6 }));
    expect(result.consistency).toMatchObject({ pass: true, threshold: 0.6, attempts: 1 });
  });

  it('gives a rerolled shot a different first seed', () => {
    expect(attemptSeed(42, 0, 1)).toBe(42);
    expect(attemptSeed(42, 1, 1)).not.toBe(42);
    expect(attemptSeed(42, 1, 1)).not.toBe(attemptSeed(42, 2, 1));
    expect(attemptSeed(42, 1, 2)).toBe(attemptSeed(42, 1, 2));
  });
});
