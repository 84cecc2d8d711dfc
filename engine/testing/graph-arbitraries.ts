/**
 * fast-check arbitraries for graph documents, shared by the loader fuzz test and the HTTP fuzz
 * test. Two families:
 * - valid-ish documents built from real node definitions (known types, their ports and their
 *   params' defaults), so a good share of cases gets past the strict parse into validation and
 *   compilation, then bent by a few random mutations;
 * - hostile values: wrong types, huge strings, deep nesting, prototype keys (`__proto__`,
 *   `constructor`), non-JSON values (bigint, Map, cycles), unknown node types, bad edges.
 * Test-only.
 */
import fc from 'fast-check';
import type { NodeDefinition } from '../graph/define-node';
import { LIMITS } from '../graph/document';

type Json = Record<string, unknown>;

/** Keys that break code treating objects as plain dictionaries. */
export const PROTOTYPE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
] as const;

/** Keys a graph document uses: a mutation that adds one of them collides with real fields. */
const DOCUMENT_KEYS = [
  'schema',
  'version',
  'id',
  'name',
  'nodes',
  'edges',
  'exposed',
  'meta',
  'type',
  'typeVersion',
  'position',
  'params',
  'source',
  'sourcePort',
  'target',
  'targetPort',
  'links',
  'data',
  'graph',
  'values',
] as const;

export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...PROTOTYPE_KEYS),
  fc.constantFrom(...DOCUMENT_KEYS),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

/** Ids in the document's id alphabet, short so that collisions (duplicate ids) happen. */
const idLike = fc.oneof(
  fc.constantFrom('a', 'b', 'script', 'story', 'frames', 'merge', 'e1'),
  fc.stringMatching(/^[A-Za-z0-9_.:-]{1,12}$/),
);

/** Text made to hurt: empty, control characters, lone surrogates, paths, very long. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\u0000',
      '\ud800',
      '\u202e',
      '../../../../etc/passwd',
      '%2e%2e%2f',
      'C:\\Windows\\win.ini',
      '<script>alert(1)</script>',
      '{"__proto__":{"polluted":1}}',
      'sk-test-1234567890abcdef',
    ),
  },
  // Around the 1 MB document limit, and just past the per-field limits (200, 5,000, 20,000).
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(201, 5_001, 20_001, 100_000, LIMITS.maxDocumentBytes + 1)
      .map((n) => 'x'.repeat(n)),
  },
);

/** Numbers JSON cannot carry (NaN, ±Infinity become null) and ones schemas trip on. */
const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(
    0,
    -0,
    -1,
    0.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.MAX_SAFE_INTEGER + 2,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e21,
  ),
);

/** Arrays/objects nested `depth` levels, built without recursion. */
export function nested(depth: number, kind: 'array' | 'object' | 'mixed'): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) {
    const asArray = kind === 'array' || (kind === 'mixed' && i % 2 === 0);
    value = asArray ? [value] : { a: value };
  }
  return value;
}

/** Deep nesting: from a little over a real document's depth to far past any recursion limit. */
export const deepValue: fc.Arbitrary<unknown> = fc
  .tuple(
    fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 900, max: 12_000 })),
    fc.constantFrom('array' as const, 'object' as const, 'mixed' as const),
  )
  .map(([depth, kind]) => nested(depth, kind));

