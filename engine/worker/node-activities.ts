/**
 * Wraps every node type's activity (nodes/activities.ts) in the same Temporal activity
 * shell: content-addressed cache lookup, heartbeats carrying progress and a resume
 * checkpoint, cancellation as an AbortSignal, a scratch directory, progress events, and
 * error classification (NonRetryableNodeError → non-retryable ApplicationFailure).
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { canonicalJson } from '../graph/canonical';
import type { FanOutSpec } from '../graph/define-node';
import type { RunEventInput } from '../graph/events';
import type { NodeActivityInput, NodeActivityResult } from '../graph/plan';
import { artifactRefSchema } from '../graph/values';
import {
  NonRetryableNodeError,
  type NodeActivity,
  type NodeContext,
} from '../../nodes/activity-types';
import { getDefinition } from '../../nodes/definitions';
import type { ArtifactService } from '../artifacts/artifact-service';
import type { ProviderConfig } from '../providers/config';
import { isProviderNodeType, resolveProvider } from '../providers/resolve';
import type { BlobStore, DocumentStore } from '../stores/ports';
import type { ProgressSink } from './progress-sink';

export interface NodeActivityDeps {
  implementations: Record<string, NodeActivity>;
  sink: ProgressSink;
  documents: DocumentStore;
  blobs: BlobStore;
  artifacts: ArtifactService;
  providers: ProviderConfig;
  log?: (line: string) => void;
}

/** Heartbeat details: small, so they fit Temporal's payload limits comfortably. */
interface HeartbeatDetails {
  pct: number;
  stage?: string;
  checkpoint?: unknown;
}

const PROGRESS_EVENT_INTERVAL_MS = 250;
const HEARTBEAT_INTERVAL_MS = 1_000;

export function createNodeActivities(
  deps: NodeActivityDeps,
): Record<string, (input: NodeActivityInput) => Promise<NodeActivityResult>> {
  return Object.fromEntries(
    Object.entries(deps.implementations).map(([type, implementation]) => [
      type,
      (input: NodeActivityInput) => runNodeActivity(deps, implementation, input),
    ]),
  );
}

