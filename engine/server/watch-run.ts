/**
 * Watching a run without missing or repeating an event: subscribe to live events first,
 * then read the snapshot and the stored backlog, and forward only live events newer than the
 * last one replayed. Events stored while the backlog is read reach the watcher exactly once,
 * by whichever path sees them first. Used by Socket.IO `run:watch` and the embedded CLI.
 *
 * Live events can arrive out of seq order — two appends in flight against an asynchronous
 * store finish in either order — and some never arrive here at all (stored by another
 * process). So events are forwarded strictly in seq order: one that runs ahead waits, and a
 * gap still open after GAP_WAIT_MS is filled from the store, which holds every seq.
 */
import { foldEvents, type RunEvent, type RunSnapshot } from '../runs/events';
import type { Engine } from '../engine-types';

/** How long an out-of-order event waits for the ones before it before the store is asked. */
const GAP_WAIT_MS = 100;

export interface RunWatch {
  /** The run as of the last stored event (the stored snapshot may lag a little behind). */
  snapshot: RunSnapshot;
  /** Stored events with seq > sinceSeq, in order. */
  events: RunEvent[];
  /**
   * Starts forwarding live events (the ones buffered while the backlog was read come first).
   * Call it after the backlog has been delivered, so order holds.
   */
  start(): void;
  stop(): void;
}

/** Opens a watch on a run; null when the run does not exist. */
export async function watchRun(
  engine: Pick<Engine, 'events' | 'runs'>,
  runId: string,
  sinceSeq: number,
  onEvent: (event: RunEvent) => void,
): Promise<RunWatch | null> {
  let live = false;
  let stopped = false;
  let lastSeq = Number.POSITIVE_INFINITY;
  const buffered: RunEvent[] = [];
  /** Events that arrived ahead of a missing seq, by seq. */
  const ahead = new Map<number, RunEvent>();
  let gapTimer: NodeJS.Timeout | undefined;

  const forward = (event: RunEvent) => {
    if (stopped || event.seq <= lastSeq) return;
    if (event.seq !== lastSeq + 1) {
      ahead.set(event.seq, event);
      waitForGap();
      return;
    }
    lastSeq = event.seq;
    onEvent(event);
    for (let next = ahead.get(lastSeq + 1); next; next = ahead.get(lastSeq + 1)) {
      lastSeq = next.seq;
      onEvent(next);
    }
    // What waited is delivered now, by this path or the store's.
    for (const seq of ahead.keys()) if (seq <= lastSeq) ahead.delete(seq);
    if (ahead.size === 0) {
      clearTimeout(gapTimer);
      gapTimer = undefined;
    }
  };
  const waitForGap = () => {
    gapTimer ??= setTimeout(() => {
      gapTimer = undefined;
      void fillGap();
    }, GAP_WAIT_MS);
  };
  const fillGap = async () => {
    if (stopped || ahead.size === 0) return;
    try {
      for (const event of await engine.events.since(runId, lastSeq)) forward(event);
    } catch {
      // The store is briefly unreachable: the next wait tries again.
    }
    if (!stopped && ahead.size > 0) waitForGap();
  };
  const unsubscribe = engine.events.subscribe(runId, (event) => {
    if (live) forward(event);
    else buffered.push(event);
  });
  try {
    const snapshot = await engine.runs.snapshot(runId);
    if (!snapshot) {
      unsubscribe();
      return null;
    }
    // Read from wherever the older of the two stands, so the snapshot can be brought up to
    // the last stored event: a client that only applies the snapshot misses nothing either.
    const backlog = await engine.events.since(runId, Math.min(sinceSeq, snapshot.seq));
    const current = foldEvents(snapshot, backlog);
    const events = backlog.filter((event) => event.seq > sinceSeq);
    lastSeq = Math.max(sinceSeq, current.seq);
    return {
      snapshot: current,
      events,
      start() {
        if (live) return;
        live = true;
        for (const event of buffered.splice(0).sort((a, b) => a.seq - b.seq)) forward(event);
      },
      stop() {
        stopped = true;
        clearTimeout(gapTimer);
        unsubscribe();
      },
    };
  } catch (error) {
    unsubscribe();
    throw error;
  }
}
