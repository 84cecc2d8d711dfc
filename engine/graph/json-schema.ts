/**
 * JSON Schema views of the zod schemas, for clients that do not run our TypeScript: the
 * editor's forms (GET /api/node-types), users' editors validating graph files, and docs.
 * Pure and browser-safe.
 */
import { z } from 'zod';
import type {
  ExecutionDefaults,
  FanOutSpec,
  NodeDefinition,
  RunsOn,
  PortSpec,
} from './define-node';
import { graphDocumentSchema } from './document';
import type { NodeRegistry } from './problems';

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
  category: string;
  /** The node's accent colour (#rrggbb), for its header and the minimap. */
  color: string;
  /** Real providers, in `auto` order (the `provider` param also offers auto and local). */
  providers?: string[];
  description: string;
  inputs: Record<string, PortSpec>;
  outputs: Record<string, PortSpec>;
  params: JsonSchema;
  runsOn: RunsOn;
  fanOut?: FanOutSpec;
  cacheable: boolean;
  execution: ExecutionDefaults;
}

/** Every node type in registry (palette) order, as plain JSON. */
export function describeNodeTypes(registry: NodeRegistry): NodeTypeDescription[] {
  return [...registry.values()].map((definition) => ({
    type: definition.type,
    typeVersion: definition.version,
    title: definition.title,
    category: definition.category,
    color: definition.color,
    ...(definition.providers ? { providers: [...definition.providers] } : {}),
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
