/**
 * The live view of one run: the server's snapshot, then its events folded with the engine's
 * own `applyEvent` (the fold the server stores), so the browser and the server always agree.
 * A (re)watch answers with a fresh snapshot; events that arrive before it are kept and folded
 * after, events already in the snapshot are ignored by seq. Pure.
 */
import { applyEvent } from '../../../engine/runs/events';
import type { RunEvent, RunSnapshot } from '../../../engine/runs/events';

/** Events kept for the log; older ones scroll away. */
export const LOG_LIMIT = 2_000;

export interface RunFeed {
  runId: string;
  snapshot: RunSnapshot | null;
  /** Every event seen, in seq order, without duplicates (the run panel's log). */
  log: RunEvent[];
  /** Events received before the first snapshot. */
  pending: RunEvent[];
  /** Outputs of fan-out items as they finish (`frames` item 2 before the whole node is done). */
  itemOutputs: Record<string, Record<number, Record<string, unknown>>>;
}

export function createFeed(runId: string): RunFeed {
  return { runId, snapshot: null, log: [], pending: [], itemOutputs: {} };
}

/** The seq to resume from after a reconnect: everything up to it is already folded. */
export function resumeSeq(feed: RunFeed): number {
  return feed.snapshot?.seq ?? 0;
}

export function feedSnapshot(feed: RunFeed, snapshot: RunSnapshot): RunFeed {
  // An older snapshot (a slow ack after newer events) must not roll the view back.
  const base = feed.snapshot && feed.snapshot.seq > snapshot.seq ? feed.snapshot : snapshot;
  const folded = feed.pending.reduce(applyEvent, base);
  return { ...feed, snapshot: folded, pending: [] };
}

export function feedEvent(feed: RunFeed, event: RunEvent): RunFeed {
  if (event.runId !== feed.runId) return feed;
  const log = addToLog(feed.log, event);
  const itemOutputs = recordItemOutputs(feed.itemOutputs, event);
  if (!feed.snapshot) {
    const pending = feed.pending.some((e) => e.seq === event.seq)
      ? feed.pending
      : [...feed.pending, event];
    return { ...feed, log, itemOutputs, pending: pending.sort((a, b) => a.seq - b.seq) };
  }
  return { ...feed, log, itemOutputs, snapshot: applyEvent(feed.snapshot, event) };
}

function addToLog(log: RunEvent[], event: RunEvent): RunEvent[] {
  const last = log[log.length - 1];
  if (!last || last.seq < event.seq) return [...log, event].slice(-LOG_LIMIT);
  if (log.some((e) => e.seq === event.seq)) return log;
  return [...log, event].sort((a, b) => a.seq - b.seq).slice(-LOG_LIMIT);
}

function recordItemOutputs(
  current: RunFeed['itemOutputs'],
  event: RunEvent,
): RunFeed['itemOutputs'] {
  if (!event.nodeId || event.index === undefined || !event.outputs) return current;
  if (event.type !== 'node.completed' && event.type !== 'node.cached') return current;
  return {
    ...current,
    [event.nodeId]: { ...current[event.nodeId], [event.index]: event.outputs },
  };
}
