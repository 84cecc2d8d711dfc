/**
 * Graph validation: every problem of a loaded document at once, with stable codes, each
 * naming the nodes, edges and ports involved and what to do about it. Pure and browser-safe:
 * the canvas runs it live, the server before saving and running, the CLI for `validate`.
 */
import type { z } from 'zod';
import type { GraphDocument, GraphEdge, GraphNode } from './document';
import { isEmptyReference, placeholdersOf, type Placeholder } from './placeholders';
import { canConnect } from './ports';
import { closestName, describeNode, type NodeRegistry, type ValidationProblem } from './problems';

function didYouMean(name: string, candidates: Iterable<string>): string {
  const list = [...candidates];
  const close = closestName(name, list);
  if (close) return ` (did you mean "${close}"?)`;
  return list.length === 0 ? '' : ` (known: ${list.map((c) => `"${c}"`).join(', ')})`;
}

/** Validates a loaded document (see load.ts) against a registry. Empty result = valid. */
export function validateGraph(doc: GraphDocument, registry: NodeRegistry): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  if (doc.nodes.length === 0) {
    problems.push({
      code: 'empty_graph',
      message: 'the graph has no nodes: add one from the palette (a Script node is a good start)',
    });
  }
  const nodes = indexNodes(doc, problems);
  checkEdgeIds(doc, problems);
  const placeholders = placeholdersByNode(doc);
  for (const node of nodes.values()) {
    checkNode(node, registry, problems, placeholders.get(node.id) ?? []);
  }
  const wired = checkEdges(doc, nodes, registry, problems);
  checkInputs(nodes, wired, registry, problems);
  checkCycles(doc, nodes, problems);
  checkExposed(doc, nodes, registry, problems);
  return problems;
}

/** Nodes by id, first occurrence winning; reports each duplicated id once. */
function indexNodes(doc: GraphDocument, problems: ValidationProblem[]): Map<string, GraphNode> {
  const nodes = new Map<string, GraphNode>();
  const counts = countIds(doc.nodes);
  for (const node of doc.nodes) {
    if (nodes.has(node.id)) continue;
    nodes.set(node.id, node);
    const count = counts.get(node.id)!;
    if (count > 1) {
      problems.push({
        code: 'duplicate_id',
        nodeId: node.id,
        message: `${count} nodes have the id "${node.id}": give each node its own id (edges then name the one they mean)`,
      });
    }
  }
  return nodes;
}

function checkEdgeIds(doc: GraphDocument, problems: ValidationProblem[]): void {
  const counts = countIds(doc.edges);
  const reported = new Set<string>();
  for (const edge of doc.edges) {
    const count = counts.get(edge.id)!;
    if (count < 2 || reported.has(edge.id)) continue;
    reported.add(edge.id);
    problems.push({
      code: 'duplicate_id',
      edgeId: edge.id,
      message: `${count} edges have the id "${edge.id}": give each edge its own id`,
    });
  }
}

function countIds(items: readonly { id: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item.id, (counts.get(item.id) ?? 0) + 1);
  return counts;
}

function placeholdersByNode(doc: GraphDocument): Map<string, Placeholder[]> {
  const byNode = new Map<string, Placeholder[]>();
  for (const entry of placeholdersOf(doc)) {
    byNode.set(entry.nodeId, [...(byNode.get(entry.nodeId) ?? []), entry]);
  }
  return byNode;
}

