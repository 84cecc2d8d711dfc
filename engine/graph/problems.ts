/**
 * What the graph core reports and throws: problem codes, the problem shape, the registry type
 * and the one "invalid graph" error. Shared by load, validate, apply-values and prepare, so
 * none of them imports another for its types. Pure.
 */
import type { NodeDefinition } from './define-node';
import type { GraphNode } from './document';

/** Node types by id, built by createGraphSchema from the definitions handed in. */
export type NodeRegistry = ReadonlyMap<string, NodeDefinition>;

/** Stable problem codes; clients branch on them, so never rename one. */
export type ProblemCode =
  // loading (load.ts)
  | 'invalid_json'
  | 'document_too_large'
  | 'document_too_deep'
  | 'too_many_nodes'
  | 'too_many_edges'
  | 'unsupported_version'
  | 'invalid_document'
  | 'migration_failed'
  // validation (this file)
  | 'empty_graph'
  | 'duplicate_id'
  | 'unknown_node_type'
  | 'invalid_param'
  | 'dangling_edge'
  | 'unknown_port'
  | 'port_type_mismatch'
  | 'missing_required_input'
  | 'multiple_inputs_to_port'
  | 'cycle'
  | 'invalid_exposed'
  // a copied graph (an imported share link) lost a reference its new owner cannot read
  // (placeholders.ts): the param is empty and the problem names what was there
  | 'character_missing'
  | 'artifact_missing'
  // values and compile options (apply-values.ts, compile.ts)
  | 'unknown_value_target'
  | 'unknown_node'
  // stored records a node names that the run's owner cannot read (engine/runs/resource-check.ts)
  | 'character_not_found'
  | 'artifact_not_found';

/** One thing wrong with a document; `message` says what and how to fix it. */
export interface ValidationProblem {
  code: ProblemCode;
  message: string;
  nodeId?: string;
  edgeId?: string;
  port?: string;
  param?: string;
}

/** How messages name a node: its id, then its title (or raw type when unknown). */
export function describeNode(node: Pick<GraphNode, 'id' | 'type'>, registry: NodeRegistry): string {
  const definition = registry.get(node.type);
  return `node "${node.id}" (${definition?.title ?? node.type})`;
}

/** The closest candidate to a misspelt name, for "did you mean …?" hints. */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The one error for a graph that cannot be saved or run, carrying every problem. Shaped like
 * engine/errors.ts's LabError (`code`, `status`, `details`) so the server answers it as a 400
 * `invalid_graph` without special cases, but defined here: engine/graph imports nothing
 * outside itself.
 */
export class GraphInvalid extends Error {
  readonly code = 'invalid_graph';
  readonly status = 400;
  readonly details: { errors: ValidationProblem[] };

  constructor(readonly problems: ValidationProblem[]) {
    const first = problems
      .slice(0, 2)
      .map((problem) => problem.message)
      .join('; ');
    const more =
      problems.length > 2 ? `; and ${problems.length - 2} more (see details.errors)` : '';
    super(
      `the graph has ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${first}${more}`,
    );
    this.name = 'GraphInvalid';
    this.details = { errors: problems };
  }
}
