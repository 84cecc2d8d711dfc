/**
 * Test data from the real node definitions, sent through the same JSON shape the server
 * answers `GET /api/node-types` with, so editor tests exercise what the browser receives.
 */
import { readFileSync } from 'node:fs';
import { describeNodeTypes } from '../../../engine/graph/json-schema';
import type { GraphDocument } from '../../../engine/graph/document';
import { normalizeNodeType } from '../api/client';
import type { NodeTypeInfo } from '../api/types';
import { createCatalog } from '../canvas/catalog';

export function nodeTypes(): NodeTypeInfo[] {
  return (JSON.parse(JSON.stringify(describeNodeTypes())) as unknown[]).map(normalizeNodeType);
}

export function catalog() {
  return createCatalog(nodeTypes());
}

export function characterShort(): GraphDocument {
  return JSON.parse(
    readFileSync(new URL('../../../workflows/character-short.json', import.meta.url), 'utf8'),
  ) as GraphDocument;
}

export function emptyDocument(): GraphDocument {
  return {
    schema: 'character-lab/graph',
    version: 1,
    id: 'wf_test',
    name: 'Test',
    description: '',
    nodes: [],
    edges: [],
    exposed: [],
    meta: {},
  };
}