function checkNode(
  node: GraphNode,
  registry: NodeRegistry,
  problems: ValidationProblem[],
  placeholders: readonly Placeholder[],
): void {
  const definition = registry.get(node.type);
  const name = describeNode(node, registry);
  if (!definition) {
    problems.push({
      code: 'unknown_node_type',
      nodeId: node.id,
      message: `${name} has the type "${node.type}", which this Character Lab does not know${didYouMean(node.type, registry.keys())}: replace the node with a known type or delete it`,
    });
    return;
  }
  if (node.typeVersion !== definition.version) {
    const newer = node.typeVersion > definition.version;
    problems.push({
      code: 'unsupported_version',
      nodeId: node.id,
      message: newer
        ? `${name} was saved by a newer Character Lab (${node.type} version ${node.typeVersion}, this one knows ${definition.version}): upgrade Character Lab`
        : `${name} is ${node.type} version ${node.typeVersion} but its params were not migrated to version ${definition.version}: load the document through the graph schema (load or prepare)`,
    });
    return;
  }
  const shape = definition.params.shape as Record<string, unknown>;
  for (const key of Object.keys(node.params)) {
    if (Object.hasOwn(shape, key)) continue;
    problems.push({
      code: 'invalid_param',
      nodeId: node.id,
      param: key,
      message: `${name} has no param "${key}"${didYouMean(key, Object.keys(shape))}: remove it or fix its name`,
    });
  }
  const parsed = definition.params.safeParse(node.params);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const param = issue.path.length > 0 ? String(issue.path[0]) : undefined;
      const at = issue.path.length > 0 ? `param "${issue.path.join('.')}"` : 'params';
      problems.push({
        code: 'invalid_param',
        nodeId: node.id,
        ...(param === undefined ? {} : { param }),
        message: `${name}: ${at}: ${issue.message}: set a valid value in the inspector`,
      });
    }
    return;
  }
  // A param a copied graph lost says what it lost, instead of the definition's bare "empty".
  const lost = placeholders.filter(
    (entry) =>
      Object.hasOwn(shape, entry.param) &&
      isEmptyReference((parsed.data as Record<string, unknown>)[entry.param]),
  );
  for (const entry of lost) problems.push(placeholderProblem(name, node.id, entry));
  for (const problem of definition.check?.(parsed.data) ?? []) {
    if (lost.some((entry) => entry.param === problem.param)) continue;
    problems.push({
      code: 'invalid_param',
      nodeId: node.id,
      param: problem.param,
      message: `${name}: ${problem.message}`,
    });
  }
}

function placeholderProblem(name: string, nodeId: string, entry: Placeholder): ValidationProblem {
  const what = entry.name ? ` "${entry.name}"` : '';
  return entry.kind === 'character'
    ? {
        code: 'character_missing',
        nodeId,
        param: entry.param,
        message: `${name}: this graph was shared without its character${what}: pick one of yours in the inspector`,
      }
    : {
        code: 'artifact_missing',
        nodeId,
        param: entry.param,
        message: `${name}: this graph was shared without its file${what}: upload one of yours in the inspector`,
      };
}

/** Incoming edges per `nodeId\u0000port`, for edges whose both ends and ports exist. */
type Wiring = Map<string, GraphEdge[]>;

