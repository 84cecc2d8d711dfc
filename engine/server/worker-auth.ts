/**
 * Who may report run events on `/workers`, and for which runs (issue 10 item 2).
 *
 * Two credentials open the namespace: the shared cluster token (LAB_WORKER_TOKEN, or the data
 * dir's random one) for workers the operator runs next to the server, and, with accounts on, a
 * per-worker token (`clab_wrk_…`, made by an admin on the Tokens page) for remote workers.
 *
 * Every connection may report only for runs that exist and have not ended: a finished run's
 * events are closed, so no worker can rewrite its nodes (the interpreter's own reports all
 * reach the store before its workflow closes, because its report activity waits for the ack).
 *
 * A per-worker token is further limited to the runs Temporal dispatched to it. The server
 * names the Temporal identity the worker must poll with (`charlab-worker:<token id>:<nonce>`,
 * sent in the `temporal` event); a batch for a run is accepted only when Temporal shows a worker
 * of that token on the run: a pending activity whose last worker is it (activities in flight),
 * or an activity or workflow task it started in the run's history (a workflow worker's own
 * reports, and events an outbox delivers late after an outage). Positive answers are cached per
 * run and token while the run lives; the identity itself is only as trusted as Temporal's
 * frontend, which a worker token does not open.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { AccountService } from '../auth/account-service';
import type { Engine } from '../engine-types';
import { isTerminalRunStatus } from '../runs/events';
import type { RunRecord } from '../stores/ports';
import type { RefusalCode } from '../worker/progress-sink';

/** Every identity the server hands to a per-worker token's Temporal workers starts so. */
export const WORKER_IDENTITY_PREFIX = 'charlab-worker';

/** How a `/workers` connection proved itself. */
export type WorkerCredential =
  | { kind: 'cluster' }
  | {
      kind: 'token';
      /** The token's record id (`wrk_…`): what revocation and dispatch checks key on. */
      tokenId: string;
      /** The presented token, re-checked on every batch (revoked, or its maker disabled). */
      token: string;
      /** The Temporal identity this connection was told to poll with. */
      identity: string;
    };

export interface Refusal {
  code: RefusalCode;
  message: string;
}

/** The cluster token, or a live per-worker token (accounts on only); null for anything else. */
export async function authenticateWorker(
  given: unknown,
  clusterToken: string,
  accounts: AccountService | undefined,
): Promise<WorkerCredential | null> {
  if (clusterTokenMatches(given, clusterToken)) return { kind: 'cluster' };
  if (!accounts || typeof given !== 'string') return null;
  const record = await accounts.workerToken(given);
  if (!record) return null;
  return { kind: 'token', tokenId: record.id, token: given, identity: workerIdentity(record.id) };
}

/** A fresh identity for a per-worker token's Temporal workers (the nonce tells processes apart). */
export function workerIdentity(tokenId: string): string {
  return `${WORKER_IDENTITY_PREFIX}:${tokenId}:${randomBytes(4).toString('hex')}`;
}

/** Whether a Temporal identity is one the server handed to this token's workers. */
export function identityOfToken(identity: string | null | undefined, tokenId: string): boolean {
  return (
    typeof identity === 'string' && identity.startsWith(`${WORKER_IDENTITY_PREFIX}:${tokenId}:`)
  );
}

/** How long one Temporal call of the dispatch check may take before the batch is retried. */
const TEMPORAL_CHECK_DEADLINE_MS = 10_000;
/** Bounds on the remembered answers and log lines (a long-lived server sees many runs). */
const MAX_REMEMBERED = 10_000;

/**
 * Decides, run by run, whether a connection's events are accepted. Throws only when it could
 * not decide (store or Temporal unreachable): the worker then sends the batch again.
 */
export class WorkerEventGate {
  /** `<runId>\u0000<tokenId>` for runs Temporal showed the token working on. */
  private readonly dispatched = new Set<string>();
  /** `<runId>\u0000<code>` already logged: one line per refused run, not one per batch. */
  private readonly logged = new Set<string>();

  constructor(
    private readonly engine: { runs: Pick<Engine['runs'], 'get'>; temporal: Engine['temporal'] },
    private readonly log: (level: 'info' | 'warn' | 'error', message: string) => void,
  ) {}

