/**
 * The ExecutionPlan: what `compile()` makes of a graph document and what the interpreter
 * workflow runs. Plain data, no imports: the Temporal workflow sandbox imports this file.
 */

export type TaskQueue = 'lab-cpu' | 'lab-gpu' | 'lab-io';

/** One edge feeding an input port, resolved to its source. */
export interface PlanSource {
  node: string;
  port: string;
}

export interface PlanRetry {
  maximumAttempts: number;
  initialIntervalSec: number;
  backoffCoefficient: number;
}

/**
 * A node evaluated at compile time (pure), or answered by the server before the run started
 * (engine/runs/cache-plan.ts): the workflow only reports it.
 */
export interface ConstantStep {
  kind: 'constant';
  outputs: Record<string, unknown>;
  /**
   * Set when the server answered an activity node from the cache before the run started
   * (engine/runs/cache-plan.ts): the workflow reports the node `cached`, not `succeeded`.
   * `items` holds a fan-out node's per-item outputs, reported one `node.cached` each. Never
   * in a compiled plan or a run record's plan: only in what the workflow is started with.
   */
  cached?: { items?: Record<string, unknown>[] };
}

/** A node run as a Temporal activity named after its type, once or once per fan-out item. */
export interface ActivityStep {
  kind: 'activity';
  activityType: string;
  taskQueue: TaskQueue;
  /** Input port whose list (or `path` inside it) sets the number of items. */
  fanOut?: { input: string; path?: string; zip?: { input: string; path?: string }[] };
  /** Output ports that are lists: fan-out items contribute one value each. */
  listOutputs: string[];
  maxParallel: number;
  startToCloseSec: number;
  heartbeatSec: number;
  retry: PlanRetry;
  cacheable: boolean;
}

export interface PlanNode {
  id: string;
  type: string;
  typeVersion: number;
  title: string;
  /** Params after migration, defaults and `--set`/exposed values: canonical and complete. */
  params: Record<string, unknown>;
  /** Input port → its sources, in edge order. List inputs concatenate, single inputs take one. */
  inputs: Record<string, { list: boolean; sources: PlanSource[] }>;
  parents: string[];
  step: ConstantStep | ActivityStep;
}

export interface ExecutionPlan {
  schema: 'character-lab/plan';
  version: 1;
  graphId: string;
  graphName: string;
  /** Topological order, computed once so scheduling order is data, not code. */
  order: string[];
  nodes: Record<string, PlanNode>;
  /** Nodes that must run even when the cache has their outputs (rerun from a node). */
  forceRun: string[];
  /**
   * "Regenerate this shot": fan-out node id → item index → how many times the user rejected
   * that item. The interpreter hands it to the item's activity (a new seed, a new cache key);
   * every other item keeps its cache. Absent in ordinary runs; never part of the graph document.
   */
  rerolls?: Record<string, Record<string, number>>;
}

/** What the workflow passes to every node activity. */
export interface NodeActivityInput {
  runId: string;
  nodeId: string;
  type: string;
  typeVersion: number;
  params: Record<string, unknown>;
  inputs: Record<string, unknown>;
  /** Fan-out item index; absent for single runs. */
  index?: number;
  /** Number of fan-out items, for progress reporting. */
  total?: number;
  /** The item's reroll count from `ExecutionPlan.rerolls`; absent when 0. */
  reroll?: number;
  useCache: boolean;
  /**
   * Set by interpreters that report lifecycle events under engine/runs/event-keys.ts keys: the
   * worker then reports the item's completion itself too (the workflow's copy is the backup).
   * Absent for runs started by older interpreters, whose copies carry other keys.
   */
  liveEvents?: boolean;
}

/** What a node activity returns: small JSON (artifact refs, storyboards), never bytes. */
export interface NodeActivityResult {
  outputs: Record<string, unknown>;
  cached: boolean;
}
