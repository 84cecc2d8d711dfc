/**
 * Test-only node types and the registry that adds them to the real ones. Every real node type
 * is still at version 1, so `test-greeter` (version 3, two named migrations) is what proves the
 * node-migration pipeline. Never import this outside tests.
 */
import { z } from 'zod';
import { NODE_DEFINITIONS } from '../../nodes/definitions';
import { defineNode } from '../graph/define-node';
import { createGraphSchema } from '../graph/schema';
import type { NodeDefinition } from '../graph/define-node';
import { GRAPH_SCHEMA_ID, GRAPH_VERSION } from '../graph/document';
import type { GraphDocument, GraphEdge, GraphNode } from '../graph/document';

/**
 * Version history, as if shipped:
 * 1. `{ greeting: "Hello, World" }`
 * 2. `0002-split-greeting`: `{ salutation: "Hello", name: "World" }`
 * 3. `0003-name-to-subject`: `{ salutation: "Hello", subject: "World" }`
 */
export const testGreeter = defineNode({
  type: 'test-greeter',
  version: 3,
  title: 'Greeter (test)',
  category: 'Inputs',
  color: '#9aa5b1',
  description: 'Test-only: a pure text source whose params changed shape twice.',
  inputs: {},
  outputs: { text: { type: 'text', label: 'Text' } },
  params: z.object({
    salutation: z.string().max(100).default('Hello'),
    subject: z.string().max(100).default('World'),
  }),
  runsOn: 'inline',
  evaluate: (params) => ({ text: [params.salutation, params.subject].filter(Boolean).join(', ') }),
  migrations: [
    {
      name: '0002-split-greeting',
      to: 2,
      up: ({ greeting, ...rest }) => {
        const text = typeof greeting === 'string' ? greeting : '';
        const comma = text.indexOf(',');
        return comma < 0
          ? { ...rest, salutation: text, name: '' }
          : {
              ...rest,
              salutation: text.slice(0, comma).trim(),
              name: text.slice(comma + 1).trim(),
            };
      },
    },
    {
      name: '0003-name-to-subject',
      to: 3,
      up: ({ name, ...rest }) => (name === undefined ? rest : { ...rest, subject: name }),
    },
  ],
});

/** The real node types plus the test-only ones. */
export const testSchema = createGraphSchema({
  nodes: [...NODE_DEFINITIONS, testGreeter as unknown as NodeDefinition],
});
export const TEST_REGISTRY = testSchema.registry;

/** A node for tests: current typeVersion of the real registry, position by index. */
export function testNode(
  id: string,
  type: string,
  params: Record<string, unknown> = {},
  typeVersion = TEST_REGISTRY.get(type)?.version ?? 1,
): GraphNode {
  return { id, type, typeVersion, position: { x: 0, y: 0 }, params };
}

/** An edge for tests, written `edge('e1', 'script.text', 'story.script')`. */
export function testEdge(id: string, from: string, to: string): GraphEdge {
  const [source, sourcePort] = from.split('.');
  const [target, targetPort] = to.split('.');
  return { id, source, sourcePort, target, targetPort };
}

/** A current-version document for tests. */
export function testGraph(
  nodes: GraphNode[],
  edges: GraphEdge[] = [],
  extra: Partial<GraphDocument> = {},
): GraphDocument {
  return {
    schema: GRAPH_SCHEMA_ID,
    version: GRAPH_VERSION,
    id: 'wf_test',
    name: 'Test graph',
    description: '',
    nodes,
    edges,
    exposed: [],
    meta: {},
    ...extra,
  };
}