/** How deeply a value nests objects/arrays (1 for `{}`), without recursion. */
export function depthOf(root: unknown): number {
  let deepest = 0;
  const pending: { value: unknown; depth: number }[] = [{ value: root, depth: 1 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    deepest = Math.max(deepest, next.depth);
    for (const child of Object.values(next.value))
      pending.push({ value: child, depth: next.depth + 1 });
  }
  return deepest;
}

/** An object with an own `key` property, even `__proto__` (what JSON.parse makes of `{"__proto__":…}`). */
export function withOwnKey(target: Json, key: string, value: unknown): Json {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return target;
}

/** A value of any kind a hostile client could put anywhere, JSON or not. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 3,
    arbitrary: fc.anything({
      key: hostileKey,
      maxDepth: 3,
      maxKeys: 5,
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withTypedArray: true,
      withSparseArray: true,
      withBoxedValues: true,
    }),
  },
  { weight: 2, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: deepValue },
  {
    weight: 1,
    arbitrary: fc
      .tuple(hostileKey, fc.jsonValue({ maxDepth: 2 }))
      .map(([key, value]) => withOwnKey({}, key, value)),
  },
  {
    weight: 1,
    arbitrary: fc.constant(null).map(() => {
      const cyclic: Json = { name: 'cycle' };
      cyclic.self = cyclic;
      return cyclic;
    }),
  },
);

/** A port id of a definition, or one it does not have. */
function portOf(ports: Record<string, unknown> | undefined, pick: number, random: string): string {
  const names = Object.keys(ports ?? {});
  return names.length === 0 || pick % 5 === 4 ? random : names[pick % names.length];
}

/** The definition's params with their defaults, then some of them overridden. */
function paramsArbitrary(definition: NodeDefinition | undefined): fc.Arbitrary<unknown> {
  const defaults = definition?.params.safeParse({});
  const base: Json = defaults?.success ? (defaults.data as Json) : {};
  const keys = Object.keys(base);
  const sameKind = (value: unknown): fc.Arbitrary<unknown> => {
    if (typeof value === 'number') return hostileNumber;
    if (typeof value === 'boolean') return fc.boolean();
    if (typeof value === 'string') return fc.oneof(fc.constant(value), hostileString);
    return hostileValue;
  };
  const overrides =
    keys.length === 0
      ? fc.constant([] as [string, unknown][])
      : fc.array(
          fc
            .constantFrom(...keys)
            .chain((key) =>
              fc.tuple(
                fc.constant(key),
                fc.oneof({ weight: 3, arbitrary: sameKind(base[key]) }, hostileValue),
              ),
            ),
          { maxLength: 3 },
        );
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .tuple(overrides, fc.subarray(keys), fc.boolean())
        .map(([pairs, omitted, omitSome]) => {
          const params: Json = { ...base };
          if (omitSome) for (const key of omitted) delete params[key];
          for (const [key, value] of pairs) params[key] = value;
          return params;
        }),
    },
    { weight: 1, arbitrary: hostileValue },
    {
      weight: 1,
      arbitrary: fc
        .tuple(hostileKey, hostileValue)
        .map(([key, value]) => withOwnKey({ ...base }, key, value)),
    },
  );
}

export interface GraphArbitraryOptions {
  /** The node types documents are built from (a schema's definitions). */
  definitions: readonly NodeDefinition[];
  maxNodes?: number;
}

/**
 * A current-version document (version 1) from real node types: ids that sometimes collide,
 * types that are sometimes unknown, edges between the nodes' real ports and sometimes not,
 * exposed params, and params from the definitions' defaults with a few overrides.
 */
