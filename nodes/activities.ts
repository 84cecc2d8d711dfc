/**
 * The worker's registry: node type → its activity. Worker-only (activities import providers,
 * ffmpeg and SDKs); the editor and the interpreter never import it. Found by convention, so
 * adding a node type touches no list here: every node type that runs as an activity has
 * `nodes/<type>/activity.ts` exporting `activity`. Inline node types have none.
 */
import type { NodeDefinition } from '../engine/graph/define-node';
import type { NodeActivity } from '../engine/worker/node-api';
import { NODE_DEFINITIONS } from './definitions';

/** Loads each activity node type's `activity`; a missing one is a clear start-up error. */
export async function loadNodeActivities(
  definitions: readonly NodeDefinition[] = NODE_DEFINITIONS,
): Promise<Record<string, NodeActivity>> {
  const activities: Record<string, NodeActivity> = {};
  for (const definition of definitions) {
    if (definition.runsOn === 'inline') continue;
    const module = (await import(`./${definition.type}/activity.ts`).catch((error: unknown) => {
      throw new Error(
        `node type "${definition.type}" runs as an activity but nodes/${definition.type}/activity.ts ` +
          `cannot be loaded (${String(error)}): add the file, exporting \`activity\``,
      );
    })) as { activity?: unknown };
    if (typeof module.activity !== 'function') {
      throw new Error(
        `nodes/${definition.type}/activity.ts must export \`activity\`, the node's activity function`,
      );
    }
    // Each activity is typed with its own node's params; the compiler has already parsed
    // params against that node's schema, so widening them to the common type here is sound.
    activities[definition.type] = module.activity as NodeActivity;
  }
  return activities;
}