function checkEdges(
  doc: GraphDocument,
  nodes: Map<string, GraphNode>,
  registry: NodeRegistry,
  problems: ValidationProblem[],
): Wiring {
  const wired: Wiring = new Map();
  for (const edge of doc.edges) {
    const source = nodes.get(edge.source);
    const target = nodes.get(edge.target);
    if (!source || !target) {
      const missing = [
        ...(source ? [] : [`source node "${edge.source}"`]),
        ...(target ? [] : [`target node "${edge.target}"`]),
      ].join(' and ');
      problems.push({
        code: 'dangling_edge',
        edgeId: edge.id,
        message: `edge "${edge.id}" (${edge.source}.${edge.sourcePort} → ${edge.target}.${edge.targetPort}) points at a missing ${missing}: delete the edge or restore the node`,
      });
      continue;
    }
    const sourceDef = registry.get(source.type);
    const targetDef = registry.get(target.type);
    const output = sourceDef && lookupPort(sourceDef.outputs, edge.sourcePort);
    const input = targetDef && lookupPort(targetDef.inputs, edge.targetPort);
    if (sourceDef && !output) {
      problems.push({
        code: 'unknown_port',
        edgeId: edge.id,
        nodeId: source.id,
        port: edge.sourcePort,
        message: `edge "${edge.id}" leaves ${describeNode(source, registry)} from output "${edge.sourcePort}", which it does not have${didYouMean(edge.sourcePort, Object.keys(sourceDef.outputs))}: reconnect the edge`,
      });
    }
    if (targetDef && !input) {
      problems.push({
        code: 'unknown_port',
        edgeId: edge.id,
        nodeId: target.id,
        port: edge.targetPort,
        message: `edge "${edge.id}" enters ${describeNode(target, registry)} at input "${edge.targetPort}", which it does not have${didYouMean(edge.targetPort, Object.keys(targetDef.inputs))}: reconnect the edge`,
      });
    }
    if (output && input && !canConnect(output.type, input.type)) {
      problems.push({
        code: 'port_type_mismatch',
        edgeId: edge.id,
        nodeId: target.id,
        port: edge.targetPort,
        message: `edge "${edge.id}" connects ${describeNode(source, registry)} output "${edge.sourcePort}" (${output.type}) to ${describeNode(target, registry)} input "${edge.targetPort}" (${input.type}), which cannot take it: connect an output of type ${input.type}`,
      });
    }
    if (input) {
      const key = `${target.id}\u0000${edge.targetPort}`;
      wired.set(key, [...(wired.get(key) ?? []), edge]);
    }
  }
  return wired;
}

function lookupPort<P>(ports: Record<string, P>, id: string): P | undefined {
  return Object.hasOwn(ports, id) ? ports[id] : undefined;
}

function checkInputs(
  nodes: Map<string, GraphNode>,
  wired: Wiring,
  registry: NodeRegistry,
  problems: ValidationProblem[],
): void {
  for (const node of nodes.values()) {
    const definition = registry.get(node.type);
    if (!definition) continue;
    for (const [port, spec] of Object.entries(definition.inputs)) {
      const incoming = wired.get(`${node.id}\u0000${port}`) ?? [];
      if (incoming.length === 0 && !spec.optional) {
        problems.push({
          code: 'missing_required_input',
          nodeId: node.id,
          port,
          message: `${describeNode(node, registry)} needs its input "${port}" (${spec.type}): connect an output of type ${spec.type.replace('[]', '')} to it`,
        });
      }
      if (incoming.length > 1 && !spec.multiple) {
        problems.push({
          code: 'multiple_inputs_to_port',
          nodeId: node.id,
          port,
          edgeId: incoming[1].id,
          message: `${describeNode(node, registry)} input "${port}" takes one edge but has ${incoming.length} (${incoming.map((e) => `"${e.id}" from "${e.source}"`).join(', ')}): keep one and delete the others`,
        });
      }
    }
  }
}

/** Reports each strongly connected group of nodes once, naming one concrete cycle in it. */
function checkCycles(
  doc: GraphDocument,
  nodes: Map<string, GraphNode>,
  problems: ValidationProblem[],
): void {
  const outgoing = new Map<string, GraphEdge[]>();
  for (const edge of doc.edges) {
    if (!nodes.has(edge.source) || !nodes.has(edge.target)) continue;
    outgoing.set(edge.source, [...(outgoing.get(edge.source) ?? []), edge]);
  }
  for (const group of stronglyConnected([...nodes.keys()], outgoing)) {
    const start = group[0];
    const selfLoop = (outgoing.get(start) ?? []).find((edge) => edge.target === start);
    if (group.length === 1 && !selfLoop) continue;
    const cycle = selfLoop ? [selfLoop] : findCycle(start, new Set(group), outgoing);
    const path = [start, ...cycle.map((edge) => edge.target)].map((id) => `"${id}"`).join(' → ');
    const others =
      group.length > cycle.length
        ? ` (nodes ${group.map((id) => `"${id}"`).join(', ')} all depend on each other)`
        : '';
    problems.push({
      code: 'cycle',
      nodeId: start,
      edgeId: cycle[0].id,
      message: `the graph loops: ${path}${others}; data must flow one way: delete one of the edges ${cycle.map((edge) => `"${edge.id}"`).join(', ')}`,
    });
  }
}

