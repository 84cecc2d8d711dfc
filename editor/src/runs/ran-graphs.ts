/**
 * The graph each run started from, remembered in this browser so "Re-run with changes" can
 * tell param edits (sent to `/api/runs/:id/rerun`) from structural ones (a fresh run) even
 * after a reload. The API's run snapshot does not carry the graph. The last 20 are kept.
 */
import type { GraphDocument } from '../../../engine/graph/document';

const KEY = 'charlab.ranGraphs';
const KEEP = 20;

type Entries = [runId: string, graph: GraphDocument][];

function read(storage: Storage): Entries {
  try {
    const parsed = JSON.parse(storage.getItem(KEY) ?? '[]') as unknown;
    return Array.isArray(parsed) ? (parsed as Entries) : [];
  } catch {
    return [];
  }
}

export function rememberRanGraph(storage: Storage, runId: string, graph: GraphDocument): void {
  const entries = read(storage).filter(([id]) => id !== runId);
  entries.push([runId, graph]);
  try {
    storage.setItem(KEY, JSON.stringify(entries.slice(-KEEP)));
  } catch {
    // Full storage only costs the rerun shortcut: a fresh run (with cache hits) is started.
  }
}

export function recallRanGraph(storage: Storage, runId: string): GraphDocument | undefined {
  return read(storage).find(([id]) => id === runId)?.[1];
}
