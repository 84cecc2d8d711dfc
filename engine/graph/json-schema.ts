/**
 * JSON Schema views of the zod schemas, for clients that do not run our TypeScript: the
 * editor's forms (GET /api/node-types), users' editors validating graph files, and docs.
 * Pure and browser-safe.
 */
import { z } from 'zod';
import { NODE_REGISTRY } from '../../nodes/definitions';
import type {
  ExecutionDefaults,
  FanOutSpec,
  NodeDefinition,
  NodeRuntime,
  PortSpec,
} from './define-node';
import { graphDocumentSchema } from './document';
import type { NodeRegistry } from './validate';

type JsonSchema = Record<string, unknown>;

/**
 * The graph document as JSON Schema (draft 2020-12), as it may be written: fields with
 * defaults (`description`, `exposed`, `meta`) are optional.
 */
export function graphDocumentJsonSchema(): JsonSchema {
  return {
    ...z.toJSONSchema(graphDocumentSchema, { io: 'input' }),
    title: 'Character Lab graph document',
  };
}

/**
 * A node type's params as JSON Schema with their defaults; each property also carries the
 * definition's UI hints (widget, label, help, advanced) as `x-ui`, so a generic form renders
 * it the way the inspector does.
 */
export function nodeParamsJsonSchema(definition: NodeDefinition): JsonSchema {
  const schema = z.toJSONSchema(definition.params, { io: 'input' }) as JsonSchema & {
    properties?: Record<string, JsonSchema>;
  };
  const ui = definition.paramUi as Record<string, object | undefined>;
  const properties = Object.fromEntries(
    Object.entries(schema.properties ?? {}).map(([key, property]) => [
      key,
      ui[key] ? { ...property, 'x-ui': { ...ui[key] } } : property,
    ]),
  );
  return { ...schema, properties };
}

/** What GET /api/node-types serves for one node type. */
export interface NodeTypeDescription {
  type: string;
  typeVersion: number;
  title: string;
  category: NodeDefinition['category'];
  description: string;
  inputs: Record<string, PortSpec>;
  outputs: Record<string, PortSpec>;
  params: JsonSchema;
  runsOn: NodeRuntime;
  fanOut?: FanOutSpec;
  cacheable: boolean;
  execution: ExecutionDefaults;
}

/** Every node type in registry (palette) order, as plain JSON. */
export function describeNodeTypes(registry: NodeRegistry = NODE_REGISTRY): NodeTypeDescription[] {
  return [...registry.values()].map((definition) => ({
    type: definition.type,
    typeVersion: definition.version,
    title: definition.title,
    category: definition.category,
    description: definition.description,
    inputs: structuredClone(definition.inputs),
    outputs: structuredClone(definition.outputs),
    params: nodeParamsJsonSchema(definition),
    runsOn: definition.runsOn,
    ...(definition.fanOut ? { fanOut: structuredClone(definition.fanOut) } : {}),
    cacheable: definition.cacheable,
    execution: { ...definition.execution },
  }));
}
