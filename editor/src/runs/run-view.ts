/**
 * What the canvas and the run panel show about a run, derived from the snapshot: status
 * labels, fan-out counts, elapsed times, event log lines and the artifacts worth previewing.
 * Pure and tested; components only render these.
 */
import type { NodeSnapshot, NodeStatus, RunEvent, RunSnapshot } from '../../../engine/runs/events';
import type { ArtifactRef, Storyboard } from '../../../engine/graph/values';

export const NODE_STATUS_LABEL: Record<NodeStatus, string> = {
  pending: 'waiting',
  queued: 'queued',
  running: 'running',
  cached: 'cached',
  skipped: 'skipped',
  succeeded: 'done',
  failed: 'failed',
  cancelled: 'cancelled',
};

/** "3/8" for fan-out nodes (done items of all), undefined for single nodes. */
export function fanOutCount(node: NodeSnapshot | undefined): string | undefined {
  if (!node) return undefined;
  const total = node.total ?? (node.items ? Object.keys(node.items).length : undefined);
  if (total === undefined || total === 0) return undefined;
  const done = node.status === 'succeeded' || node.status === 'cached' ? total : (node.done ?? 0);
  return `${done}/${total}`;
}

/** Milliseconds the node has run (until now while running); undefined before it starts. */
export function elapsedMs(
  node: Pick<NodeSnapshot, 'startedAt' | 'endedAt'>,
  now: number,
): number | undefined {
  if (!node.startedAt) return undefined;
  const start = Date.parse(node.startedAt);
  const end = node.endedAt ? Date.parse(node.endedAt) : now;
  return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, end - start) : undefined;
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1_000);
  return `${minutes} m ${String(seconds).padStart(2, '0')} s`;
}

/** One line of the run panel's log. `titles` names nodes by their label or id. */
export function describeEvent(event: RunEvent, titles: (nodeId: string) => string): string {
  const who = event.nodeId ? titles(event.nodeId) : 'run';
  const item =
    event.index !== undefined ? ` #${event.index + 1}${event.total ? `/${event.total}` : ''}` : '';
  switch (event.type) {
    case 'run.started':
      return 'run started';
    case 'run.completed':
      return 'run finished';
    case 'run.failed':
      return `run failed${event.error ? `: ${event.error}` : ''}`;
    case 'run.cancelled':
      return 'run cancelled';
    case 'node.started':
      return `${who}${item} started`;
    case 'node.progress': {
      const pct = event.progress === undefined ? '' : ` ${Math.round(event.progress * 100)}%`;
      return `${who}${item}${pct}${event.stage ? ` · ${event.stage}` : ''}`;
    }
    case 'node.cached':
      return `${who}${item} reused from cache`;
    case 'node.completed':
      return `${who}${item} done`;
    case 'node.failed':
      return `${who}${item} failed${event.error ? `: ${event.error}` : ''}`;
    case 'node.skipped':
      return `${who}${item} skipped${event.error ? ` (${event.error})` : ''}`;
    case 'node.cancelled':
      return `${who}${item} cancelled`;
  }
}

export function isArtifactRef(value: unknown): value is ArtifactRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ArtifactRef).id === 'string' &&
    typeof (value as ArtifactRef).mime === 'string'
  );
}

export function isStoryboard(value: unknown): value is Storyboard {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as Storyboard).shots) &&
    (value as Storyboard).shots.every((shot) => typeof shot === 'object' && shot !== null)
  );
}

/** What a node's outputs hold, sorted for display: images, videos, a storyboard, the rest. */
export interface OutputPreview {
  images: ArtifactRef[];
  videos: ArtifactRef[];
  audio: ArtifactRef[];
  storyboard?: Storyboard;
}

export function previewOutputs(outputs: Record<string, unknown> | undefined): OutputPreview {
  const preview: OutputPreview = { images: [], videos: [], audio: [] };
  for (const value of Object.values(outputs ?? {})) {
    if (isStoryboard(value)) {
      preview.storyboard ??= value;
      continue;
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      if (!isArtifactRef(item)) continue;
      if (item.mime.startsWith('image/')) preview.images.push(item);
      else if (item.mime.startsWith('video/')) preview.videos.push(item);
      else if (item.mime.startsWith('audio/')) preview.audio.push(item);
    }
  }
  return preview;
}

/**
 * Outputs of a fan-out node while it runs: finished items in index order, so frame 3 shows
 * before frame 1 is done; once the node completes its own outputs win.
 */
export function mergeItemOutputs(
  node: NodeSnapshot | undefined,
  items: Record<number, Record<string, unknown>> | undefined,
): Record<string, unknown> | undefined {
  if (node?.outputs) return node.outputs;
  if (!items) return undefined;
  const merged: Record<string, unknown[]> = {};
  for (const index of Object.keys(items)
    .map(Number)
    .sort((a, b) => a - b)) {
    for (const [port, value] of Object.entries(items[index])) {
      (merged[port] ??= []).push(...(Array.isArray(value) ? value : [value]));
    }
  }
  return merged;
}

/**
 * The run's final video: a single video output among the run's final outputs, else the last
 * node (in snapshot order) whose own output is one video.
 */
export function finalVideo(snapshot: RunSnapshot | null): ArtifactRef | undefined {
  if (!snapshot) return undefined;
  const single = (outputs: Record<string, unknown> | undefined) =>
    Object.values(outputs ?? {}).find(
      (value): value is ArtifactRef => isArtifactRef(value) && value.mime.startsWith('video/'),
    );
  for (const outputs of Object.values(snapshot.outputs ?? {})) {
    const found = single(outputs);
    if (found) return found;
  }
  let last: ArtifactRef | undefined;
  for (const node of Object.values(snapshot.nodes)) last = single(node.outputs) ?? last;
  return last;
}

/**
 * Captions for frames in the lightbox: the run's storyboard shots, when there is one shot per
 * frame (a frames node fans out per shot), else plain "Shot N".
 */
export function shotCaptions(snapshot: RunSnapshot | null | undefined, count: number): string[] {
  for (const node of Object.values(snapshot?.nodes ?? {})) {
    const storyboard = previewOutputs(node.outputs).storyboard;
    if (storyboard && storyboard.shots.length === count) {
      return storyboard.shots.map((shot, i) => `Shot ${i + 1}: ${shot.description}`);
    }
  }
  return Array.from({ length: count }, (_, i) => `Shot ${i + 1}`);
}

/** Whole-run progress 0..1: finished nodes count fully, running ones by their progress. */
export function runProgress(snapshot: RunSnapshot | null): number {
  if (!snapshot) return 0;
  const nodes = Object.values(snapshot.nodes);
  if (nodes.length === 0) return 0;
  const sum = nodes.reduce(
    (total, node) =>
      total +
      (['succeeded', 'cached', 'skipped', 'failed', 'cancelled'].includes(node.status)
        ? 1
        : node.progress),
    0,
  );
  return sum / nodes.length;
}

/** Run duration from its start to its end (or now). */
export function runDuration(
  run: { startedAt?: string; endedAt?: string; createdAt?: string },
  now: number,
): number | undefined {
  return elapsedMs({ startedAt: run.startedAt ?? run.createdAt, endedAt: run.endedAt }, now);
}
