/**
 * The consistency gate of the frames node: render a shot, score its face against the
 * character's identity, and re-render a failing frame with a new seed until it passes, the
 * shot's attempt limit is reached, or the run's shared attempt budget is spent. The best-scoring
 * attempt wins.
 *
 * Why the gate lives in the frames node and not in a consistency-check node wired after it: only
 * the node that rendered a frame can render it again honestly (same prompt, LoRA, provider and
 * params, a new seed), and the graph stays a DAG: a downstream node that sent work back upstream
 * would be a hidden cycle the canvas does not show and the cache could not key.
 *
 * Durability: every attempt is saved in the activity's checkpoint, so a Temporal retry resumes
 * after the last finished attempt instead of rendering (and paying for) it again; budget claims
 * are idempotent per `item:attempt` (engine/worker/run-budget.ts), so a retry never charges twice.
 * Seeds come from (seed, reroll, attempt) only, so a replay or retry makes the same attempts.
 */
import type { FaceEmbedder } from '../../engine/faces/face-embedder';
import type { ArtifactRef } from '../../engine/graph/values';
import type { BudgetGrant } from '../../engine/worker/run-budget';
import {
  compareScores,
  scoreImage,
  type FaceScore,
  type ScoringIdentity,
} from '../consistency-check/score';
import type { FrameConsistency, UngatedReason } from './consistency';

export type { FrameConsistency, UngatedReason };

/** One render of a shot and its score. */
export interface GateAttempt {
  attempt: number;
  seed: number;
  frame: ArtifactRef;
  score: FaceScore;
}

export interface GateArgs {
  /** Fan-out item, for budget claimants and labels. */
  index: number;
  label: string;
  identity: ScoringIdentity;
  embedder: FaceEmbedder;
  /** Renders per shot, the first included. */
  maxAttempts: number;
  /** Extra renders (attempt 2 and later) the whole run of this node may make. */
  budget: number;
  thresholdOverride: number;
  baseSeed: number;
  /** Bumped by "regenerate this shot"; 0 for a normal run. */
  reroll: number;
  render(seed: number, attempt: number): Promise<{ frame: ArtifactRef; bytes: Buffer }>;
  claim(claimant: string, limit: number): Promise<BudgetGrant>;
  /** Attempts a previous try of this activity finished (from its checkpoint). */
  resumed: readonly GateAttempt[];
  /** Called after every finished attempt with all of them (saved as the checkpoint). */
  onAttempt(attempts: GateAttempt[]): void;
  /** A stage worth recording in the run's event log (one per attempt). */
  report(stage: string): void;
}

export interface GateResult {
  kept: GateAttempt;
  attempts: GateAttempt[];
  consistency: FrameConsistency;
}

/** Runs the loop; throws only what rendering or scoring throws. */
export async function runGate(args: GateArgs): Promise<GateResult> {
  const attempts = args.resumed.filter((a) => a.attempt <= args.maxAttempts);
  let budgetExhausted = false;
  for (let attempt = 1; attempt <= args.maxAttempts; attempt++) {
    const earlier = attempts.find((a) => a.attempt === attempt);
    if (earlier) {
      if (earlier.score.pass || isRepeat(attempts, earlier)) break;
      continue;
    }
    if (attempt > 1) {
      const grant = await args.claim(`${args.index}:${attempt}`, args.budget);
      if (!grant.granted) {
        budgetExhausted = true;
        args.report(
          `${args.label}: run attempt budget (${args.budget}) spent; keeping the best of ${attempts.length}`,
        );
        break;
      }
    }
    const seed = attemptSeed(args.baseSeed, args.reroll, attempt);
    args.report(`${args.label}: attempt ${attempt}/${args.maxAttempts} (seed ${seed})`);
    const { frame, bytes } = await args.render(seed, attempt);
    const score = await scoreImage(bytes, args.identity, args.embedder, args.thresholdOverride);
    const done: GateAttempt = { attempt, seed, frame, score };
    attempts.push(done);
    args.onAttempt([...attempts]);
    args.report(`${args.label}: attempt ${attempt} ${describeScore(score)}`);
    if (score.pass) break;
    if (isRepeat(attempts, done)) {
      // A deterministic provider (the local animatic) gives the same frame for every seed:
      // more attempts would spend budget on identical pictures.
      args.report(`${args.label}: a new seed gave the same frame; keeping it`);
      break;
    }
  }
  const kept = [...attempts].sort(
    (a, b) => compareScores(a.score, b.score) || a.attempt - b.attempt,
  )[0];
  return {
    kept,
    attempts,
    consistency: {
      gated: true,
      distance: kept.score.distance,
      threshold: kept.score.threshold,
      pass: kept.score.pass,
      attempts: attempts.length,
      seed: kept.seed,
      identityVersion: args.identity.version,
      ...(budgetExhausted && !kept.score.pass ? { budgetExhausted: true } : {}),
    },
  };
}

/** The consistency of a frame rendered once without the gate. */
export function ungated(reason: UngatedReason, seed: number): FrameConsistency {
  return {
    gated: false,
    reason,
    distance: null,
    threshold: null,
    pass: null,
    attempts: 1,
    seed,
    identityVersion: null,
  };
}

/**
 * The seed of one attempt: the node's seed for the first attempt of an un-rerolled shot (so the
 * gate changes nothing for a frame that passes), else a 32-bit mix of seed, reroll and attempt.
 */
export function attemptSeed(baseSeed: number, reroll: number, attempt: number): number {
  if (reroll === 0 && attempt === 1) return baseSeed;
  let h = (baseSeed ^ Math.imul(reroll + 1, 0x9e3779b1) ^ Math.imul(attempt, 0x85ebca6b)) >>> 0;
  // murmur3's finaliser: neighbouring inputs land far apart.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function isRepeat(attempts: readonly GateAttempt[], attempt: GateAttempt): boolean {
  return attempts.some((a) => a !== attempt && a.frame.sha256 === attempt.frame.sha256);
}

function describeScore(score: FaceScore): string {
  if (score.distance === null) return 'shows no face (fails)';
  return `distance ${score.distance.toFixed(2)} ${score.pass ? '≤' : '>'} threshold ${score.threshold.toFixed(2)} (${score.pass ? 'passes' : 'fails'})`;
}
