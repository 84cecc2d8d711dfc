/**
 * Whether a cache entry's outputs can still be reused: every artifact they name must be stored
 * and intact (size and sha256 as recorded). Used by the worker before it answers from the
 * cache, and by the server when it resolves cache hits ahead of a run.
 */
import { artifactRefSchema, type ArtifactRef } from '../graph/values';
import type { BlobStore } from '../stores/ports';
import { checkBlob } from './integrity';

/** Every ArtifactRef in a node's outputs, however deeply nested (lists, characters). */
export function artifactRefsIn(outputs: unknown): ArtifactRef[] {
  const refs: ArtifactRef[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value && typeof value === 'object') {
      const parsed = artifactRefSchema.safeParse(value);
      if (parsed.success) {
        refs.push(parsed.data);
        return;
      }
      Object.values(value).forEach(visit);
    }
  };
  visit(outputs);
  return refs;
}

/**
 * True only when every artifact ref in `outputs` is stored with its recorded size and sha256.
 * A damaged one is reported through `onCorrupt` (a log line naming it), so the operator learns
 * why a node that should have been cached ran again.
 */
export async function verifyCachedOutputs(
  blobs: BlobStore,
  outputs: unknown,
  onCorrupt?: (ref: ArtifactRef) => void,
): Promise<boolean> {
  const seen = new Set<string>();
  for (const ref of artifactRefsIn(outputs)) {
    if (seen.has(ref.id)) continue;
    seen.add(ref.id);
    const state = await checkBlob(blobs, ref);
    if (state === 'corrupt') onCorrupt?.(ref);
    if (state !== 'intact') return false;
  }
  return true;
}
