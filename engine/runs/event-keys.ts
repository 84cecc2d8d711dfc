/**
 * Keys of node lifecycle events that two parties report: the worker that ran the activity (at
 * once, for live watchers) and the interpreter workflow (durably, as the backup). Both build the
 * key here from what both know, so the store keeps whichever copy arrives first and drops the
 * other. Pure: the workflow sandbox imports it, and the same inputs give the same key on replay.
 */
import type { RunEventType } from './events';

/**
 * `attempt` goes into node.started only: every attempt of an activity is a start worth showing,
 * while an item completes once per run whatever attempt finished it.
 */
export function lifecycleEventKey(
  type: RunEventType,
  nodeId: string,
  index: number | undefined,
  attempt?: number,
): string {
  const base = `life:${type}:${nodeId}:${index ?? ''}`;
  return attempt === undefined ? base : `${base}:${attempt}`;
}
