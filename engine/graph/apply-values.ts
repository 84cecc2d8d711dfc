/**
 * Setting params from outside the editor: `charlab run --set node.param=value`, a template's
 * exposed values on instantiation, a run request's `values`. Pure and browser-safe.
 */
import type { z } from 'zod';
import type { GraphDocument } from './document';
import { closestName, describeNode } from './problems';
import type { NodeRegistry, ValidationProblem } from './problems';

/** The document with the values set, or every value that could not be set. */
export type ApplyValuesResult =
  { ok: true; graph: GraphDocument } | { ok: false; errors: ValidationProblem[] };

/**
 * Returns a copy of `doc` with each `values` entry (`"nodeId.param": value`) set. Strings are
 * coerced to the param's type (a CLI cannot say `4` without quotes): numbers, booleans, and
 * JSON for objects and lists; then the value is checked against the param's schema. Every
 * problem is reported at once; on any problem nothing is applied.
 */
export function applyValues(
  doc: GraphDocument,
  values: Record<string, unknown>,
  registry: NodeRegistry,
): ApplyValuesResult {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    return {
      ok: false,
      errors: [
        {
          code: 'unknown_value_target',
          message: 'values must be an object of "nodeId.param": value entries',
        },
      ],
    };
  }
  const errors: ValidationProblem[] = [];
  const changes = new Map<string, Record<string, unknown>>();
  const nodeIds = doc.nodes.map((node) => node.id);
  for (const [key, raw] of Object.entries(values)) {
    // Node ids may contain dots, param names never do: split at the last one.
    const dot = key.lastIndexOf('.');
    const nodeId = dot > 0 ? key.slice(0, dot) : '';
    const param = dot > 0 ? key.slice(dot + 1) : '';
    if (!nodeId || !param) {
      errors.push({
        code: 'unknown_value_target',
        message: `"${key}" does not name a param: write it as nodeId.param (e.g. script.text)`,
      });
      continue;
    }
    const node = doc.nodes.find((candidate) => candidate.id === nodeId);
    if (!node) {
      const hint = closestName(nodeId, nodeIds);
      errors.push({
        code: 'unknown_value_target',
        nodeId,
        param,
        message: `"${key}": the graph has no node "${nodeId}"${hint ? ` (did you mean "${hint}"?)` : ''}: its nodes are ${nodeIds.map((id) => `"${id}"`).join(', ')}`,
      });
      continue;
    }
    const definition = registry.get(node.type);
    if (!definition) {
      errors.push({
        code: 'unknown_node_type',
        nodeId,
        param,
        message: `"${key}": node "${nodeId}" has the unknown type "${node.type}", so its params cannot be set: replace the node with a known type`,
      });
      continue;
    }
    const shape = definition.params.shape as Record<string, z.ZodType>;
    if (!Object.hasOwn(shape, param)) {
      const known = Object.keys(shape);
      const hint = closestName(param, known);
      errors.push({
        code: 'unknown_value_target',
        nodeId,
        param,
        message: `"${key}": ${describeNode(node, registry)} has no param "${param}"${hint ? ` (did you mean "${hint}"?)` : ''}: its params are ${known.map((p) => `"${p}"`).join(', ')}`,
      });
      continue;
    }
    const coerced =
      typeof raw === 'string' ? coerceString(raw, shape[param]) : { ok: true as const, value: raw };
    const checked = coerced.ok ? shape[param].safeParse(coerced.value) : undefined;
    if (!coerced.ok || !checked?.success) {
      const reason = coerced.ok
        ? checked!.error!.issues.map((i) => i.message).join('; ')
        : coerced.message;
      errors.push({
        code: 'invalid_param',
        nodeId,
        param,
        message: `"${key}": ${reason}: give ${describeNode(node, registry)} a valid "${param}"`,
      });
      continue;
    }
    changes.set(nodeId, { ...(changes.get(nodeId) ?? {}), [param]: checked.data });
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    graph: {
      ...doc,
      nodes: doc.nodes.map((node) => {
        const change = changes.get(node.id);
        return change ? { ...node, params: { ...node.params, ...change } } : node;
      }),
    },
  };
}

/** The zod type under defaults, optionals and nullables, and whether null is allowed. */
function baseType(schema: z.ZodType): { type: string; nullable: boolean } {
  let current = schema;
  let nullable = false;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (def.type === 'nullable') nullable = true;
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return { type: def.type, nullable };
  }
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** Turns CLI text into the param's type; the schema check afterwards has the last word. */
function coerceString(
  text: string,
  schema: z.ZodType,
): { ok: true; value: unknown } | { ok: false; message: string } {
  const { type, nullable } = baseType(schema);
  if (type === 'string' || type === 'enum' || type === 'literal' || type === 'template_literal') {
    return { ok: true, value: text };
  }
  if (nullable && text.trim() === 'null') return { ok: true, value: null };
  if (type === 'number' || type === 'int') {
    const value = text.trim() === '' ? Number.NaN : Number(text);
    return Number.isFinite(value)
      ? { ok: true, value }
      : { ok: false, message: `${JSON.stringify(text)} is not a number` };
  }
  if (type === 'boolean') {
    const word = text.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return { ok: true, value: true };
    if (FALSE_WORDS.has(word)) return { ok: true, value: false };
    return { ok: false, message: `${JSON.stringify(text)} is not true or false` };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return {
      ok: false,
      message: `${JSON.stringify(text)} is not valid JSON (objects and lists are given as JSON)`,
    };
  }
}
