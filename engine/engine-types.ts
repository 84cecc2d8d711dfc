/**
 * The Engine: everything the API server, the CLI and tests drive, wired once by
 * `createEngine` (engine/engine.ts). Transport-free: HTTP and Socket.IO live in engine/server.
 */
import type { Client } from '@temporalio/client';
import type { ArtifactService } from './artifacts/artifact-service';
import type { GraphSchema } from './graph/schema';
import type { RunSnapshot } from './runs/events';
import type { ProviderConfig } from './config';
import type { EventHub } from './runs/event-hub';
import type { BlobStore, DocumentStore, RunRecord, VectorStore } from './stores/ports';

export interface StartRunRequest {
  /**
   * The graph in any form the graph schema loads: a document (of any supported version), its
   * JSON text, or a saved workflow's graph. `start` prepares it: load, values, validate, compile.
   */
  graph: unknown;
  workflowId?: string;
  /** `nodeId.param` → value (exposed template values, CLI `--set`). */
  values?: Record<string, unknown>;
  ownerId?: string;
  parentRunId?: string;
  /** Nodes that must run even on a cache hit (and their descendants). */
  forceRun?: string[];
  /** Per-item rerolls carried in the plan (ExecutionPlan.rerolls): "regenerate this shot". */
  rerolls?: Record<string, Record<string, number>>;
}

/** Regenerate one fan-out item (a shot's frame or clip) of a finished run with a new seed. */
export interface RegenerateRequest {
  nodeId: string;
  index: number;
}

export interface RerunRequest {
  /** Re-execute this node and everything downstream, even if cached. */
  fromNodeId?: string;
  /** `{ [nodeId]: { [param]: value } }` changes applied to the run's graph first. */
  params?: Record<string, Record<string, unknown>>;
}

export interface RunService {
  /** Prepares (load, values, validate, compile) and starts a run; throws GraphInvalid (400). */
  start(request: StartRunRequest): Promise<RunRecord>;
  get(runId: string): Promise<RunRecord | null>;
  snapshot(runId: string): Promise<RunSnapshot | null>;
  list(filter?: { workflowId?: string; ownerId?: string; limit?: number }): Promise<RunRecord[]>;
  /** Cancels the whole run: in-flight activities stop, the run ends `cancelled`. */
  cancel(runId: string): Promise<void>;
  /** Cancels one node: it ends `cancelled`, its descendants `skipped`, other branches go on. */
  cancelNode(runId: string, nodeId: string): Promise<void>;
  rerun(runId: string, request: RerunRequest): Promise<RunRecord>;
  /**
   * A new run of the same graph in which only item `index` of `nodeId` gets a new seed (its
   * reroll count + 1): every other item, and everything not downstream of it, comes from the
   * cache. 404 unknown_node, 400 not_fan_out / index_out_of_range, 409 run_not_finished.
   */
  regenerate(runId: string, request: RegenerateRequest): Promise<RunRecord>;
  /** Resolves when the run reaches a terminal status (for the CLI and tests). */
  waitForEnd(runId: string, timeoutMs?: number): Promise<RunSnapshot>;
  /**
   * Records the end of runs whose workflow closed without reporting it (terminated while the
   * server was down): they would otherwise look running forever. Returns how many it closed.
   */
  reconcileActive(): Promise<number>;
}

/** One service's health: `latencyMs` is how long its check took (or took to fail). */
export interface ServiceHealth {
  ok: boolean;
  kind: string;
  latencyMs: number;
  /** Why the service is not ok, when it says (e.g. which database file is damaged). */
  error?: string;
}

export interface Health {
  ok: boolean;
  /**
   * `kind`: `dev-server` (launched here) or `cluster` (TEMPORAL_ADDRESS). `since`: while the
   * dev server is down (being restarted), when it died; `restarts`: how often it was restarted.
   */
  temporal: ServiceHealth & {
    address: string;
    embedded: boolean;
    since?: string;
    restarts?: number;
  };
  documents: ServiceHealth;
  blobs: ServiceHealth;
  vectors: ServiceHealth;
  providers: Record<string, string>;
}

export interface Engine {
  dataDir: string;
  /** The graph core bound to this build's node types: load, validate, prepare. */
  graph: GraphSchema;
  documents: DocumentStore;
  blobs: BlobStore;
  vectors: VectorStore;
  artifacts: ArtifactService;
  events: EventHub;
  runs: RunService;
  providers: ProviderConfig;
  temporal: {
    address: string;
    namespace: string;
    client: Client;
    embedded: boolean;
    /** LAB_TASK_QUEUE_PREFIX, for naming the queues (metrics read their backlog). */
    taskQueuePrefix?: string;
  };
  /** Shared secret remote workers present to the server's /workers namespace. */
  workerToken: string;
  health(): Promise<Health>;
  close(): Promise<void>;
}
