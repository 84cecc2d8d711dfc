/**
 * "Re-run with changes": `/api/runs/:id/rerun` re-executes a finished run's graph with changed
 * params, reusing cached upstream results. It cannot add nodes or rewire edges, so when the
 * structure changed since that run the studio starts a fresh run instead (the cache still
 * skips every unchanged node). Pure.
 */
import { canonicalJson } from '../../../engine/graph/canonical';
import type { GraphDocument } from '../../../engine/graph/document';

export type RerunPlan =
  | { kind: 'rerun'; params: Record<string, Record<string, unknown>> }
  | { kind: 'fresh'; reason: string };

export function planRerun(ran: GraphDocument, current: GraphDocument): RerunPlan {
  const before = new Map(ran.nodes.map((node) => [node.id, node]));
  if (before.size !== current.nodes.length)
    return { kind: 'fresh', reason: 'nodes were added or removed' };
  const params: Record<string, Record<string, unknown>> = {};
  for (const node of current.nodes) {
    const old = before.get(node.id);
    if (!old) return { kind: 'fresh', reason: `node "${node.id}" is new` };
    if (old.type !== node.type || old.typeVersion !== node.typeVersion) {
      return { kind: 'fresh', reason: `node "${node.id}" changed type` };
    }
    const keys = new Set([...Object.keys(old.params), ...Object.keys(node.params)]);
    for (const key of keys) {
      if (!(key in node.params))
        return { kind: 'fresh', reason: `param "${node.id}.${key}" was removed` };
      if (canonicalJson(old.params[key]) !== canonicalJson(node.params[key])) {
        (params[node.id] ??= {})[key] = node.params[key];
      }
    }
  }
  const wiring = (doc: GraphDocument) =>
    doc.edges
      .map((e) => `${e.source}.${e.sourcePort}>${e.target}.${e.targetPort}`)
      .sort()
      .join('|');
  if (wiring(ran) !== wiring(current)) return { kind: 'fresh', reason: 'edges changed' };
  return { kind: 'rerun', params };
}
