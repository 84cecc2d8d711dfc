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
import type { NodeDefinition } from '../graph/define-node';
import { itemInputs } from '../graph/fan-out';
import type { RunEventInput } from '../runs/events';
import type { NodeActivityInput, NodeActivityResult } from '../graph/plan';
import { artifactRefSchema } from '../graph/values';
import type { GraphSchema } from '../graph/schema';
import { NonRetryableNodeError, type NodeActivity, type NodeContext } from './node-api';
import type { ArtifactService } from '../artifacts/artifact-service';
import type { ProviderConfig } from '../config';
import { chooseProvider } from '../providers/choice';
import type { BlobStore, DocumentStore, VectorStore } from '../stores/ports';
import { IdentityService } from '../faces/identity-service';
import type { ProgressSink } from './progress-sink';
import { cacheBackedBudget } from './run-budget';
import type { LineLog } from '../logging';

export interface NodeActivityDeps {
  /** Node definitions: providers, fan-out and cacheability come from them. */
  graph: GraphSchema;
  implementations: Record<string, NodeActivity>;
  sink: ProgressSink;
  documents: DocumentStore;
  blobs: BlobStore;
  /** Characters' face descriptors (ctx.identity stores a missing identity there). */
  vectors: VectorStore;
  artifacts: ArtifactService;
  providers: ProviderConfig;
  /** Lines about a node carry its run, node and item in `fields` (JSON logs). */
  log?: LineLog;
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
    Object.entries(deps.implementations).map(([type, implementation]) => {
      const definition = deps.graph.definition(type);
      if (!definition) throw new Error(`an activity is registered for unknown node type "${type}"`);
      return [
        type,
        (input: NodeActivityInput) => runNodeActivity(deps, definition, implementation, input),
      ];
    }),
  );
}

/** One IdentityService per worker's deps, so its activities share in-flight identity computations. */
const identityServices = new WeakMap<NodeActivityDeps, IdentityService>();

function identityServiceFor(deps: NodeActivityDeps): IdentityService {
  let service = identityServices.get(deps);
  if (!service) {
    service = new IdentityService({
      documents: deps.documents,
      vectors: deps.vectors,
      blobs: deps.blobs,
      ffmpegPath: deps.providers.ffmpegPath,
    });
    identityServices.set(deps, service);
  }
  return service;
}

async function runNodeActivity(
  deps: NodeActivityDeps,
  definition: NodeDefinition,
  implementation: NodeActivity,
  input: NodeActivityInput,
): Promise<NodeActivityResult> {
  const activity = Context.current();
  // An unconfigured or unknown provider fails before any work, and before the cache: a
  // cached local result is no answer to "use Runway".
  const provider = wrapNonRetryable(() =>
    chooseProvider(definition, input.params.provider, deps.providers.services),
  );
  const cacheKey = input.useCache ? nodeCacheKey(definition, input, provider.name) : undefined;
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
        deps.log?.(`could not report ${type} for ${input.nodeId}: ${String(error)}`, {
          level: 'warn',
          ...eventBase,
        }),
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
    progress(fraction, stage, options) {
      details = { ...details, pct: clamp01(fraction), ...(stage !== undefined ? { stage } : {}) };
      activity.heartbeat(details);
      const now = Date.now();
      if (!options?.record && now - lastProgressAt < PROGRESS_EVENT_INTERVAL_MS) return;
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
    reroll: input.reroll ?? 0,
    budget: cacheBackedBudget(deps.documents.cache, input.runId, input.nodeId),
    artifacts: deps.artifacts,
    provider,
    media: {
      ffmpegPath: deps.providers.ffmpegPath,
      ffprobePath: deps.providers.ffprobePath,
      ...(deps.providers.fontFile ? { fontFile: deps.providers.fontFile } : {}),
    },
    characters: deps.documents.characters,
    identity: (character) => identityServiceFor(deps).identityOf(character),
    externalTasks: deps.documents.externalTasks,
    workDir,
    log: (message) =>
      deps.log?.(
        `[${input.nodeId}${input.index !== undefined ? `#${input.index}` : ''}] ${message}`,
        { ...eventBase, nodeType: input.type, attempt },
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
    if (error instanceof NonRetryableNodeError) throw nonRetryable(error);
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
export function nodeCacheKey(
  definition: Pick<NodeDefinition, 'fanOut'>,
  input: NodeActivityInput,
  resolvedProvider: string,
): string {
  const inputs =
    input.index === undefined || !definition.fanOut
      ? input.inputs
      : itemInputs(input.inputs, definition.fanOut, input.index);
  const material = canonicalJson({
    type: input.type,
    typeVersion: input.typeVersion,
    params: input.params,
    inputs,
    index: input.index ?? null,
    // Only a regenerated item has one, so every other key stays what it was.
    ...(input.reroll ? { reroll: input.reroll } : {}),
    // `auto` joins the key as the provider it resolves to on this worker.
    provider: input.params.provider === 'auto' ? resolvedProvider : null,
  });
  return createHash('sha256').update(material).digest('hex');
}

/** Runs `choose`, turning a NonRetryableNodeError into Temporal's non-retryable failure. */
function wrapNonRetryable<T>(choose: () => T): T {
  try {
    return choose();
  } catch (error) {
    if (error instanceof NonRetryableNodeError) throw nonRetryable(error);
    throw error;
  }
}

function nonRetryable(error: NonRetryableNodeError): ApplicationFailure {
  return ApplicationFailure.nonRetryable(error.message, 'NonRetryableNodeError', {
    code: error.code,
  });
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
