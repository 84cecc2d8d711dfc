/**
 * The contract between the generic activity wrapper (engine/worker) and each node type's
 * `activity.ts`. Worker-only: never imported by the editor or the workflow.
 */
import type { ArtifactService } from '../artifacts/artifact-service';
import type { MediaTools, ProviderService, ProviderServices } from '../config';
import type { CharacterIdentity } from '../faces/identity';
import type { Character } from '../graph/values';
import type { CharacterRecord, Collection, ExternalTaskRecord } from '../stores/ports';
import type { RunBudget } from './run-budget';

/** The resolved provider with its settings: what a node activity gets as `ctx.provider`. */
export type ProviderChoice =
  | { name: 'local' }
  | {
      [S in ProviderService]: { name: S; config: NonNullable<ProviderServices[S]> };
    }[ProviderService];

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
  /**
   * Reports progress 0..1 with a short stage label; throttled by the wrapper, except with
   * `record: true`, which always reaches the run's event log (e.g. each consistency-gate attempt).
   */
  progress(fraction: number, stage?: string, options?: { record?: boolean }): void;
  /** How many times the user regenerated this item ("regenerate this shot"); 0 normally. */
  reroll: number;
  /** This run's budgets for this node, shared by all its fan-out items (engine/worker/run-budget.ts). */
  budget: RunBudget;
  /** The checkpoint saved by an earlier attempt of this same activity, if any. */
  checkpoint: unknown;
  /** Saves a resume point (e.g. a provider task id) that a retry will see as `checkpoint`. */
  saveCheckpoint(value: unknown): void;
  /**
   * Reads and stores artifacts (the blob store behind it, with metadata); what it stores
   * belongs to the run's owner.
   */
  artifacts: ArtifactService;
  /**
   * The provider this run of the node uses, resolved from its `provider` param by the shell,
   * with that one provider's settings (never another provider's keys). `local` for nodes
   * without providers.
   */
  provider: ProviderChoice;
  /** The ffmpeg binaries, for the one door to ffmpeg (engine/media). */
  media: MediaTools;
  /**
   * Characters by id, read-only: only those the run's owner may read (their own and `public`
   * ones); any other is answered as missing.
   */
  characters: Pick<Collection<CharacterRecord>, 'get'>;
  /**
   * The character's face identity (mean descriptor, calibrated threshold, per-image answers),
   * computed and stored on first use when missing or stale (engine/faces/identity-service.ts).
   * Null when no reference image shows exactly one face.
   */
  identity(character: Character): Promise<CharacterIdentity | null>;
  /**
   * Paid provider tasks by key (`runId:nodeId:item`), so a retry resumes a task instead of
   * paying for a second one.
   */
  externalTasks: Collection<ExternalTaskRecord>;
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
