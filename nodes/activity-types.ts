/**
 * The contract between the generic activity wrapper (engine/worker) and each node type's
 * `activity.ts`. Worker-only: never imported by the editor or the workflow.
 */
import type { ArtifactService } from '../engine/artifacts/artifact-service';
import type { DocumentStore } from '../engine/stores/ports';
import type { ProviderConfig } from '../engine/providers/config';

export interface NodeContext {
  runId: string;
  nodeId: string;
  /** Fan-out item index and count; absent for single runs. */
  index?: number;
  total?: number;
  /** 1 on the first try. */
  attempt: number;
  /** Aborted when the run or node is cancelled, or the worker shuts down. Pass it on. */
  signal: AbortSignal;
  /** Reports progress 0..1 with a short stage label; throttled by the wrapper. */
  progress(fraction: number, stage?: string): void;
  /** The checkpoint saved by an earlier attempt of this same activity, if any. */
  checkpoint: unknown;
  /** Saves a resume point (e.g. a provider task id) that a retry will see as `checkpoint`. */
  saveCheckpoint(value: unknown): void;
  artifacts: ArtifactService;
  documents: DocumentStore;
  providers: ProviderConfig;
  /** A private scratch directory, removed after the activity. */
  workDir: string;
  log(message: string): void;
}

export interface NodeActivityArgs<P = Record<string, unknown>, I = Record<string, unknown>> {
  params: P;
  inputs: I;
  ctx: NodeContext;
}

/**
 * A node type's work. For fan-out nodes it runs once per item (`ctx.index`) and returns one
 * value per list output; the workflow collects them. Must be safe to retry.
 */
export type NodeActivity<P = Record<string, unknown>, I = Record<string, unknown>> = (
  args: NodeActivityArgs<P, I>,
) => Promise<Record<string, unknown>>;

/** Thrown for failures a retry cannot fix (bad input, content policy): the node fails at once. */
export class NonRetryableNodeError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'NonRetryableNodeError';
  }
}
