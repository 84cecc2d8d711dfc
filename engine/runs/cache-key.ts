/**
 * A node's cache key, in one place because two processes must agree on it: the activity shell
 * (engine/worker/node-activities.ts) looks results up and stores them under it, and the server
 * (engine/runs/cache-plan.ts) looks the same keys up before a run starts, so an unchanged node
 * is answered without a Temporal round trip.
 */
import { createHash } from 'node:crypto';
import { LOCAL_VIEWER } from '../auth/viewer';
import { canonicalJson } from '../graph/canonical';
import type { NodeDefinition } from '../graph/define-node';
import { itemInputs } from '../graph/fan-out';
import type { NodeActivityInput } from '../graph/plan';

/**
 * What a key is made of: never the run or node id, so any run of the same work hits (within
 * one owner's cache, see `nodeCacheKey`).
 */
export type CacheKeyInput = Pick<
  NodeActivityInput,
  'type' | 'typeVersion' | 'params' | 'inputs' | 'index' | 'reroll'
>;

/**
 * The cache key: type, typeVersion, canonical params, and the inputs' content (artifact refs
 * are content hashes). A fan-out item's key holds only its own item of the fan-out input (and
 * of zipped inputs), so editing one shot re-renders only that shot. `auto` providers add the
 * provider they resolve to, so configuring a real provider does not reuse local results.
 *
 * The cache is per owner (the run's): with accounts on, one user's results never answer
 * another's run, so no one learns what someone else has made (a hit would tell them) and every
 * output a run gets is one its owner made. The local user's keys carry no scope, so they are
 * the keys of every build before accounts and existing caches keep hitting.
 */
export function nodeCacheKey(
  definition: Pick<NodeDefinition, 'fanOut'>,
  // An activity's whole input may be passed: its run and node ids never enter the key.
  input: CacheKeyInput & Partial<NodeActivityInput>,
  resolvedProvider: string,
  ownerId: string,
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
    ...(ownerId !== LOCAL_VIEWER.id ? { scope: ownerId } : {}),
  });
  return createHash('sha256').update(material).digest('hex');
}
