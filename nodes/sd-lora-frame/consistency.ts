/**
 * The consistency of a kept frame, as the frames node reports it per shot (its `consistency`
 * output): what the canvas badge and the run summary show. Types only, browser-safe: the editor
 * reads it, the gate (gate.ts, worker-only) writes it.
 */

/** Why a frame was not gated. */
export type UngatedReason = 'character-absent' | 'no-identity' | 'gate-off' | 'no-character';

/**
 * The kept frame's consistency, one per shot in the node's `consistency` output: what the
 * canvas badge and the run summary show.
 */
export interface FrameConsistency {
  gated: boolean;
  reason?: UngatedReason;
  /** Face distance of the kept attempt; null when it shows no face (or was not gated). */
  distance: number | null;
  threshold: number | null;
  pass: boolean | null;
  /** Renders made for this shot (1 when not gated). */
  attempts: number;
  /** The seed of the kept attempt. */
  seed: number;
  /** The identity version the frame was scored against; null when not gated. */
  identityVersion: number | null;
  /** True when re-renders stopped because the run's attempt budget was spent. */
  budgetExhausted?: boolean;
}
