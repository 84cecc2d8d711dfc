/**
 * The graph schema: everything the graph core does, bound once to the node definitions handed
 * in (tldraw's createTLSchema, for node types). Nothing in engine/graph reaches for a global
 * registry: the composition root (nodes/definitions.ts) builds one schema and hands it to the
 * server, the CLI, the run service, the worker and the studio.
 */
import { applyValues, type ApplyValuesResult } from './apply-values';
import { compile, type CompileOptions } from './compile';
import type { NodeDefinition } from './define-node';
import type { GraphDocument } from './document';
import { describeNodeTypes, type NodeTypeDescription } from './json-schema';
import { loadGraph, type AppliedMigration, type LoadResult } from './load';
import type { ExecutionPlan } from './plan';
import { GraphInvalid, type NodeRegistry, type ValidationProblem } from './problems';
import { validateGraph } from './validate';

/** A loaded document: current version, migrated, defaults filled. */
export interface LoadedGraph {
  graph: GraphDocument;
  /** The version the input was saved with, when older than the current one. */
  migratedFrom?: number;
  /** Migrations that ran while loading (document-wide and per node). */
  migrations: AppliedMigration[];
}

/** A graph ready to run: loaded, values applied, valid, compiled. */
export interface PreparedGraph extends LoadedGraph {
  plan: ExecutionPlan;
}

export interface PrepareOptions {
  /** `"nodeId.param": value` entries (exposed template values, CLI `--set`), applied before validating. */
  values?: Record<string, unknown>;
  /** Nodes to run even when cached (rerun from here); their descendants are forced too. */
  forceRun?: string[];
}

/** Every problem of a graph input; `loaded` is set whenever it loaded (even with problems). */
export interface GraphCheck {
  errors: ValidationProblem[];
  loaded?: LoadedGraph;
}

export interface GraphSchema {
  readonly registry: NodeRegistry;
  /** Node definitions in registry (palette) order. */
  readonly definitions: readonly NodeDefinition[];
  definition(type: string): NodeDefinition | undefined;
  /** JSON text or a parsed value → the current-version document, or every reason it cannot load. */
  load(input: unknown): LoadResult;
  validate(doc: GraphDocument): ValidationProblem[];
  applyValues(doc: GraphDocument, values: Record<string, unknown>): ApplyValuesResult;
  /** load → apply values → validate, reporting every problem instead of throwing. */
  check(input: unknown, options?: PrepareOptions): GraphCheck;
  /**
   * The one way a graph becomes runnable, for the HTTP API, the CLI and the run service alike:
   * load → apply values → validate → compile. Throws GraphInvalid with every problem.
   */
  prepare(input: unknown, options?: PrepareOptions): PreparedGraph;
  /** What GET /api/node-types serves. */
  describeNodeTypes(): NodeTypeDescription[];
}

/** Builds the registry from `nodes` (rejecting duplicate type ids) and binds the core to it. */
export function createGraphSchema({ nodes }: { nodes: readonly NodeDefinition[] }): GraphSchema {
  const registry = createRegistry(nodes);
  const definitions = [...registry.values()];

  function check(input: unknown, options: PrepareOptions = {}): GraphCheck {
    const result = loadGraph(input, registry);
    if (!result.ok) return { errors: result.errors };
    let graph = result.graph;
    if (options.values && Object.keys(options.values).length > 0) {
      const applied = applyValues(graph, options.values, registry);
      if (!applied.ok) return { errors: applied.errors };
      graph = applied.graph;
    }
    const errors = [...validateGraph(graph, registry), ...unknownForceRun(graph, options)];
    const loaded: LoadedGraph = {
      graph,
      ...(result.migratedFrom === undefined ? {} : { migratedFrom: result.migratedFrom }),
      migrations: result.migrations,
    };
    return { errors, loaded };
  }

  return {
    registry,
    definitions,
    definition: (type) => registry.get(type),
    load: (input) => loadGraph(input, registry),
    validate: (doc) => validateGraph(doc, registry),
    applyValues: (doc, values) => applyValues(doc, values, registry),
    check,
    prepare(input, options = {}) {
      const { errors, loaded } = check(input, options);
      if (errors.length > 0 || !loaded) throw new GraphInvalid(errors);
      const compileOptions: CompileOptions = { forceRun: options.forceRun ?? [] };
      return { ...loaded, plan: compile(loaded.graph, registry, compileOptions) };
    },
    describeNodeTypes: () => describeNodeTypes(registry),
  };
}

/** A registry by type id; a type id is permanent and unique, so a duplicate is a bug. */
export function createRegistry(definitions: readonly NodeDefinition[]): NodeRegistry {
  const registry = new Map<string, NodeDefinition>();
  for (const definition of definitions) {
    if (registry.has(definition.type)) throw new Error(`duplicate node type "${definition.type}"`);
    registry.set(definition.type, definition);
  }
  return registry;
}

function unknownForceRun(graph: GraphDocument, options: PrepareOptions): ValidationProblem[] {
  const known = new Set(graph.nodes.map((node) => node.id));
  return (options.forceRun ?? [])
    .filter((id) => !known.has(id))
    .map((id) => ({
      code: 'unknown_node' as const,
      nodeId: id,
      message: `cannot rerun from node "${id}": the graph has no such node; pick one of ${[...known].map((k) => `"${k}"`).join(', ')}`,
    }));
}