async function runNodeActivity(
  deps: NodeActivityDeps,
  implementation: NodeActivity,
  input: NodeActivityInput,
): Promise<NodeActivityResult> {
  const activity = Context.current();
  const cacheKey = input.useCache ? nodeCacheKey(input, deps.providers) : undefined;
  if (cacheKey) {
    const hit = await deps.documents.cache.get(cacheKey);
    if (hit && (await artifactsExist(deps.blobs, hit.outputs)))
      return { outputs: hit.outputs, cached: true };
  }

  const previous = activity.info.heartbeatDetails as HeartbeatDetails | undefined;
  let details: HeartbeatDetails = { pct: 0, checkpoint: previous?.checkpoint };
  const eventBase = {
    runId: input.runId,
    nodeId: input.nodeId,
    ...(input.index !== undefined ? { index: input.index } : {}),
  };
  const attempt = activity.info.attempt;
  const emit = (type: RunEventInput['type'], fields: Partial<RunEventInput> = {}) =>
    deps.sink
      .send([
        { key: `act:${randomUUID()}`, type, at: new Date().toISOString(), ...eventBase, ...fields },
      ])
      .catch((error: unknown) =>
        deps.log?.(`could not report ${type} for ${input.nodeId}: ${String(error)}`),
      );

  await emit('node.started', {
    status: 'running',
    progress: 0,
    stage: attempt > 1 ? `attempt ${attempt}` : undefined,
  });
  activity.heartbeat(details);
  // Cancellation reaches an activity only through heartbeats: keep them flowing even while a
  // node is busy in one long step.
  const heartbeatTimer = setInterval(() => activity.heartbeat(details), HEARTBEAT_INTERVAL_MS);
  let lastProgressAt = 0;
  let pendingProgress: Promise<void> = Promise.resolve();
  const workDir = await mkdtemp(join(tmpdir(), 'charlab-node-'));

  const ctx: NodeContext = {
    runId: input.runId,
    nodeId: input.nodeId,
    ...(input.index !== undefined ? { index: input.index } : {}),
    ...(input.total !== undefined ? { total: input.total } : {}),
    attempt,
    signal: activity.cancellationSignal,
    progress(fraction, stage) {
      details = { ...details, pct: clamp01(fraction), ...(stage !== undefined ? { stage } : {}) };
      activity.heartbeat(details);
      const now = Date.now();
      if (now - lastProgressAt < PROGRESS_EVENT_INTERVAL_MS) return;
      lastProgressAt = now;
      pendingProgress = emit('node.progress', {
        progress: details.pct,
        ...(details.stage ? { stage: details.stage } : {}),
      });
    },
    checkpoint: previous?.checkpoint,
    saveCheckpoint(value) {
      details = { ...details, checkpoint: value };
      activity.heartbeat(details);
    },
    artifacts: deps.artifacts,
    documents: deps.documents,
    providers: deps.providers,
    workDir,
    log: (message) =>
      deps.log?.(
        `[${input.nodeId}${input.index !== undefined ? `#${input.index}` : ''}] ${message}`,
      ),
  };

  try {
    const outputs = await implementation({ params: input.params, inputs: input.inputs, ctx });
    await pendingProgress;
    if (cacheKey) {
      await deps.documents.cache.put({
        key: cacheKey,
        nodeType: input.type,
        outputs,
        createdAt: new Date().toISOString(),
      });
    }
    return { outputs, cached: false };
  } catch (error) {
    if (activity.cancellationSignal.aborted) throw error;
    if (error instanceof NonRetryableNodeError) {
      throw ApplicationFailure.nonRetryable(error.message, 'NonRetryableNodeError', {
        code: error.code,
      });
    }
    throw error;
  } finally {
    clearInterval(heartbeatTimer);
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * The cache key: type, typeVersion, canonical params, and the inputs' content (artifact refs
 * are content hashes). A fan-out item's key holds only its own item of the fan-out input (and
 * of zipped inputs), so editing one shot re-renders only that shot. `auto` providers add the
 * provider they resolve to, so configuring a real provider does not reuse local results.
 */
export function nodeCacheKey(input: NodeActivityInput, providers: ProviderConfig): string {
  const definition = getDefinition(input.type);
  const inputs =
    input.index === undefined || !definition?.fanOut
      ? input.inputs
      : itemInputs(input, definition.fanOut);
  // `auto` joins the key as the provider it resolves to on this worker.
  const provider =
    input.params.provider === 'auto' && isProviderNodeType(input.type)
      ? resolveProvider(input.type, 'auto', providers)
      : undefined;
  const material = canonicalJson({
    type: input.type,
    typeVersion: input.typeVersion,
    params: input.params,
    inputs,
    index: input.index ?? null,
    provider: provider ?? null,
  });
  return createHash('sha256').update(material).digest('hex');
}

function itemInputs(input: NodeActivityInput, fanOut: FanOutSpec): Record<string, unknown> {
  const index = input.index!;
  const pick = (port: string, path?: 'shots') => {
    const value = input.inputs[port];
    const list = path ? (value as Record<string, unknown> | undefined)?.[path] : value;
    if (!Array.isArray(list) || list.length === 0) return null;
    return list[Math.min(index, list.length - 1)];
  };
  const narrowed: Record<string, unknown> = {
    ...input.inputs,
    [fanOut.input]: pick(fanOut.input, fanOut.path),
  };
  for (const zip of fanOut.zip ?? []) narrowed[zip.input] = pick(zip.input, zip.path);
  return narrowed;
}

/** A cache hit is only good while its artifacts are still stored. */
async function artifactsExist(
  blobs: BlobStore,
  outputs: Record<string, unknown>,
): Promise<boolean> {
  const refs: string[] = [];
  const visit = (value: unknown) => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value && typeof value === 'object') {
      const parsed = artifactRefSchema.safeParse(value);
      if (parsed.success) return refs.push(parsed.data.id);
      Object.values(value).forEach(visit);
    }
  };
  visit(outputs);
  for (const id of refs) if (!(await blobs.stat(id))) return false;
  return true;
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
