/**
 * Bench-only node types, added to the real ones the way engine/testing/test-registry.ts adds
 * its own: `bench-relay` is the cheapest node that still costs an activity (text in, text out,
 * cached like any node), so a chain of them measures what the engine adds per node;
 * `bench-ticker` reports progress at a fixed rate, each report stamped at the worker with the
 * time it was sent, so a watcher can measure worker→browser latency.
 */
import { z } from 'zod';
import { NODE_DEFINITIONS } from '../nodes/definitions';
import { loadNodeActivities } from '../nodes/activities';
import { defineNode, type NodeDefinition } from '../engine/graph/define-node';
import { createGraphSchema, type GraphSchema } from '../engine/graph/schema';
import { GRAPH_SCHEMA_ID, GRAPH_VERSION, type GraphDocument } from '../engine/graph/document';
import type { NodeActivity } from '../engine/worker/node-api';

export const benchRelay = defineNode({
  type: 'bench-relay',
  version: 1,
  title: 'Relay (bench)',
  category: 'Inputs',
  color: '#9aa5b1',
  description: 'Bench-only: appends its tag to the text it gets; an activity doing nothing else.',
  inputs: { text: { type: 'text', label: 'Text', optional: true } },
  outputs: { text: { type: 'text', label: 'Text' } },
  params: z.object({ tag: z.string().max(200).default('') }),
  runsOn: 'lab-cpu',
  // One attempt: a bench run that needs a retry is a failed measurement, not a slow one.
  execution: { maxAttempts: 1, startToCloseSec: 60 },
});

export const benchTicker = defineNode({
  type: 'bench-ticker',
  version: 1,
  title: 'Ticker (bench)',
  category: 'Inputs',
  color: '#9aa5b1',
  description: 'Bench-only: reports `count` progress events, `perSecond` of them a second.',
  inputs: {},
  outputs: { text: { type: 'text', label: 'Text' } },
  params: z.object({
    count: z.number().int().min(1).max(100_000).default(100),
    perSecond: z.number().min(1).max(10_000).default(100),
    /** A pause before the first report, so a watcher that joins after the start sees it live. */
    delayMs: z.number().int().min(0).max(60_000).default(0),
    tag: z.string().max(200).default(''),
  }),
  runsOn: 'lab-cpu',
  execution: { maxAttempts: 1, startToCloseSec: 600 },
  cacheable: false,
});

/** The stage text of a ticker's i-th report: the index and the worker's clock in ms. */
export function tickStage(index: number, sentAtMs: number): string {
  return `tick ${index} ${sentAtMs.toFixed(3)}`;
}

/** Reads a ticker stage back; undefined for any other stage. */
export function parseTickStage(
  stage: string | undefined,
): { index: number; sentAtMs: number } | undefined {
  const match = /^tick (\d+) (\d+(?:\.\d+)?)$/.exec(stage ?? '');
  return match ? { index: Number(match[1]), sentAtMs: Number(match[2]) } : undefined;
}

/** Wall clock with sub-millisecond resolution, the same in every thread of this process. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

const relay: NodeActivity = async ({ params, inputs }) => ({
  text: `${typeof inputs.text === 'string' ? inputs.text : ''}|${String(params.tag)}`,
});

/**
 * Reports on a fixed schedule (not "sleep after each send"), so the rate holds even when a
 * report is slow; `record: true` takes every report past the wrapper's progress throttle.
 */
const ticker: NodeActivity = async ({ params, ctx }) => {
  const count = Number(params.count);
  const intervalMs = 1000 / Number(params.perSecond);
  const began = performance.now() + Number(params.delayMs);
  for (let i = 0; i < count; i++) {
    const due = began + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    ctx.signal.throwIfAborted();
    ctx.progress((i + 1) / count, tickStage(i, preciseNow()), { record: true });
  }
  return { text: `${count} ticks` };
};

/** The real node types plus the bench ones. */
export const benchSchema: GraphSchema = createGraphSchema({
  nodes: [
    ...NODE_DEFINITIONS,
    benchRelay as unknown as NodeDefinition,
    benchTicker as unknown as NodeDefinition,
  ],
});

/** The real activities plus the bench ones, for createEngine({ implementations }). */
export async function benchImplementations(): Promise<Record<string, NodeActivity>> {
  return {
    ...(await loadNodeActivities(NODE_DEFINITIONS)),
    'bench-relay': relay,
    'bench-ticker': ticker,
  };
}

function document(nodes: GraphDocument['nodes'], edges: GraphDocument['edges']): GraphDocument {
  return {
    schema: GRAPH_SCHEMA_ID,
    version: GRAPH_VERSION,
    id: 'wf_bench',
    name: 'Bench graph',
    description: '',
    nodes,
    edges,
    exposed: [],
    meta: {},
  };
}

/**
 * `length` relays in a row, r1 → r2 → …; `tag` goes into every node's params, so a new tag
 * means new cache keys (a first run), and `lastTag` changes only the last node's.
 */
export function relayChain(length: number, tag: string, lastTag = tag): GraphDocument {
  const nodes = Array.from({ length }, (_, i) => ({
    id: `r${i + 1}`,
    type: 'bench-relay',
    typeVersion: 1,
    position: { x: i * 320, y: 0 },
    params: { tag: i === length - 1 ? lastTag : tag },
  }));
  const edges = nodes.slice(1).map((node, i) => ({
    id: `e${i + 1}`,
    source: nodes[i].id,
    sourcePort: 'text',
    target: node.id,
    targetPort: 'text',
  }));
  return document(nodes, edges);
}

/** The smallest graph the engine runs: one inline script node, no activity at all. */
export function inlineOnly(tag: string): GraphDocument {
  return document(
    [
      {
        id: 'script',
        type: 'script-input',
        typeVersion: 1,
        position: { x: 0, y: 0 },
        params: { text: `bench ${tag}` },
      },
    ],
    [],
  );
}

/** One ticker node. */
export function tickerGraph(
  count: number,
  perSecond: number,
  tag: string,
  delayMs = 0,
): GraphDocument {
  return document(
    [
      {
        id: 'ticker',
        type: 'bench-ticker',
        typeVersion: 1,
        position: { x: 0, y: 0 },
        params: { count, perSecond, tag, delayMs },
      },
    ],
    [],
  );
}