  /** undefined when the connection may report for this run, else why not. */
  async check(runId: string, credential: WorkerCredential): Promise<Refusal | undefined> {
    const run = await this.engine.runs.get(runId);
    let refusal: Refusal | undefined;
    if (!run) {
      refusal = {
        code: 'run_not_found',
        message: `run "${runId}" does not exist: its events were dropped`,
      };
    } else if (isTerminalRunStatus(run.snapshot.status)) {
      // The stored status is enough: a run's ending is a milestone, written to the record
      // before its append returns (engine/runs/event-hub.ts).
      this.forgetRun(runId);
      refusal = {
        code: 'run_finished',
        message: `run "${runId}" already ended: a finished run's events are closed`,
      };
    } else if (credential.kind === 'token' && !(await this.dispatchedTo(run, credential.tokenId))) {
      refusal = {
        code: 'run_not_dispatched',
        message: `run "${runId}" was not dispatched to this worker's token: Temporal shows no task of it on a worker of this token`,
      };
    }
    if (refusal) this.logOnce(runId, refusal, credential);
    return refusal;
  }

  /** Drops what was learnt about a revoked token. */
  forgetToken(tokenId: string): void {
    for (const key of this.dispatched)
      if (key.endsWith(`\u0000${tokenId}`)) this.dispatched.delete(key);
  }

  private forgetRun(runId: string): void {
    for (const key of this.dispatched)
      if (key.startsWith(`${runId}\u0000`)) this.dispatched.delete(key);
  }

  private async dispatchedTo(run: RunRecord, tokenId: string): Promise<boolean> {
    const key = `${run.id}\u0000${tokenId}`;
    if (this.dispatched.has(key)) return true;
    const { client } = this.engine.temporal;
    const handle = client.workflow.getHandle(run.temporalWorkflowId);
    const deadline = () => Date.now() + TEMPORAL_CHECK_DEADLINE_MS;
    // In flight: an activity task is started before the worker gets it, so by the time the
    // worker reports on it, its pending entry names the worker.
    let described;
    try {
      described = await client.connection.withDeadline(deadline(), () => handle.describe());
    } catch (error) {
      // A run without a workflow (answered from the cache, or whose start failed) has no task
      // any worker could have been given.
      if (error instanceof WorkflowNotFoundError) return false;
      throw error;
    }
    let found = (described.raw.pendingActivities ?? []).some((activity) =>
      identityOfToken(activity.lastWorkerIdentity, tokenId),
    );
    if (!found) {
      // Finished activities (their Started event is written when they close) and workflow
      // tasks: the report activity of a workflow worker runs inside one.
      const history = await client.connection.withDeadline(deadline(), () => handle.fetchHistory());
      found = (history.events ?? []).some((event) => startedBy(event, tokenId));
    }
    if (found) remember(this.dispatched, key);
    return found;
  }

  private logOnce(runId: string, refusal: Refusal, credential: WorkerCredential): void {
    const key = `${runId}\u0000${refusal.code}`;
    if (this.logged.has(key)) return;
    remember(this.logged, key);
    const who = credential.kind === 'token' ? `worker token ${credential.tokenId}` : 'a worker';
    this.log('warn', `refused run events from ${who}: ${refusal.code}: ${refusal.message}`);
  }
}

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

function startedBy(event: HistoryEvent, tokenId: string): boolean {
  return (
    identityOfToken(event.activityTaskStartedEventAttributes?.identity, tokenId) ||
    identityOfToken(event.workflowTaskStartedEventAttributes?.identity, tokenId) ||
    identityOfToken(event.workflowTaskCompletedEventAttributes?.identity, tokenId)
  );
}

/** Adds to a bounded set: the oldest entry goes when it is full (sets keep insertion order). */
function remember(set: Set<string>, key: string): void {
  if (set.size >= MAX_REMEMBERED) set.delete(set.values().next().value!);
  set.add(key);
}

function clusterTokenMatches(given: unknown, expected: string): boolean {
  if (typeof given !== 'string' || expected.length === 0) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