export function graphDocumentArbitrary({
  definitions,
  maxNodes = 8,
}: GraphArbitraryOptions): fc.Arbitrary<Json> {
  const byType = new Map(definitions.map((definition) => [definition.type, definition]));
  const typeArb = fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...byType.keys()) },
    {
      weight: 1,
      arbitrary: fc.oneof(
        fc.constantFrom('no-such-node', 'Script-Input', 'script_input', ...PROTOTYPE_KEYS),
        fc.string({ maxLength: 20 }),
      ),
    },
  );
  const nodeArb = fc
    .tuple(idLike, typeArb, fc.integer({ min: 0, max: 20 }))
    .chain(([id, type, variant]) => {
      const definition = byType.get(type);
      return fc.record({
        id: variant === 0 ? hostileValue : fc.constant(id),
        type: variant === 1 ? hostileValue : fc.constant<unknown>(type),
        typeVersion:
          variant === 2
            ? fc.oneof(hostileNumber, hostileValue)
            : fc.constant(definition?.version ?? 1),
        position:
          variant === 3
            ? hostileValue
            : fc.record({
                x: fc.integer({ min: -5000, max: 5000 }),
                y: fc.integer({ min: -5000, max: 5000 }),
              }),
        params: paramsArbitrary(definition),
      });
    });
  return fc.array(nodeArb, { maxLength: maxNodes }).chain((nodes) => {
    const ids = nodes.map((node) => (typeof node.id === 'string' ? node.id : 'x'));
    const pickId = ids.length === 0 ? idLike : fc.oneof(fc.constantFrom(...ids), idLike);
    const defOf = (id: string) => {
      const type = nodes.find((node) => node.id === id)?.type;
      return typeof type === 'string' ? byType.get(type) : undefined;
    };
    const edgeArb = fc
      .tuple(idLike, pickId, pickId, fc.nat(), fc.nat(), fc.string({ maxLength: 10 }))
      .map(([id, source, target, sourcePick, targetPick, random]) => ({
        id,
        source,
        sourcePort: portOf(defOf(source)?.outputs, sourcePick, random),
        target,
        targetPort: portOf(defOf(target)?.inputs, targetPick, random),
      }));
    const exposedArb = fc.record(
      {
        nodeId: pickId,
        param: fc.oneof(fc.constantFrom('text', 'shots', 'characterId', 'width'), hostileKey),
        label: fc.oneof(fc.constant('Value'), hostileString),
        default: hostileValue,
      },
      { requiredKeys: ['nodeId', 'param', 'label'] },
    );
    return fc.record(
      {
        schema: fc.constant('character-lab/graph'),
        version: fc.constant(1),
        id: idLike,
        name: fc.oneof({ weight: 4, arbitrary: fc.constant('Fuzzed') }, hostileString),
        description: fc.oneof(fc.constant(''), hostileString),
        nodes: fc.constant(nodes),
        edges: fc.array(edgeArb, { maxLength: Math.max(1, nodes.length * 2) }),
        exposed: fc.array(exposedArb, { maxLength: 3 }),
        meta: fc.dictionary(hostileKey, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      },
      { requiredKeys: ['schema', 'version', 'id', 'name', 'nodes', 'edges'] },
    );
  });
}

/** The same document in the version 0 shape (params under `data`, `links` with from/to). */
export function toVersion0(doc: Json): Json {
  const nodes = Array.isArray(doc.nodes) ? doc.nodes : [];
  const edges = Array.isArray(doc.edges) ? doc.edges : [];
  const { schema: _schema, version: _version, nodes: _nodes, edges: _edges, ...rest } = doc;
  return {
    ...rest,
    version: 0,
    nodes: nodes.map((node: Json) => {
      const { params, typeVersion: _typeVersion, ...other } = node;
      return { ...other, data: params };
    }),
    links: edges.map((edge: Json, i) => ({
      ...(i % 2 === 0 ? { id: edge.id } : {}),
      from: { node: edge.source, port: edge.sourcePort },
      to: { node: edge.target, port: edge.targetPort },
    })),
  };
}

/** Every container (object or array) in a JSON-ish value, breadth first, capped. */
function containers(root: unknown, cap = 200): (Json | unknown[])[] {
  const found: (Json | unknown[])[] = [];
  const queue: unknown[] = [root];
  while (queue.length > 0 && found.length < cap) {
    const value = queue.shift();
    if (typeof value !== 'object' || value === null) continue;
    if (found.includes(value as Json)) continue;
    found.push(value as Json);
    queue.push(...Object.values(value as Json));
  }
  return found;
}

/** One random change somewhere in a document. */
export interface Mutation {
  at: number;
  op: 'replace' | 'delete' | 'insert';
  key: string;
  value: unknown;
}

export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('replace' as const, 'delete' as const, 'insert' as const),
  key: hostileKey,
  value: hostileValue,
});

