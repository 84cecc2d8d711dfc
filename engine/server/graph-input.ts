/**
 * Graph payloads from clients go through the same door as files on disk: load (migrations,
 * limits, strict parse) then validate. Anything invalid becomes one 400 `invalid_graph` with
 * every problem in `details.errors`, before anything is stored.
 */
import { NODE_REGISTRY } from '../../nodes/definitions';
import type { GraphDocument } from '../graph/document';
import { applyValues } from '../graph/apply-values';
import { loadGraph, type AppliedMigration } from '../graph/load';
import { validateGraph, type ValidationProblem } from '../graph/validate';
import { LabError } from '../errors';

export interface LoadedGraph {
  graph: GraphDocument;
  /** The version the client sent, when older than the current one. */
  migratedFrom?: number;
  /** Migrations that ran while loading (document-wide and per node). */
  migrations: AppliedMigration[];
}

/**
 * Every problem of a graph payload; `loaded` is set whenever it loaded. `values`
 * (`"nodeId.param": value`) are applied before validating, so a template whose exposed
 * image is still empty validates once the value fills it.
 */
export function checkGraph(
  input: unknown,
  values?: Record<string, unknown>,
): { errors: ValidationProblem[]; loaded?: LoadedGraph } {
  const result = loadGraph(input, NODE_REGISTRY);
  if (!result.ok) return { errors: result.errors };
  return checkLoaded(result.graph, values, result.migratedFrom, result.migrations);
}

/** Applies values to an already loaded document (a saved workflow) and validates it. */
export function checkLoaded(
  graph: GraphDocument,
  values?: Record<string, unknown>,
  migratedFrom?: number,
  migrations: AppliedMigration[] = [],
): { errors: ValidationProblem[]; loaded?: LoadedGraph } {
  let current = graph;
  if (values && Object.keys(values).length > 0) {
    const applied = applyValues(current, values, NODE_REGISTRY);
    if (!applied.ok) return { errors: applied.errors };
    current = applied.graph;
  }
  const loaded: LoadedGraph = {
    graph: current,
    ...(migratedFrom === undefined ? {} : { migratedFrom }),
    migrations,
  };
  return { errors: validateGraph(current, NODE_REGISTRY), loaded };
}

/** Loads and validates a graph payload (values applied first), or throws `invalid_graph`. */
export function requireValidGraph(input: unknown, values?: Record<string, unknown>): LoadedGraph {
  return orThrow(checkGraph(input, values));
}

/**
 * For saving a draft: the document must load (JSON, version, shape, size limits) or it is a
 * 400, but graph problems (a missing input while the user is still wiring) are returned, not
 * thrown, so autosave keeps work that is not runnable yet. Runs and templates stay strict.
 */
export function requireLoadableGraph(
  input: unknown,
): LoadedGraph & { problems: ValidationProblem[] } {
  const result = loadGraph(input, NODE_REGISTRY);
  if (!result.ok) throw invalidGraph(result.errors);
  const { errors, loaded } = checkLoaded(
    result.graph,
    undefined,
    result.migratedFrom,
    result.migrations,
  );
  return { ...loaded!, problems: errors };
}

/** `checkLoaded`, throwing `invalid_graph` on any problem. */
export function requireValidLoaded(
  graph: GraphDocument,
  values?: Record<string, unknown>,
): LoadedGraph {
  return orThrow(checkLoaded(graph, values));
}

function orThrow({
  errors,
  loaded,
}: {
  errors: ValidationProblem[];
  loaded?: LoadedGraph;
}): LoadedGraph {
  if (errors.length > 0 || !loaded) throw invalidGraph(errors);
  return loaded;
}

/** The one error for a graph that cannot be saved or run, carrying every problem. */
export function invalidGraph(errors: readonly ValidationProblem[]): LabError {
  const first = errors
    .slice(0, 2)
    .map((e) => e.message)
    .join('; ');
  const more = errors.length > 2 ? `; and ${errors.length - 2} more (see details.errors)` : '';
  return new LabError(
    'invalid_graph',
    `the graph has ${errors.length} problem${errors.length === 1 ? '' : 's'}: ${first}${more}`,
    400,
    { errors },
  );
}

/**
 * Reads the graph out of a request body: `{ graph: … }`, or the document itself (what an
 * exported file holds), so `curl --data @hero.json` works too.
 */
export function graphFromBody(body: unknown): unknown {
  if (body && typeof body === 'object' && !Array.isArray(body) && 'graph' in body) {
    return (body as { graph: unknown }).graph;
  }
  return body;
}
