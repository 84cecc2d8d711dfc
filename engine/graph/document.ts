/**
 * The graph document (version 1): what is saved, exported, shared and turned into templates.
 * Browser-safe. Loading older versions goes through ./load.ts; this is the strict current shape.
 */
import { z } from 'zod';

export const GRAPH_SCHEMA_ID = 'character-lab/graph';
export const GRAPH_VERSION = 1;

/**
 * DESIGN's 500 nodes was a floor: 1,000 nodes validate and compile in tens of milliseconds, the
 * compiled plan stays far below Temporal's payload limits and the studio draws them (see
 * bench/RESULTS.md). Edges keep DESIGN's ratio of four per node.
 */
export const LIMITS = {
  maxNodes: 1_000,
  maxEdges: 4_000,
  maxDocumentBytes: 1_000_000,
} as const;

const idSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'ids use letters, digits and _ . : - only');

export const graphNodeSchema = z.strictObject({
  id: idSchema,
  type: z.string().min(1).max(100),
  typeVersion: z.number().int().min(1),
  position: z.strictObject({ x: z.number().finite(), y: z.number().finite() }),
  params: z.record(z.string(), z.unknown()),
  label: z.string().max(200).optional(),
});
export type GraphNode = z.infer<typeof graphNodeSchema>;

export const graphEdgeSchema = z.strictObject({
  id: idSchema,
  source: idSchema,
  sourcePort: z.string().min(1).max(100),
  target: idSchema,
  targetPort: z.string().min(1).max(100),
});
export type GraphEdge = z.infer<typeof graphEdgeSchema>;

/**
 * A param a template asks for. Its constraints are the node's param schema (never copied here);
 * `default` is what the values form starts from instead of the node's current value, and is
 * checked against that schema by validateGraph.
 */
export const exposedParamSchema = z.strictObject({
  nodeId: idSchema,
  param: z.string().min(1).max(100),
  label: z.string().min(1).max(200),
  help: z.string().max(1_000).optional(),
  default: z.unknown().optional(),
});
export type ExposedParam = z.infer<typeof exposedParamSchema>;

export const graphDocumentSchema = z.strictObject({
  schema: z.literal(GRAPH_SCHEMA_ID),
  version: z.literal(GRAPH_VERSION),
  id: idSchema,
  name: z.string().min(1).max(200),
  description: z.string().max(5_000).default(''),
  nodes: z.array(graphNodeSchema).max(LIMITS.maxNodes),
  edges: z.array(graphEdgeSchema).max(LIMITS.maxEdges),
  exposed: z.array(exposedParamSchema).default([]),
  meta: z.record(z.string(), z.unknown()).default({}),
});
export type GraphDocument = z.infer<typeof graphDocumentSchema>;
