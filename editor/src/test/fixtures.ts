/**
 * Test data from the real node definitions, sent through the same JSON shape the server
 * answers `GET /api/node-types` with, so editor tests exercise what the browser receives.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { graphSchema } from '../../../nodes/definitions';
import type { GraphDocument } from '../../../engine/graph/document';
import { normalizeNodeType } from '../api/client';
import type { NodeTypeInfo } from '../api/types';
import { createCatalog } from '../canvas/catalog';

export function nodeTypes(): NodeTypeInfo[] {
  return (JSON.parse(JSON.stringify(graphSchema.describeNodeTypes())) as unknown[]).map(
    normalizeNodeType,
  );
}

export function catalog() {
  return createCatalog(nodeTypes());
}

export function characterShort(): GraphDocument {
  // A path, not a URL object: under jsdom the global URL is jsdom's, which fs does not accept.
  const path = resolve(
    dirname(fileURLToPath(import.meta.url)),
    '../../../workflows/character-short.json',
  );
  return JSON.parse(readFileSync(path, 'utf8')) as GraphDocument;
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
