/**
 * The compiler: a valid graph document becomes an ExecutionPlan (plan.ts), the data the one
 * interpreter workflow runs. Pure and deterministic: the same document always gives the same
 * plan, so plans can be compared, hashed and stored with the run.
 */
import type { NodeDefinition } from './define-node';
import type { GraphDocument } from './document';
import type {
  ActivityStep,
  ConstantStep,
  ExecutionPlan,
  PlanNode,
  PlanSource,
  TaskQueue,
} from './plan';
import { parsePortType } from './ports';
import type { NodeRegistry } from './problems';

/** Options of `compile()`. */
export interface CompileOptions {
  /** Nodes to run even when cached (rerun from here); their descendants are forced too. */
  forceRun?: string[];
}

/**
 * Compiles a loaded, valid document (the graph schema's `prepare` validates first; calling
 * this on an invalid document is a programming error and throws a plain Error).
 */
export function compile(
  doc: GraphDocument,
  registry: NodeRegistry,
  options: CompileOptions = {},
): ExecutionPlan {
  const nodes: Record<string, PlanNode> = {};
  for (const node of doc.nodes) {
    const definition = registry.get(node.type);
    if (!definition) throw new Error(`compile: unknown node type "${node.type}"; validate first`);
    const params = definition.params.parse(node.params) as Record<string, unknown>;
    const inputs: PlanNode['inputs'] = {};
    const parents: string[] = [];
    for (const [port, spec] of Object.entries(definition.inputs)) {
      const sources: PlanSource[] = doc.edges
        .filter((edge) => edge.target === node.id && edge.targetPort === port)
        .map((edge) => ({ node: edge.source, port: edge.sourcePort }));
      if (sources.length === 0) continue;
      inputs[port] = { list: parsePortType(spec.type).list, sources };
    }
    for (const edge of doc.edges) {
      if (edge.target === node.id && !parents.includes(edge.source)) parents.push(edge.source);
    }
    nodes[node.id] = {
      id: node.id,
      type: node.type,
      typeVersion: node.typeVersion,
      title: node.label ?? definition.title,
      params,
      inputs,
      parents,
      step: compileStep(definition, params),
    };
  }

  const order = topologicalOrder(doc);
  const forced = new Set<string>();
  for (const id of options.forceRun ?? []) {
    forced.add(id);
    for (const child of descendants(doc, id)) forced.add(child);
  }
  return {
    schema: 'character-lab/plan',
    version: 1,
    graphId: doc.id,
    graphName: doc.name,
    order,
    nodes,
    forceRun: order.filter((id) => forced.has(id)),
  };
}

function compileStep(
  definition: NodeDefinition,
  params: Record<string, unknown>,
): ConstantStep | ActivityStep {
  if (definition.runsOn === 'inline') {
    return { kind: 'constant', outputs: definition.evaluate!(params) };
  }
  const { fanOut, execution } = definition;
  return {
    kind: 'activity',
    activityType: definition.type,
    taskQueue: definition.runsOn satisfies TaskQueue,
    ...(fanOut
      ? {
          fanOut: {
            input: fanOut.input,
            ...(fanOut.path ? { path: fanOut.path } : {}),
            ...(fanOut.zip ? { zip: fanOut.zip.map((zip) => ({ ...zip })) } : {}),
          },
        }
      : {}),
    listOutputs: Object.entries(definition.outputs)
      .filter(([, spec]) => parsePortType(spec.type).list)
      .map(([port]) => port),
    maxParallel: execution.maxParallel,
    startToCloseSec: execution.startToCloseSec,
    heartbeatSec: execution.heartbeatSec,
    retry: { maximumAttempts: execution.maxAttempts, initialIntervalSec: 1, backoffCoefficient: 2 },
    cacheable: definition.cacheable,
  };
}

/**
 * Kahn's algorithm, always taking the ready node that comes first in the document, so the
 * order is stable across saves and readable (it follows the user's layout of the list).
 */
function topologicalOrder(doc: GraphDocument): string[] {
  const position = new Map(doc.nodes.map((node, i) => [node.id, i]));
  const waitingOn = new Map(doc.nodes.map((node) => [node.id, new Set<string>()]));
  const children = new Map(doc.nodes.map((node) => [node.id, new Set<string>()]));
  for (const edge of doc.edges) {
    waitingOn.get(edge.target)!.add(edge.source);
    children.get(edge.source)!.add(edge.target);
  }
  const ready = doc.nodes
    .filter((node) => waitingOn.get(node.id)!.size === 0)
    .map((node) => node.id);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => position.get(a)! - position.get(b)!);
    const next = ready.shift()!;
    order.push(next);
    for (const child of children.get(next)!) {
      const waiting = waitingOn.get(child)!;
      waiting.delete(next);
      if (waiting.size === 0) ready.push(child);
    }
  }
  return order;
}

/**
 * Every node downstream of `nodeId` (not itself): in plan order for a plan, in document
 * order for a document. Unknown ids have no descendants.
 */
export function descendants(source: ExecutionPlan | GraphDocument, nodeId: string): string[] {
  const children = new Map<string, string[]>();
  const link = (parent: string, child: string): void => {
    children.set(parent, [...(children.get(parent) ?? []), child]);
  };
  let ordered: string[];
  if (isPlan(source)) {
    for (const node of Object.values(source.nodes))
      for (const parent of node.parents) link(parent, node.id);
    ordered = source.order;
  } else {
    for (const edge of source.edges) link(edge.source, edge.target);
    ordered = source.nodes.map((node) => node.id);
  }
  const found = new Set<string>();
  const stack = [...(children.get(nodeId) ?? [])];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (found.has(id)) continue;
    found.add(id);
    stack.push(...(children.get(id) ?? []));
  }
  found.delete(nodeId);
  return ordered.filter((id) => found.has(id));
}

function isPlan(source: ExecutionPlan | GraphDocument): source is ExecutionPlan {
  return (source as ExecutionPlan).schema === 'character-lab/plan';
}
