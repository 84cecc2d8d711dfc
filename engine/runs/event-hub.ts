/**
 * The run event hub: every event is stored first (getting its per-run seq), then pushed to
 * live listeners (Socket.IO rooms, the CLI). A listener that (re)subscribes reads what it
 * missed with `since(runId, seq)`.
 *
 * The stored events are the truth; a run's snapshot is their fold. The folded snapshot is
 * written back to the run record only on milestones (a node or the run ending), not on every
 * progress tick, because the record also holds the graph and plan; `snapshot()` folds the few
 * events after the stored one, so readers always see the latest state.
 */
import {
  applyEvent,
  foldEvents,
  type RunEvent,
  type RunEventInput,
  type RunSnapshot,
} from './events';
import type { DocumentStore } from '../stores/ports';

export type RunEventListener = (event: RunEvent) => void;
/** See EventHub.tap. */
export type RunEventTap = (event: RunEvent, stored: boolean) => void;

export class EventHub {
  private readonly listeners = new Map<string, Set<RunEventListener>>();
  /** Serialises snapshot updates per run so concurrent appends cannot lose one. */
  private readonly snapshotQueues = new Map<string, Promise<void>>();
  /** Where appended events also go for other API replicas (engine/server/replicas.ts). */
  private relay: RunEventListener | undefined;

  /** Observers of every event this process sees, told whether it stored it (metrics). */
  private readonly taps = new Set<RunEventTap>();

  constructor(private readonly documents: DocumentStore) {}

  /** Stores and broadcasts one event; a redelivered event (same key) is ignored. */
  async append(input: RunEventInput): Promise<RunEvent | null> {
    const event = await this.documents.events.append(input);
    if (!event) return null;
    if (isMilestone(event)) await this.persistSnapshot(event);
    this.deliver(event, true);
    this.relay?.(event);
    return event;
  }

  /**
   * Sees every event once: `stored` is true for those stored through this hub, false for those
   * another replica stored and relayed here — so counters that count only stored events,
   * summed over replicas, count each event once. Returns the untap function.
   */
  tap(listener: RunEventTap): () => void {
    this.taps.add(listener);
    return () => void this.taps.delete(listener);
  }

  /**
   * Pushes an already stored event to this process's listeners only: how an event another
   * replica appended arrives here. Watchers drop repeats and fill gaps from the store.
   */
  deliver(event: RunEvent, stored = false): void {
    for (const listener of this.listeners.get(event.runId) ?? []) listener(event);
    for (const tap of this.taps) tap(event, stored);
  }

  /** Sends every event appended here on to other replicas too; undefined stops it. */
  setRelay(relay: RunEventListener | undefined): void {
    this.relay = relay;
  }

  async since(runId: string, sinceSeq = 0): Promise<RunEvent[]> {
    return this.documents.events.list(runId, sinceSeq);
  }

  /** The run's current snapshot: the stored one plus every event stored after it. */
  async snapshot(runId: string): Promise<RunSnapshot | null> {
    const run = await this.documents.runs.get(runId);
    if (!run) return null;
    return foldEvents(run.snapshot, await this.since(runId, run.snapshot.seq));
  }

  /** Live events of one run; returns the unsubscribe function. */
  subscribe(runId: string, listener: RunEventListener): () => void {
    let set = this.listeners.get(runId);
    if (!set) this.listeners.set(runId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(runId);
    };
  }

  private async persistSnapshot(event: RunEvent): Promise<void> {
    const previous = this.snapshotQueues.get(event.runId) ?? Promise.resolve();
    const next = previous.then(async () => {
      const run = await this.documents.runs.get(event.runId);
      if (!run) return;
      // Events may be stored by another process between our reads: fold every stored event
      // after the snapshot's seq, so the snapshot never skips one.
      const missed =
        event.seq === run.snapshot.seq + 1
          ? [event]
          : await this.since(event.runId, run.snapshot.seq);
      const snapshot = missed.reduce(applyEvent, run.snapshot);
      if (snapshot === run.snapshot) return;
      await this.documents.runs.put({ ...run, snapshot, updatedAt: new Date().toISOString() });
    });
    const settled = next.catch(() => {});
    this.snapshotQueues.set(event.runId, settled);
    try {
      await next;
    } finally {
      if (this.snapshotQueues.get(event.runId) === settled) this.snapshotQueues.delete(event.runId);
    }
  }
}

/** Events after which the stored snapshot is brought up to date: a node or the run ended. */
function isMilestone(event: RunEvent): boolean {
  if (event.type.startsWith('run.')) return true;
  return (
    event.index === undefined && event.type !== 'node.progress' && event.type !== 'node.started'
  );
}
