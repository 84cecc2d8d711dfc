/**
 * What `charlab run` prints while a run goes: one line per event (`[frames 2/4] 53%`), folded
 * through the same `applyEvent` the server and the browser use, so the numbers agree. Also
 * where the CLI finds the run's final video and the error to report when it failed.
 */
import { applyEvent, emptySnapshot, type RunEvent, type RunSnapshot } from '../runs/events';
import type { GraphDocument } from '../graph/document';
import { artifactRefSchema, type ArtifactRef } from '../graph/values';

/** Turns run events into progress lines, dropping repeats (a re-watch may resend some). */
export class ProgressPrinter {
  private snapshot: RunSnapshot;

  constructor(
    runId: string,
    private readonly print: (line: string) => void,
  ) {
    this.snapshot = emptySnapshot(runId, []);
  }

  /** The seq of the last event printed: where a re-watch continues from. */
  get lastSeq(): number {
    return this.snapshot.seq;
  }

  /** Prints the line for one event; events already seen are ignored. */
  accept(event: RunEvent): void {
    if (event.seq <= this.snapshot.seq) return;
    this.snapshot = applyEvent(this.snapshot, event);
    const line = describeEvent(event, this.snapshot);
    if (line) this.print(line);
  }
}

/** The progress line for an event, given the snapshot after it. */
export function describeEvent(event: RunEvent, after: RunSnapshot): string | undefined {
  const node = event.nodeId ? after.nodes[event.nodeId] : undefined;
  const percent = (value: number) => `${Math.round(value * 100)}%`;
  switch (event.type) {
    case 'run.started':
      return `run ${event.runId} started`;
    case 'run.completed':
      return `run succeeded${duration(after)}`;
    case 'run.failed':
      return `run failed${duration(after)}${event.error ? `: ${event.error}` : ''}`;
    case 'run.cancelled':
      return `run cancelled${duration(after)}`;
  }
  if (!event.nodeId || !node) return undefined;
  const total = node.total;
  const label =
    total !== undefined ? `[${event.nodeId} ${node.done ?? 0}/${total}]` : `[${event.nodeId}]`;
  const item =
    event.index !== undefined ? ` (item ${event.index + 1}${total ? ` of ${total}` : ''})` : '';
  switch (event.type) {
    case 'node.started':
      return event.index === undefined ? `${label} started` : `${label} ${percent(node.progress)}`;
    case 'node.progress':
      return `${label} ${percent(node.progress)}${event.stage ? ` ${event.stage}` : ''}`;
    case 'node.completed':
      return event.index === undefined ? `${label} done` : `${label} ${percent(node.progress)}`;
    case 'node.cached':
      return `${label} cached${item}`;
    case 'node.failed':
      return `${label} failed${item}${event.error ? `: ${event.error}` : ''}`;
    case 'node.skipped':
      return `${label} skipped${item}`;
    case 'node.cancelled':
      return `${label} cancelled${item}`;
  }
  return undefined;
}

function duration(snapshot: RunSnapshot): string {
  if (!snapshot.startedAt || !snapshot.endedAt) return '';
  const ms = Date.parse(snapshot.endedAt) - Date.parse(snapshot.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ` in ${(ms / 1000).toFixed(1)} s` : '';
}

/**
 * The run's final video: a single video artifact output, taken from the last node in the
 * graph that has one (the merge, in every shipped template). Lists of clips do not count.
 */
export function findFinalVideo(
  graph: GraphDocument,
  snapshot: RunSnapshot,
): ArtifactRef | undefined {
  for (const node of [...graph.nodes].reverse()) {
    const outputs = snapshot.outputs[node.id] ?? snapshot.nodes[node.id]?.outputs ?? {};
    for (const value of Object.values(outputs)) {
      const ref = artifactRefSchema.safeParse(value);
      if (ref.success && ref.data.mime.startsWith('video/')) return ref.data;
    }
  }
  return undefined;
}

/** Lines explaining why a run did not succeed: each failed node with its error. */
export function describeFailure(snapshot: RunSnapshot): string[] {
  const failed = Object.entries(snapshot.nodes).filter(([, node]) => node.status === 'failed');
  const lines = failed.map(
    ([id, node]) => `node "${id}" failed: ${node.error ?? 'no error message'}`,
  );
  if (lines.length === 0) {
    lines.push(
      snapshot.status === 'cancelled'
        ? 'the run was cancelled'
        : `the run ${snapshot.status}${snapshot.error ? `: ${snapshot.error}` : ''}`,
    );
  }
  return lines;
}
