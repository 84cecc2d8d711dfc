/**
 * Cached runs: a first run, the identical run again (every node should come from the cache),
 * and a re-run with only the last node's params changed (only it should work). Of the
 * character-short template (local providers, its own sizes) and of a chain of `bench-relay`
 * nodes; plus the cost of a fully cached run with no nodes to speak of, which is what
 * "fixed cost of a cached run" means when it is set beside a raw empty Temporal workflow.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Engine } from '../engine/engine-types';
import type { RunSnapshot } from '../engine/runs/events';
import { relayChain } from './bench-nodes';
import { linearFit, median, timed } from './stats';

const TEMPLATE = new URL('../workflows/character-short.json', import.meta.url);

/** Median milliseconds, start call → run end. */
export interface CacheFigures {
  first: number;
  identical: number;
  lastChanged: number;
}

export interface CachedFixedCost {
  /** A fully cached run of one relay node. */
  oneNode: number;
  /** Intercept of cached runs of 1 and `length` nodes: the cached run before its first node. */
  fixed: number;
  perCachedNode: number;
}

async function timedRun(
  engine: Engine,
  start: () => Promise<{ id: string }>,
): Promise<{ ms: number; snapshot: RunSnapshot }> {
  const { ms, value: snapshot } = await timed(async () => {
    const run = await start();
    return engine.runs.waitForEnd(run.id, 10 * 60_000);
  });
  if (snapshot.status !== 'succeeded')
    throw new Error(
      `bench run ${snapshot.runId} ended ${snapshot.status}: ${snapshot.error ?? ''}`,
    );
  return { ms, snapshot };
}

/** Every node that does work must be cached; a mismatch means the cache figure lies. */
function assertStatuses(
  snapshot: RunSnapshot,
  expectWorked: readonly string[],
  what: string,
): void {
  const worked = Object.entries(snapshot.nodes)
    .filter(([, node]) => node.status === 'succeeded')
    .map(([id]) => id);
  const bad = Object.entries(snapshot.nodes).filter(
    ([, node]) => node.status !== 'succeeded' && node.status !== 'cached',
  );
  if (bad.length > 0) throw new Error(`${what}: nodes ended ${JSON.stringify(bad)}`);
  const unexpected = worked.filter((id) => !expectWorked.includes(id));
  if (unexpected.length > 0)
    throw new Error(`${what}: ${unexpected.join(', ')} ran instead of coming from the cache`);
}

/**
 * The template, `rounds` times, each round with its own script so its first run is fresh;
 * `shots` overrides its exposed shot count (the reduced bench in the test suite uses 1).
 */
export async function measureTemplateCache(
  engine: Engine,
  rounds: number,
  shots?: number,
): Promise<CacheFigures> {
  const template = await readFile(TEMPLATE, 'utf8');
  const inline = uncachedNodes(engine, template);
  const first: number[] = [];
  const identical: number[] = [];
  const lastChanged: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const tag = randomBytes(4).toString('hex');
    // Every sentence differs: the cache is per shot, so one shared sentence would let later
    // rounds reuse that shot's frame and clip.
    const script = [
      `Mira reaches ridge ${tag} at dawn.`,
      `She looks out over valley ${tag}.`,
      `"We made it to ${tag}," she says.`,
      `She walks on toward light ${tag}.`,
    ].join(' ');
    const values = { 'script.text': script, ...(shots ? { 'story.shots': shots } : {}) };
    const fresh = await timedRun(engine, () => engine.runs.start({ graph: template, values }));
    const again = await timedRun(engine, () => engine.runs.start({ graph: template, values }));
    assertStatuses(again.snapshot, inline, 'template identical re-run');
    const changed = await timedRun(engine, () =>
      engine.runs.rerun(again.snapshot.runId, { params: { merge: { crf: 21 + (round % 10) } } }),
    );
    assertStatuses(changed.snapshot, [...inline, 'merge'], 'template merge-changed re-run');
    first.push(fresh.ms);
    identical.push(again.ms);
    lastChanged.push(changed.ms);
  }
  return { first: median(first), identical: median(identical), lastChanged: median(lastChanged) };
}

/** A chain of `length` relays: fresh, identical, last relay's tag changed. */
export async function measureChainCache(
  engine: Engine,
  length: number,
  rounds: number,
): Promise<CacheFigures> {
  const first: number[] = [];
  const identical: number[] = [];
  const lastChanged: number[] = [];
  const last = `r${length}`;
  for (let round = 0; round < rounds; round++) {
    const tag = randomBytes(4).toString('hex');
    const fresh = await timedRun(engine, () =>
      engine.runs.start({ graph: relayChain(length, tag) }),
    );
    const again = await timedRun(engine, () =>
      engine.runs.start({ graph: relayChain(length, tag) }),
    );
    assertStatuses(again.snapshot, [], 'chain identical re-run');
    const changed = await timedRun(engine, () =>
      engine.runs.start({ graph: relayChain(length, tag, `${tag}-changed`) }),
    );
    assertStatuses(changed.snapshot, [last], 'chain last-changed re-run');
    first.push(fresh.ms);
    identical.push(again.ms);
    lastChanged.push(changed.ms);
  }
  return { first: median(first), identical: median(identical), lastChanged: median(lastChanged) };
}

/** Fully cached runs of 1 and `length` relays (each primed by one fresh run first). */
export async function measureCachedFixedCost(
  engine: Engine,
  length: number,
  rounds: number,
): Promise<CachedFixedCost> {
  const one: number[] = [];
  const long: number[] = [];
  const tag = randomBytes(4).toString('hex');
  await timedRun(engine, () => engine.runs.start({ graph: relayChain(1, tag) }));
  await timedRun(engine, () => engine.runs.start({ graph: relayChain(length, tag) }));
  for (let round = 0; round < rounds; round++) {
    const a = await timedRun(engine, () => engine.runs.start({ graph: relayChain(1, tag) }));
    assertStatuses(a.snapshot, [], 'cached one-node run');
    const b = await timedRun(engine, () => engine.runs.start({ graph: relayChain(length, tag) }));
    assertStatuses(b.snapshot, [], 'cached chain run');
    one.push(a.ms);
    long.push(b.ms);
  }
  const line = linearFit([
    { x: 1, y: median(one) },
    { x: length, y: median(long) },
  ]);
  return { oneNode: median(one), fixed: line.fixed, perCachedNode: line.perItem };
}

/**
 * Nodes that never come from the cache, so "succeeded" is right for them: inline ones (script
 * inputs are evaluated in the workflow) and those their definition marks not cacheable.
 */
function uncachedNodes(engine: Engine, template: string): string[] {
  const loaded = engine.graph.load(template);
  if (!loaded.ok) throw new Error('the character-short template does not load');
  return loaded.graph.nodes
    .filter((node) => {
      const definition = engine.graph.definition(node.type);
      return definition?.runsOn === 'inline' || definition?.cacheable === false;
    })
    .map((node) => node.id);
}
