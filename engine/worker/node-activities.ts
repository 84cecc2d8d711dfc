/**
 * Wraps every node type's activity (nodes/activities.ts) in the same Temporal activity
 * shell: content-addressed cache lookup, heartbeats carrying progress and a resume
 * checkpoint, cancellation as an AbortSignal, a scratch directory, progress events, and
 * error classification (NonRetryableNodeError → non-retryable ApplicationFailure).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { NodeDefinition } from '../graph/define-node';
import { nodeCacheKey } from '../runs/cache-key';
import type { RunEventInput } from '../runs/events';
import { lifecycleEventKey } from '../runs/event-keys';
import type { NodeActivityInput, NodeActivityResult } from '../graph/plan';
import type { GraphSchema } from '../graph/schema';
import { NonRetryableNodeError, type NodeActivity, type NodeContext } from './node-api';
import type { ArtifactService } from '../artifacts/artifact-service';
import { artifactRefsIn, verifyCachedOutputs } from '../artifacts/cached-outputs';
import { LOCAL_VIEWER, PUBLIC_OWNER } from '../auth/viewer';
import type { ProviderConfig } from '../config';
import { chooseProvider } from '../providers/choice';
import { createScrub, scrubError, scrubOptionsOf } from '../providers/scrub';
import type {
  BlobStore,
  CharacterRecord,
  Collection,
  DocumentStore,
  VectorStore,
} from '../stores/ports';
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
        async (input: NodeActivityInput) => {
          const result = await runNodeActivity(deps, definition, implementation, input);
          if (input.liveEvents) reportCompletion(deps.sink, input, result);
          return result;
        },
      ];
    }),
  );
}

/**
 * Watchers hear of a finished item (or single node) from the worker at once; the workflow's
 * durable report of the same event has the same key and is dropped by the store. A fan-out
 * node's own completion is the workflow's alone: only it knows when every item is done.
 */
function reportCompletion(
  sink: ProgressSink,
  input: NodeActivityInput,
  result: NodeActivityResult,
): void {
  const type = result.cached ? 'node.cached' : 'node.completed';
  sink.post([
    {
      key: lifecycleEventKey(type, input.nodeId, input.index),
      runId: input.runId,
      type,
      nodeId: input.nodeId,
      ...(input.index !== undefined ? { index: input.index } : {}),
      status: result.cached ? 'cached' : 'succeeded',
      outputs: result.outputs,
      at: new Date().toISOString(),
    },
  ]);
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

/**
 * Run id → its owner, per worker's deps. A run's owner never changes, so every activity of a
 * run after the first reads it from memory; the map is bounded, as a worker lives for many runs.
 */
const runOwners = new WeakMap<NodeActivityDeps, Map<string, string>>();
const RUN_OWNERS_KEPT = 1_000;

/**
 * The owner of run `runId`: its artifacts, cache entries and character reads are theirs. A run
 * without a record (an activity started outside the run service) is the local user's.
 */
async function runOwnerOf(deps: NodeActivityDeps, runId: string): Promise<string> {
  let owners = runOwners.get(deps);
  if (!owners) {
    owners = new Map();
    runOwners.set(deps, owners);
  }
  const known = owners.get(runId);
  if (known !== undefined) return known;
  const run = await deps.documents.runs.get(runId);
  if (!run) return LOCAL_VIEWER.id;
  owners.set(runId, run.ownerId);
  // Maps keep insertion order: the first key is the run heard of longest ago.
  if (owners.size > RUN_OWNERS_KEPT) owners.delete(owners.keys().next().value!);
  return run.ownerId;
}

/**
 * Characters as the run's owner may read them: their own and the shipped (`public`) ones.
 * Another user's character is answered as missing, so a run never learns that it exists
 * (the loader fails with the same `character_not_found` as for a deleted one).
 */
function charactersReadableBy(
  characters: Pick<Collection<CharacterRecord>, 'get'>,
  ownerId: string,
): Pick<Collection<CharacterRecord>, 'get'> {
  return {
    async get(id) {
      const record = await characters.get(id);
      return record && (record.ownerId === ownerId || record.ownerId === PUBLIC_OWNER)
        ? record
        : null;
    },
  };
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
  const owner = await runOwnerOf(deps, input.runId);
  const cacheKey = input.useCache
    ? nodeCacheKey(definition, input, provider.name, owner)
    : undefined;
  if (cacheKey) {
    const hit = await deps.documents.cache.get(cacheKey);
    // A hit whose artifacts are gone or damaged is no hit: the node runs again and stores
    // fresh bytes (which also repairs the damaged blob), instead of passing bad bytes on.
    const usable =
      hit &&
      (await verifyCachedOutputs(deps.blobs, hit.outputs, (ref) =>
        deps.log?.(
          `cached output of ${input.nodeId} is damaged: artifact ${ref.id} no longer has its recorded ${ref.bytes} bytes and sha256; running the node again`,
          {
            level: 'warn',
            runId: input.runId,
            nodeId: input.nodeId,
            index: input.index,
            artifactId: ref.id,
          },
        ),
      ));
    if (hit && usable) {
      // Defence in depth: the key is the owner's, so these are normally its artifacts already.
      await deps.artifacts.grant(artifactRefsIn(hit.outputs), owner);
      return { outputs: hit.outputs, cached: true };
    }
  }

  const previous = activity.info.heartbeatDetails as HeartbeatDetails | undefined;
  let details: HeartbeatDetails = { pct: 0, checkpoint: previous?.checkpoint };
  const eventBase = {
    runId: input.runId,
    nodeId: input.nodeId,
    ...(input.index !== undefined ? { index: input.index } : {}),
  };
  const attempt = activity.info.attempt;
  // post() only queues: an activity never waits for the server (the sink keeps the events until
  // they are stored), so heartbeats start at once even while the server is down.
  const emit = (key: string, type: RunEventInput['type'], fields: Partial<RunEventInput> = {}) =>
    deps.sink.post([{ key, type, at: new Date().toISOString(), ...eventBase, ...fields }]);

  emit(lifecycleEventKey('node.started', input.nodeId, input.index, attempt), 'node.started', {
    status: 'running',
    progress: 0,
    stage: attempt > 1 ? `attempt ${attempt}` : undefined,
  });
  activity.heartbeat(details);
  // Cancellation reaches an activity only through heartbeats: keep them flowing even while a
  // node is busy in one long step.
  const heartbeatTimer = setInterval(() => activity.heartbeat(details), HEARTBEAT_INTERVAL_MS);
  let lastProgressAt = 0;
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
      emit(`act:${randomUUID()}`, 'node.progress', {
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
    artifacts: deps.artifacts.forOwner(owner),
    provider,
    media: {
      ffmpegPath: deps.providers.ffmpegPath,
      ffprobePath: deps.providers.ffprobePath,
      ...(deps.providers.fontFile ? { fontFile: deps.providers.fontFile } : {}),
    },
    characters: charactersReadableBy(deps.documents.characters, owner),
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
    // Providers scrub their own errors; this net catches any other path (an SDK error that
    // escaped, a helper quoting a URL) before Temporal stores the failure in its history.
    const scrubbed = scrubError(error, createScrub(scrubOptionsOf(deps.providers)));
    if (scrubbed instanceof NonRetryableNodeError) throw nonRetryable(scrubbed);
    throw scrubbed;
  } finally {
    clearInterval(heartbeatTimer);
    await rm(workDir, { recursive: true, force: true });
  }
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

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
}
