/**
 * The shapes the studio reads from the API (DESIGN.md §6). Graph documents, run snapshots and
 * events come from the engine's own browser-safe modules, so both sides share one definition.
 */
import type { ExposedParam, GraphDocument } from '../../../engine/graph/document';
import type { RunSnapshot } from '../../../engine/runs/events';
import type { PortType } from '../../../engine/graph/ports';
import type { ArtifactRef, Character } from '../../../engine/graph/values';
import type { CharacterIdentity, ReferenceFace } from '../../../engine/faces/identity';

export type {
  ArtifactRef,
  Character,
  CharacterIdentity,
  GraphDocument,
  ReferenceFace,
  RunSnapshot,
};

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

/**
 * One `exposed` entry of a graph document. `help` and `default` are optional (issue 13); the
 * intersection keeps this right whether or not the engine's schema names them yet.
 */
export type ExposedEntry = ExposedParam & { help?: string; default?: unknown };

/** Where a template comes from: shipped with the server, saved by me, or shared with me. */
export type TemplateSource = 'shipped' | 'mine' | 'shared';

/** An exposed param as a template lists it: its key, the param's schema and shipped value. */
export type TemplateExposed = ExposedEntry & {
  /** `nodeId.param`, the key of `values` when instantiating or running. */
  key: string;
  /** The value the template ships with. */
  value?: unknown;
  /** The param's JSON Schema, from the node type. */
  schema?: JsonSchema;
};

export interface TemplateInfo {
  id: string;
  name: string;
  description: string;
  category: string;
  version: number;
  source: TemplateSource;
  owner?: string;
  nodeCount?: number;
  updatedAt?: string;
  preview: { artifactId: string; mime: string } | null;
  graph?: GraphDocument;
  exposed: TemplateExposed[];
}

export interface TemplateVersion {
  version: number;
  name: string;
  createdAt: string;
}

/** What a template is saved with besides its graph (POST and PUT /api/templates). */
export interface TemplateSaveInput {
  name: string;
  description?: string;
  category?: string;
  /** An artifact, a run (its final video, else its first key frame), or none (the graph). */
  preview: { artifactId: string } | { runId: string } | null;
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
  /** Per-image face answers and the calibrated threshold; absent until first computed. */
  identity?: CharacterIdentity;
}

/** One nearest character (POST /api/characters/:id/similar, POST /api/characters/similar). */
export interface SimilarCharacter {
  id: string;
  name: string;
  /** Face distance to the query (0 = identical). */
  distance: number;
  /** The candidate's own pass threshold. */
  threshold: number;
  /** `distance <= threshold`: the candidate's consistency check would accept this face. */
  looksAlike: boolean;
  /** The candidate's first face reference, for a thumbnail. */
  imageId?: string;
}

export interface HealthInfo {
  ok: boolean;
  temporal?: { ok: boolean };
  providers?: Record<string, string>;
}
