/**
 * Answers a run's unchanged nodes from the cache before its workflow starts. Walking the plan
 * in order, a cacheable node whose parents' outputs are all known (constants, or nodes already
 * answered here) gets the cache key its activity would compute (same function, same inputs,
 * the provider `auto` resolves to on the worker); when every item hits and every artifact is
 * intact, the node becomes a constant step marked `cached`. The workflow then spends no
 * Temporal round trip on it, and a run answered entirely from the cache needs no workflow at
 * all (run-service.ts). Everything here is a read: the cache, and the blobs' integrity.
 *
 * A node that is not cacheable but whose output is a read of stored documents (the character
 * loader) declares `resolveOnServer` in its definition: it is answered here by the same reads,
 * on behalf of the run's owner, and becomes a plain constant step (reported `succeeded`, as
 * the activity would be), so the keys of the nodes below it chain through.
 *
 * What is left alone is looked up by the activity shell as before: nodes below a node only a
 * worker can run (their inputs exist only at run time), forced nodes (rerun from here),
 * and nodes whose provider choice only the worker can make.
 */
import { LOCAL_VIEWER, PUBLIC_OWNER } from '../auth/viewer';
import { FACE_EMBEDDING_MODEL } from '../faces/face-embedder';
import { hasIdentityFace, identityIsCurrent } from '../faces/identity';
import type { NodeDefinition, ServerReads } from '../graph/define-node';
import { fanOutList } from '../graph/fan-out';
import type { ConstantStep, ExecutionPlan, PlanNode } from '../graph/plan';
import type { GraphSchema } from '../graph/schema';
import { verifyCachedOutputs } from '../artifacts/cached-outputs';
import type { ProviderServices } from '../config';
import { collectItems, wireInputs } from '../interpreter/plan-values';
import { chooseProvider } from '../providers/choice';
import type { BlobStore, CacheStore, CharacterRecord, Collection } from '../stores/ports';
import { nodeCacheKey } from './cache-key';

export interface CachePlanDeps {
  graph: Pick<GraphSchema, 'definition'>;
  cache: CacheStore;
  blobs: BlobStore;
  /**
   * The provider services the workers resolve `auto` with, when the server knows them for
   * sure (the embedded worker shares the server's configuration). Absent: a node whose `auto`
   * could pick a real provider, or that names a real provider, is left to the worker.
   */
  workerServices?: ProviderServices;
  /**
   * The stored characters, for nodes resolved on the server (`resolveOnServer`); absent,
   * those nodes are left to their activities.
   */
  characters?: Pick<Collection<CharacterRecord>, 'get'>;
  /**
   * Whose run it is (`local` when absent): the server reads only what this owner may read, and
   * looks up only this owner's cache.
   */
  ownerId?: string;
}

export interface CachePlan {
  /** The plan to start the workflow with: answered nodes are cached constant steps. */
  plan: ExecutionPlan;
  /** Nodes answered from the cache, in plan order. */
  cached: string[];
  /** Nodes the server answered by reading what they read (`resolveOnServer`), in plan order. */
  resolved: string[];
  /** Every node is known (constant or cached): the run needs no workflow. */
  complete: boolean;
}

/** Resolves the cache hits of `plan` (see the module comment). `plan` itself is not changed. */
export async function resolveCacheHits(
  plan: ExecutionPlan,
  deps: CachePlanDeps,
): Promise<CachePlan> {
  const known = new Map<string, Record<string, unknown>>();
  const nodes: Record<string, PlanNode> = { ...plan.nodes };
  const cached: string[] = [];
  const resolved: string[] = [];
  const reads = deps.characters && serverReads(deps.characters, deps.ownerId ?? 'local');
  for (const id of plan.order) {
    const node = plan.nodes[id];
    if (node.step.kind === 'constant') {
      known.set(id, node.step.outputs);
      continue;
    }
    if (!node.parents.every((parent) => known.has(parent))) continue;
    if (plan.forceRun.includes(id)) continue;
    const inputs = wireInputs(node, known);
    const hit = await lookupCachedNode(node, inputs, plan.rerolls?.[id], deps);
    const step = hit ?? (reads && (await resolveNodeOnServer(node, inputs, reads, deps)));
    if (!step) continue;
    nodes[id] = { ...node, step };
    known.set(id, step.outputs);
    (hit ? cached : resolved).push(id);
  }
  return {
    plan: cached.length + resolved.length > 0 ? { ...plan, nodes } : plan,
    cached,
    resolved,
    complete: known.size === plan.order.length,
  };
}

/**
 * A `resolveOnServer` node as a plain constant step (no `cached` mark: it is reported
 * `succeeded`, as its activity would be), or undefined when it leaves itself to the worker.
 */
