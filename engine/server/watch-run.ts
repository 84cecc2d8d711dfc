/**
 * Watching a run without missing or repeating an event: subscribe to live events first,
 * then read the snapshot and the stored backlog, and forward only live events newer than the
 * last one replayed. Events stored while the backlog is read reach the watcher exactly once,
 * by whichever path sees them first. Used by Socket.IO `run:watch` and the embedded CLI.
 */
import { foldEvents, type RunEvent, type RunSnapshot } from '../runs/events';
import type { Engine } from '../engine-types';

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
  let lastSeq = Number.POSITIVE_INFINITY;
  const buffered: RunEvent[] = [];
  const forward = (event: RunEvent) => {
    if (event.seq <= lastSeq) return;
    lastSeq = event.seq;
    onEvent(event);
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
      stop: unsubscribe,
    };
  } catch (error) {
    unsubscribe();
    throw error;
  }
}