/** Applies mutations to a copy: replace a member, delete one, or add a (hostile) key. */
export function mutate(doc: Json, mutations: readonly Mutation[]): Json {
  // Generated values may be shared between cases (fast-check replays them while shrinking):
  // only a copy is changed. What cannot be copied (a function, a cycle too deep) goes as it is.
  let copy: Json;
  try {
    copy = structuredClone(doc);
  } catch {
    return doc;
  }
  for (const mutation of mutations) {
    const targets = containers(copy);
    const target = targets[mutation.at % targets.length] as Json;
    const keys = Object.keys(target);
    const existing = keys.length === 0 ? undefined : keys[mutation.at % keys.length];
    // Typed arrays refuse new keys and deletions: Reflect answers false instead of throwing.
    if (mutation.op === 'insert' || existing === undefined) {
      Reflect.defineProperty(target, mutation.key, {
        value: mutation.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else if (mutation.op === 'delete') {
      Reflect.deleteProperty(target, existing);
    } else {
      Reflect.set(target, existing, mutation.value);
    }
  }
  return copy;
}

/**
 * What a client sends as a graph: a valid-ish document (current or version 0), mutated, as a
 * value or as JSON text (sometimes cut short or with a stray byte), or any hostile value.
 */
export function graphInputArbitrary(options: GraphArbitraryOptions): fc.Arbitrary<unknown> {
  const document = fc
    .tuple(
      graphDocumentArbitrary(options),
      fc.boolean(),
      fc.array(mutationArbitrary, { maxLength: 3 }),
    )
    .map(([doc, old, mutations]) => mutate(old ? toVersion0(doc) : doc, mutations));
  const asText = fc
    .tuple(document, fc.constantFrom('whole', 'cut', 'stray'), fc.nat())
    .map(([doc, how, at]) => {
      let text: string;
      try {
        text = JSON.stringify(doc) ?? 'null';
      } catch {
        return doc;
      }
      if (how === 'cut') return text.slice(0, at % (text.length + 1));
      if (how === 'stray') {
        const i = at % (text.length + 1);
        return `${text.slice(0, i)}${'{["\\,:}'[at % 8]}${text.slice(i)}`;
      }
      return text;
    });
  return fc.oneof(
    { weight: 5, arbitrary: document },
    { weight: 3, arbitrary: asText },
    { weight: 1, arbitrary: hostileValue },
    // Over the node and edge limits: cheap to build, checked before anything walks them.
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.integer({ min: LIMITS.maxNodes - 1, max: LIMITS.maxNodes + 2 }),
          fc.integer({ min: 0, max: LIMITS.maxEdges + 2 }),
        )
        .map(([nodes, edges]) => ({
          schema: 'character-lab/graph',
          version: 1,
          id: 'wf_big',
          name: 'Big',
          nodes: Array.from({ length: nodes }, (_, i) => ({
            id: `n${i}`,
            type: 'script-input',
            typeVersion: 1,
            position: { x: i, y: 0 },
            params: { text: 'Hi.' },
          })),
          edges: Array.from({ length: edges }, (_, i) => ({
            id: `e${i}`,
            source: `n${i % nodes}`,
            sourcePort: 'text',
            target: `n${(i + 1) % nodes}`,
            targetPort: 'text',
          })),
        })),
    },
  );
}

/**
 * fast-check's failure report prints the counterexample with a recursive stringify, which
 * overflows the stack on the deeply nested values above and hides the real failure. This
 * reporter prints the seed, the path, the error and as much of the counterexample as prints.
 */
export function reportFailure<T>(details: fc.RunDetails<T>): void {
  if (!details.failed) return;
  let shown: string;
  try {
    shown = fc.stringify(details.counterexample);
  } catch {
    try {
      shown = JSON.stringify(details.counterexample);
    } catch {
      shown = '(too deeply nested to print)';
    }
  }
  const error =
    details.errorInstance instanceof Error
      ? (details.errorInstance.stack ?? details.errorInstance.message)
      : String(details.errorInstance);
  throw new Error(
    `Property failed after ${details.numRuns} tests\n` +
      `{ seed: ${details.seed}, path: "${details.counterexamplePath ?? ''}", endOnFailure: true }\n` +
      `Counterexample: ${shown.slice(0, 4_000)}${shown.length > 4_000 ? '…' : ''}\n` +
      `Error: ${error}`,
  );
}
