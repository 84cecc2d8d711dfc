/**
 * References a graph holds to stored things (a character by id, an uploaded image by artifact
 * ref), found through the node definitions, and the placeholders left where a copied graph
 * (an imported share link) lost one its new owner may not read.
 *
 * A placeholder is a param set back to its empty default plus an entry in
 * `meta.placeholders` naming what was there ("Mira"), so the validator reports the empty param
 * as `character_missing` / `artifact_missing` with that name instead of a bare "no character
 * chosen". The entry only speaks while the param is still empty: picking a character of one's
 * own silences it. Pure and browser-safe.
 */
import { z } from 'zod';
import type { NodeDefinition } from './define-node';
import type { GraphDocument } from './document';
import type { NodeRegistry } from './problems';

/** Where in `meta` the placeholders of a document live. */
export const PLACEHOLDERS_META_KEY = 'placeholders';

export type ReferenceKind = 'character' | 'artifact';

export const placeholderSchema = z.strictObject({
  nodeId: z.string().min(1).max(100),
  param: z.string().min(1).max(100),
  kind: z.enum(['character', 'artifact']),
  /** What the original pointed at, as its sharer knew it ("Mira", "plate.png"); may be absent. */
  name: z.string().max(200).optional(),
});
export type Placeholder = z.infer<typeof placeholderSchema>;

/** One param of one node that names a stored thing. */
export interface ParamReference {
  nodeId: string;
  param: string;
  kind: ReferenceKind;
  /** The character id or artifact id it names. */
  id: string;
}

/**
 * The params of a node type that name stored things. The definition says so through its
 * widgets (Rivet's "the node says how it looks"): a `character` widget edits a character id,
 * an `image-upload` widget holds an uploaded artifact's ref.
 */
export function referenceParams(
  definition: Pick<NodeDefinition, 'paramUi'>,
): { param: string; kind: ReferenceKind }[] {
  const found: { param: string; kind: ReferenceKind }[] = [];
  for (const [param, ui] of Object.entries(definition.paramUi)) {
    if (ui?.widget === 'character') found.push({ param, kind: 'character' });
    if (ui?.widget === 'image-upload') found.push({ param, kind: 'artifact' });
  }
  return found;
}

/** The id a reference param's value names, or undefined when it names nothing (empty). */
export function referencedId(kind: ReferenceKind, value: unknown): string | undefined {
  if (kind === 'character') {
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  }
  const id = (value as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Every reference to a stored thing in a document's node params, in document order. */
export function referencesOf(doc: GraphDocument, registry: NodeRegistry): ParamReference[] {
  const references: ParamReference[] = [];
  for (const node of doc.nodes) {
    const definition = registry.get(node.type);
    if (!definition) continue;
    for (const { param, kind } of referenceParams(definition)) {
      const id = referencedId(kind, node.params[param]);
      if (id !== undefined) references.push({ nodeId: node.id, param, kind, id });
    }
  }
  return references;
}

/** The document's placeholders; malformed entries (a hand-edited file) are ignored. */
export function placeholdersOf(doc: Pick<GraphDocument, 'meta'>): Placeholder[] {
  const raw = doc.meta?.[PLACEHOLDERS_META_KEY];
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((entry) => {
    const parsed = placeholderSchema.safeParse(entry);
    return parsed.success ? [parsed.data] : [];
  });
}

/**
 * A copy of `doc` with each of `lost` set back to its param's empty default and recorded as a
 * placeholder (replacing an older entry for the same node and param).
 */
export function withPlaceholders(
  doc: GraphDocument,
  registry: NodeRegistry,
  lost: readonly (ParamReference & { name?: string })[],
): GraphDocument {
  if (lost.length === 0) return doc;
  const byNode = new Map<string, (ParamReference & { name?: string })[]>();
  for (const reference of lost) {
    byNode.set(reference.nodeId, [...(byNode.get(reference.nodeId) ?? []), reference]);
  }
  const nodes = doc.nodes.map((node) => {
    const cleared = byNode.get(node.id);
    const definition = registry.get(node.type);
    if (!cleared || !definition) return node;
    const defaults = definition.params.parse({}) as Record<string, unknown>;
    const params = { ...node.params };
    for (const { param } of cleared) params[param] = defaults[param];
    return { ...node, params };
  });
  const key = (entry: { nodeId: string; param: string }) => `${entry.nodeId}\u0000${entry.param}`;
  const replaced = new Set(lost.map(key));
  const placeholders: Placeholder[] = [
    ...placeholdersOf(doc).filter((entry) => !replaced.has(key(entry))),
    ...lost.map(({ nodeId, param, kind, name }) => ({
      nodeId,
      param,
      kind,
      ...(name ? { name: name.slice(0, 200) } : {}),
    })),
  ];
  return { ...doc, nodes, meta: { ...doc.meta, [PLACEHOLDERS_META_KEY]: placeholders } };
}

/** True for a param value that names nothing: what a placeholder left behind. */
export function isEmptyReference(value: unknown): boolean {
  return (
    value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
  );
}
