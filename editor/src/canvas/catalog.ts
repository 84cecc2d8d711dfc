/**
 * The node catalog: `GET /api/node-types` indexed by type, with the lookups the canvas needs
 * (ports, accent colours, default params, a readable id base). Pure.
 */
import type { PortKind, PortType } from '../../../engine/graph/ports';
import { parsePortType } from '../../../engine/graph/ports';
import { NEUTRAL_NODE_COLOR } from '../api/client';
import type { NodeTypeInfo, PortInfo } from '../api/types';

export type Catalog = ReadonlyMap<string, NodeTypeInfo>;

export function createCatalog(types: readonly NodeTypeInfo[]): Catalog {
  return new Map(types.map((info) => [info.type, info]));
}

/** A node's accent colour from its definition; neutral for a type this server does not know. */
export function nodeColor(catalog: Catalog, nodeType: string): string {
  return catalog.get(nodeType)?.color ?? NEUTRAL_NODE_COLOR;
}

export type PortDirection = 'input' | 'output';

export function findPort(
  catalog: Catalog,
  nodeType: string,
  direction: PortDirection,
  portId: string | null | undefined,
): (PortInfo & { id: string }) | undefined {
  const info = catalog.get(nodeType);
  if (!info || !portId) return undefined;
  return (direction === 'input' ? info.inputs : info.outputs).find((port) => port.id === portId);
}

export function portKind(type: PortType): PortKind {
  return parsePortType(type).kind;
}

/** Every param at its schema default: what a freshly added node starts with. */
export function defaultParams(info: NodeTypeInfo): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(info.params.properties ?? {})) {
    if (schema.default !== undefined) params[key] = structuredClone(schema.default);
  }
  return params;
}

/** Categories in the order their first node type appears (the registry's palette order). */
export function groupByCategory(
  types: readonly NodeTypeInfo[],
): { category: string; types: NodeTypeInfo[] }[] {
  const groups = new Map<string, NodeTypeInfo[]>();
  for (const info of types) {
    const list = groups.get(info.category) ?? [];
    list.push(info);
    groups.set(info.category, list);
  }
  return [...groups].map(([category, list]) => ({ category, types: list }));
}

/**
 * Palette search: every word of the query must match the title, type id, category,
 * description or a port kind, so "image" finds both frame makers and image consumers.
 */
export function searchNodeTypes(types: readonly NodeTypeInfo[], query: string): NodeTypeInfo[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...types];
  return types
    .map((info) => {
      const title = info.title.toLowerCase();
      const haystack = [
        title,
        info.type,
        info.category.toLowerCase(),
        info.description.toLowerCase(),
        ...info.inputs.map((p) => `${p.label} ${p.type}`.toLowerCase()),
        ...info.outputs.map((p) => `${p.label} ${p.type}`.toLowerCase()),
      ].join(' ');
      if (!words.every((word) => haystack.includes(word))) return null;
      // Title matches first, then title prefixes, then the rest in palette order.
      const score = words.every((w) => title.includes(w))
        ? title.startsWith(words[0])
          ? 0
          : 1
        : 2;
      return { info, score };
    })
    .filter((hit): hit is { info: NodeTypeInfo; score: number } => hit !== null)
    .sort((a, b) => a.score - b.score)
    .map((hit) => hit.info);
}

/** Node types with a port that can take (or feed) a port of `type`, for drop-to-add. */
export function typesAccepting(
  types: readonly NodeTypeInfo[],
  direction: PortDirection,
  accepts: (port: PortInfo) => boolean,
): NodeTypeInfo[] {
  return types.filter((info) =>
    (direction === 'input' ? info.inputs : info.outputs).some((port) => accepts(port)),
  );
}

const GENERIC_SUFFIXES = new Set(['input', 'loader', 'check']);

/** A short, readable id base for new nodes: `sd-lora-frame` → `frame`, `script-input` → `script`. */
export function nodeIdBase(type: string): string {
  const parts = type.split('-').filter(Boolean);
  if (parts.length === 0) return 'node';
  const last = parts[parts.length - 1];
  return GENERIC_SUFFIXES.has(last) && parts.length > 1 ? parts[0] : last;
}

/** `base`, else `base-2`, `base-3`… whichever is free. */
export function uniqueId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}