/** Tarjan's algorithm; groups come out with their members in document order. */
function stronglyConnected(ids: string[], outgoing: Map<string, GraphEdge[]>): string[][] {
  const order = new Map(ids.map((id, i) => [id, i]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let counter = 0;
  const visit = (id: string): void => {
    index.set(id, counter);
    low.set(id, counter);
    counter++;
    stack.push(id);
    onStack.add(id);
    for (const edge of outgoing.get(id) ?? []) {
      if (!index.has(edge.target)) {
        visit(edge.target);
        low.set(id, Math.min(low.get(id)!, low.get(edge.target)!));
      } else if (onStack.has(edge.target)) {
        low.set(id, Math.min(low.get(id)!, index.get(edge.target)!));
      }
    }
    if (low.get(id) !== index.get(id)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== id);
    groups.push(group.sort((a, b) => order.get(a)! - order.get(b)!));
  };
  for (const id of ids) if (!index.has(id)) visit(id);
  return groups.sort((a, b) => order.get(a[0])! - order.get(b[0])!);
}

/** Shortest path of edges from `start` back to itself inside one strongly connected group. */
function findCycle(
  start: string,
  group: Set<string>,
  outgoing: Map<string, GraphEdge[]>,
): GraphEdge[] {
  const via = new Map<string, GraphEdge>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    for (const edge of outgoing.get(queue[i]) ?? []) {
      if (!group.has(edge.target)) continue;
      if (edge.target === start) {
        const path = [edge];
        for (let at = edge.source; at !== start; at = via.get(at)!.source)
          path.unshift(via.get(at)!);
        return path;
      }
      if (via.has(edge.target)) continue;
      via.set(edge.target, edge);
      queue.push(edge.target);
    }
  }
  // Unreachable: every member of a strongly connected group lies on a cycle through start.
  throw new Error(`no cycle through "${start}"`);
}

function checkExposed(
  doc: GraphDocument,
  nodes: Map<string, GraphNode>,
  registry: NodeRegistry,
  problems: ValidationProblem[],
): void {
  const seen = new Set<string>();
  for (const entry of doc.exposed) {
    const node = nodes.get(entry.nodeId);
    const where = `exposed param "${entry.label}" (${entry.nodeId}.${entry.param})`;
    const base = { code: 'invalid_exposed' as const, nodeId: entry.nodeId, param: entry.param };
    if (!node) {
      problems.push({
        ...base,
        message: `${where} names node "${entry.nodeId}", which is not in the graph: remove the entry or point it at an existing node`,
      });
      continue;
    }
    const definition = registry.get(node.type);
    const shape = definition?.params.shape as Record<string, unknown> | undefined;
    if (shape && !Object.hasOwn(shape, entry.param)) {
      problems.push({
        ...base,
        message: `${where}: ${describeNode(node, registry)} has no param "${entry.param}"${didYouMean(entry.param, Object.keys(shape))}: fix the entry or remove it`,
      });
      continue;
    }
    // A default the param itself would refuse would make the template's form start invalid.
    const paramSchema = (shape as Record<string, z.ZodType> | undefined)?.[entry.param];
    if (entry.default !== undefined && paramSchema) {
      const checked = paramSchema.safeParse(entry.default);
      if (!checked.success) {
        problems.push({
          ...base,
          message: `${where} has the default ${JSON.stringify(entry.default)}, which ${describeNode(node, registry)} refuses (${checked.error.issues.map((i) => i.message).join('; ')}): fix the default or remove it`,
        });
      }
    }
    const key = `${entry.nodeId}\u0000${entry.param}`;
    if (seen.has(key)) {
      problems.push({
        ...base,
        message: `${where} is exposed twice: remove the second entry`,
      });
    }
    seen.add(key);
  }
}