async function resolveNodeOnServer(
  node: PlanNode,
  inputs: Record<string, unknown>,
  reads: ServerReads,
  deps: CachePlanDeps,
): Promise<ConstantStep | undefined> {
  if (node.step.kind !== 'activity' || node.step.fanOut) return undefined;
  const definition = deps.graph.definition(node.type);
  if (!definition?.resolveOnServer) return undefined;
  let outputs: Record<string, unknown> | undefined;
  try {
    outputs = await definition.resolveOnServer({ params: node.params, inputs, reads });
  } catch {
    // A record the node cannot read (damaged, say): its activity fails with the node's own
    // error, in the run where the user sees it, instead of the start failing here.
    return undefined;
  }
  return outputs && { kind: 'constant', outputs };
}

/**
 * The reads `resolveOnServer` gets, for `ownerId`. A character counts only when its face
 * identity is current for the model the workers embed with (IdentityService's default): the
 * loader activity would otherwise compute and store it first, which is work, not a read.
 */
export function serverReads(
  characters: Pick<Collection<CharacterRecord>, 'get'>,
  ownerId: string,
): ServerReads {
  return {
    async character(id) {
      const record = await characters.get(id);
      if (!record || (record.ownerId !== ownerId && record.ownerId !== PUBLIC_OWNER)) {
        return undefined;
      }
      if (!identityIsCurrent(record.identity, record.referenceImages, FACE_EMBEDDING_MODEL)) {
        return undefined;
      }
      const faceModel = hasIdentityFace(record.identity) ? record.identity.model : null;
      return { character: record, faceModel };
    },
  };
}

/**
 * One node, its inputs known, as a cached constant step, or undefined when it is not
 * cacheable or any of its items misses. `rerolls` is the plan's for this node (item index →
 * count).
 */
export async function lookupCachedNode(
  node: PlanNode,
  inputs: Record<string, unknown>,
  rerolls: Readonly<Record<string, number>> | undefined,
  deps: CachePlanDeps,
): Promise<ConstantStep | undefined> {
  const step = node.step;
  if (step.kind !== 'activity' || !step.cacheable) return undefined;
  const definition = deps.graph.definition(node.type);
  if (!definition) return undefined;
  const provider = providerForKey(definition, node.params.provider, deps.workerServices);
  if (provider === undefined) return undefined;
  // The run owner's cache (cache-key.ts): the worker keys it by the same owner.
  const owner = deps.ownerId ?? LOCAL_VIEWER.id;
  const keyInput = {
    type: node.type,
    typeVersion: node.typeVersion,
    params: node.params,
    inputs,
  };
  if (!step.fanOut) {
    const outputs = await usableHit(nodeCacheKey(definition, keyInput, provider, owner), deps);
    return outputs && { kind: 'constant', outputs, cached: {} };
  }
  // A fan-out input that is not a list fails the node in the workflow: leave that to it.
  const list = fanOutList(inputs[step.fanOut.input], step.fanOut.path);
  if (!list) return undefined;
  const items: Record<string, unknown>[] = [];
  for (let index = 0; index < list.length; index += 1) {
    const reroll = rerolls?.[String(index)] ?? 0;
    const key = nodeCacheKey(
      definition,
      { ...keyInput, index, ...(reroll > 0 ? { reroll } : {}) },
      provider,
      owner,
    );
    const outputs = await usableHit(key, deps);
    if (!outputs) return undefined;
    items.push(outputs);
  }
  return { kind: 'constant', outputs: collectItems(step, items), cached: { items } };
}

/** A cache entry's outputs, if it exists and every artifact it names is intact. */
async function usableHit(
  key: string,
  deps: CachePlanDeps,
): Promise<Record<string, unknown> | undefined> {
  const hit = await deps.cache.get(key);
  if (!hit) return undefined;
  return (await verifyCachedOutputs(deps.blobs, hit.outputs)) ? hit.outputs : undefined;
}

/**
 * The provider name the worker would put in the node's key, or undefined when only the worker
 * can tell: it resolves `auto` with its own configuration, and refuses a real provider it has
 * not configured before looking at the cache (a stored result is no answer to "use Runway"
 * on a worker without Runway).
 */
function providerForKey(
  definition: Pick<NodeDefinition, 'type' | 'providers' | 'explicitProviders'>,
  requested: unknown,
  services: ProviderServices | undefined,
): string | undefined {
  if (services) {
    try {
      return chooseProvider(definition, requested, services).name;
    } catch {
      return undefined; // the worker fails the node with the same error, and says why
    }
  }
  const wanted = typeof requested === 'string' ? requested : 'auto';
  if (wanted === 'local') return 'local';
  // `auto` among providers it never picks (paid per call) is local wherever it runs.
  const pickable = (definition.providers ?? []).filter(
    (name) => !definition.explicitProviders?.includes(name),
  );
  return wanted === 'auto' && pickable.length === 0 ? 'local' : undefined;
}
