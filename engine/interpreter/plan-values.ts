/**
 * How values move through a compiled plan: parents' outputs wired into a node's inputs, fan-out
 * items collected into list outputs, a run's results, and what a node answered from the cache
 * reports. Shared by the interpreter workflow and the server (engine/runs/cache-plan.ts), which
 * must compute exactly what the workflow would. Pure, type-only imports: the Temporal workflow
 * sandbox imports this file.
 */
import type { ActivityStep, ExecutionPlan, PlanNode } from '../graph/plan';
import type { RunEventInput, RunEventType } from '../runs/events';

/** Builds each input port's value from the parents' outputs, in edge order. */
export function wireInputs(
  node: PlanNode,
  parentOutputs: ReadonlyMap<string, Record<string, unknown>>,
): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  for (const [port, { list, sources }] of Object.entries(node.inputs)) {
    const values = sources.map((source) => parentOutputs.get(source.node)?.[source.port]);
    if (!list) {
      if (values.length > 0) inputs[port] = values[0];
      continue;
    }
    inputs[port] = values.flatMap((value) => (Array.isArray(value) ? value : [value]));
  }
  return inputs;
}

/** Fan-out items return one value per list output; the node's output is the list of them. */
export function collectItems(
  step: Pick<ActivityStep, 'listOutputs'>,
  results: readonly Record<string, unknown>[],
): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (const port of step.listOutputs) outputs[port] = results.map((r) => r[port]);
  // Keys beyond the ports (the frames node's per-shot `consistency`) are data for the studio,
  // never wired to an edge; they are collected the same way, one entry per item.
  for (const key of new Set(results.flatMap((r) => Object.keys(r)))) {
    if (!(key in outputs)) outputs[key] = results.map((r) => r[key] ?? null);
  }
  return outputs;
}

/** The outputs of the nodes nothing else consumes: the run's results. */
export function leafOutputs(
  plan: ExecutionPlan,
  state: Readonly<Record<string, { outputs?: Record<string, unknown> }>>,
): Record<string, Record<string, unknown>> {
  const consumed = new Set(plan.order.flatMap((id) => plan.nodes[id].parents));
  const outputs: Record<string, Record<string, unknown>> = {};
  for (const id of plan.order) {
    const outs = state[id]?.outputs;
    if (!consumed.has(id) && outs) outputs[id] = outs;
  }
  return outputs;
}

/** One event a node reports, before the reporter stamps its key, run and time. */
export interface NodeReport {
  type: RunEventType;
  fields: Partial<RunEventInput>;
}

/**
 * What a node answered from the cache before the run started reports: the very events its
 * activities report on a cache hit (a fan-out node: started with its item count, one
 * `node.cached` per item, then the node's), so watchers, the CLI and the studio see a
 * `cached` node either way.
 */
export function cachedNodeReports(
  nodeId: string,
  outputs: Record<string, unknown>,
  items: readonly Record<string, unknown>[] | undefined,
): NodeReport[] {
  if (!items) {
    return [{ type: 'node.cached', fields: { nodeId, status: 'cached', outputs } }];
  }
  const total = items.length;
  return [
    { type: 'node.started', fields: { nodeId, status: 'running', total } },
    ...items.map((item, index): NodeReport => ({
      type: 'node.cached',
      fields: { nodeId, index, status: 'cached', outputs: item },
    })),
    { type: 'node.cached', fields: { nodeId, status: 'cached', outputs, total } },
  ];
}
