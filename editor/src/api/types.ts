/**
 * The shapes the studio reads from the API (DESIGN.md §6). Graph documents, run snapshots and
 * events come from the engine's own browser-safe modules, so both sides share one definition.
 */
import type { ExposedParam, GraphDocument } from '../../../engine/graph/document';
import type { RunSnapshot } from '../../../engine/runs/events';
import type { PortType } from '../../../engine/graph/ports';
import type { ArtifactRef, Character } from '../../../engine/graph/values';

export type { ArtifactRef, Character, GraphDocument, RunSnapshot };

/** How the inspector renders a param (the definition's `paramUi`, sent as `x-ui`). */
export interface ParamUiHint {
  widget?:
    'text' | 'textarea' | 'number' | 'select' | 'toggle' | 'seed' | 'character' | 'image-upload';
  label?: string;
  help?: string;
  advanced?: boolean;
}

/** The subset of JSON Schema the inspector understands (zod's `toJSONSchema` output). */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  description?: string;
  title?: string;
  'x-ui'?: ParamUiHint;
}

export interface PortInfo {
  type: PortType;
  label: string;
  optional?: boolean;
  multiple?: boolean;
  description?: string;
}

/** One entry of `GET /api/node-types`, with ports normalised to ordered arrays. */
export interface NodeTypeInfo {
  type: string;
  typeVersion: number;
  title: string;
  /** The palette group, as the node declares it; groups appear in registry order. */
  category: string;
  /** The node's accent colour (`#rrggbb`) for its header, palette entry and minimap dot. */
  color: string;
  description: string;
  /** Real providers the node can call, in the order `auto` prefers them. */
  providers?: string[];
  inputs: (PortInfo & { id: string })[];
  outputs: (PortInfo & { id: string })[];
  params: JsonSchema;
  /** Per-param UI hints when the server sends them beside the schema instead of as `x-ui`. */
  paramUi?: Record<string, ParamUiHint>;
  fanOut?: { input: string };
}

/** A problem found by loading or validating a graph (engine/graph/validate.ts). */
export interface GraphProblem {
  code: string;
  message: string;
  nodeId?: string;
  edgeId?: string;
  port?: string;
  param?: string;
  /** Where in the file, for import problems (`nodes[3].params.seed`). */
  path?: string;
}

export interface WorkflowRecord {
  id: string;
  name: string;
  graph: GraphDocument;
  createdAt?: string;
  updatedAt?: string;
  /** The saved revision; sent back with the next save so a stale one is refused. */
  revision?: number;
}

/** A workflow in the list: the server may leave the graph out. */
export interface WorkflowSummary {
  id: string;
  name: string;
  description?: string;
  nodeCount?: number;
  updatedAt?: string;
  createdAt?: string;
  graph?: GraphDocument;
}

export interface TemplateInfo {
  id: string;
  name: string;
  description: string;
  graph?: GraphDocument;
  exposed: (ExposedParam & { default?: unknown; schema?: JsonSchema })[];
}

export interface RunSummary {
  id: string;
  workflowId?: string;
  parentRunId?: string;
  createdAt: string;
  status: RunSnapshot['status'];
  startedAt?: string;
  endedAt?: string;
  error?: string;
  /** Final outputs by node, as in the snapshot (lists may leave them out). */
  outputs: RunSnapshot['outputs'];
  /** The run's final video, once known (the history fetches it from the snapshot). */
  video?: ArtifactRef;
  name?: string;
  graph?: GraphDocument;
}

export interface CharacterRecord extends Character {
  createdAt?: string;
  updatedAt?: string;
  revision?: number;
}

export interface SimilarCharacter {
  character: CharacterRecord;
  score: number;
}

export interface HealthInfo {
  ok: boolean;
  temporal?: { ok: boolean };
  providers?: Record<string, string>;
}
