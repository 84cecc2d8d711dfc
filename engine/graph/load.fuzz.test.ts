/**
 * Property-based fuzzing of the graph core (issue 10, item 6): whatever a client hands in —
 * valid-ish documents from the real node types bent by random mutations, old-version
 * documents, JSON text cut short, deep nesting, prototype keys, huge strings, non-JSON values —
 * load, check, validate and prepare answer with structured problems carrying stable codes and
 * never throw anything else. fast-check prints the seed and the shrunk counterexample of a
 * failure; rerun it with `fc.assert(…, { seed, path })`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { graphSchema } from '../../nodes/definitions';
import {
  graphInputArbitrary,
  hostileKey,
  hostileValue,
  nested,
  reportFailure,
} from '../testing/graph-arbitraries';
import { testSchema } from '../testing/test-registry';
import { graphDocumentSchema } from './document';
import { GraphInvalid, type ProblemCode, type ValidationProblem } from './problems';
import type { GraphSchema } from './schema';

/** Every stable code; `satisfies` makes the compiler flag a code added to ProblemCode here. */
const PROBLEM_CODES = {
  invalid_json: true,
  document_too_large: true,
  document_too_deep: true,
  too_many_nodes: true,
  too_many_edges: true,
  unsupported_version: true,
  invalid_document: true,
  migration_failed: true,
  empty_graph: true,
  duplicate_id: true,
  unknown_node_type: true,
  invalid_param: true,
  dangling_edge: true,
  unknown_port: true,
  port_type_mismatch: true,
  missing_required_input: true,
  multiple_inputs_to_port: true,
  cycle: true,
  invalid_exposed: true,
  character_missing: true,
  artifact_missing: true,
  unknown_value_target: true,
  unknown_node: true,
  character_not_found: true,
  artifact_not_found: true,
} satisfies Record<ProblemCode, true>;

/** Enough cases to reach every problem code; the second schema only adds node migrations. */
const NUM_RUNS = 200;

/** A problem list as the API serves it: non-empty, known codes, a message to act on. */
function expectProblems(problems: readonly ValidationProblem[]): void {
  expect(problems.length).toBeGreaterThan(0);
  for (const problem of problems) {
    expect(Object.hasOwn(PROBLEM_CODES, problem.code), `unknown code ${problem.code}`).toBe(true);
    expect(typeof problem.message).toBe('string');
    expect(problem.message.length).toBeGreaterThan(0);
    // Problems travel as JSON (HTTP, CLI): they must serialise.
    expect(() => JSON.stringify(problem)).not.toThrow();
  }
}

/** `"nodeId.param": value` entries, as templates and `--set` send them, some aimed nowhere. */
const valuesArbitrary = fc.dictionary(
  fc.oneof(
    fc.constantFrom('script.text', 'story.shots', 'frames.width', 'a.text', '.', 'x.'),
    fc.tuple(hostileKey, hostileKey).map(([node, param]) => `${node}.${param}`),
    hostileKey,
  ),
  hostileValue,
  { maxKeys: 3 },
);

const forceRunArbitrary = fc.array(fc.oneof(fc.constantFrom('script', 'story', 'a'), hostileKey), {
  maxLength: 2,
});

function fuzzSchema(name: string, schema: GraphSchema, numRuns: number): void {
  const input = graphInputArbitrary({ definitions: schema.definitions });

  describe(`graph core fuzzing (${name})`, () => {
    it('load never throws: a current-version document, or problems with stable codes', () => {
      fc.assert(
        fc.property(input, (value) => {
          const result = schema.load(value);
          if (!result.ok) {
            expectProblems(result.errors);
            return;
          }
          // What loads is a strict current-version document, and loading it again changes nothing.
          expect(graphDocumentSchema.safeParse(result.graph).success).toBe(true);
          const again = schema.load(result.graph);
          expect(again.ok).toBe(true);
          if (again.ok) expect(again.graph).toEqual(result.graph);
        }),
        { numRuns, reporter: reportFailure },
      );
    });

    it('loads JSON text and the same parsed value alike', () => {
      fc.assert(
        fc.property(input, (value) => {
          let text: string | undefined;
          let parsed: unknown;
          try {
            text = typeof value === 'string' ? value : JSON.stringify(value);
            parsed = text === undefined ? undefined : JSON.parse(text);
          } catch {
            return; // not JSON (a cycle, a bigint, text cut short): nothing to compare
          }
          // A string is read as JSON text itself, so only structured values compare.
          if (text === undefined || typeof parsed === 'string') return;
          expect(schema.load(text)).toEqual(schema.load(parsed));
        }),
        { numRuns, reporter: reportFailure },
      );
    });

    it('validate and check never throw on whatever loads', () => {
      fc.assert(
        fc.property(input, valuesArbitrary, (value, values) => {
          const loaded = schema.load(value);
          if (loaded.ok) {
            const problems = schema.validate(loaded.graph);
            if (problems.length > 0) expectProblems(problems);
          }
          const checked = schema.check(value, { values });
          if (checked.errors.length > 0) expectProblems(checked.errors);
          else expect(checked.loaded).toBeDefined();
        }),
        { numRuns, reporter: reportFailure },
      );
    });

    it('prepare returns a plan or throws GraphInvalid with every problem, nothing else', () => {
      fc.assert(
        fc.property(input, valuesArbitrary, forceRunArbitrary, (value, values, forceRun) => {
          let prepared: ReturnType<GraphSchema['prepare']>;
          try {
            prepared = schema.prepare(value, { values, forceRun });
          } catch (error) {
            if (!(error instanceof GraphInvalid)) throw error;
            expect(error.code).toBe('invalid_graph');
            expect(error.status).toBe(400);
            expectProblems(error.problems);
            return;
          }
          // A plan is the workflow's input: it must survive Temporal's JSON payload converter.
          expect(JSON.parse(JSON.stringify(prepared.plan))).toEqual(prepared.plan);
        }),
        { numRuns, reporter: reportFailure },
      );
    });
  });
}

fuzzSchema('real node types', graphSchema, NUM_RUNS);
// The test registry adds a node type at version 3 with two param migrations, so node
// migrations run on hostile params too (every real node type is still at version 1).
fuzzSchema('with a migrating node type', testSchema, NUM_RUNS / 2);

describe('graph core: regressions found by fuzzing', () => {
  // Found by the properties above: structuredClone in the document migrations overflowed the
  // stack a few thousand levels down, so load threw a RangeError instead of answering.
  it.each([
    ['arrays', 'array' as const],
    ['objects', 'object' as const],
  ])('answers a param nested 3,000 levels deep in %s with document_too_deep', (_name, kind) => {
    const doc = {
      schema: 'character-lab/graph',
      version: 1,
      id: 'wf_deep',
      name: 'Deep',
      nodes: [
        {
          id: 'script',
          type: 'script-input',
          typeVersion: 1,
          position: { x: 0, y: 0 },
          params: { text: nested(3_000, kind) },
        },
      ],
      edges: [],
    };
    for (const input of [doc, JSON.stringify(doc)]) {
      const loaded = graphSchema.load(input);
      expect(loaded.ok).toBe(false);
      if (!loaded.ok)
        expect(loaded.errors.map((error) => error.code)).toEqual(['document_too_deep']);
      expect(() => graphSchema.prepare(input)).toThrow(GraphInvalid);
    }
  });

  it('still loads a document nesting as deep as the limit allows', () => {
    const doc = {
      schema: 'character-lab/graph',
      version: 1,
      id: 'wf_deep',
      name: 'Deep',
      nodes: [],
      edges: [],
      // The document is level 1 and meta level 2: 98 arrays inside reach exactly 100.
      meta: { deep: nested(98, 'array') },
    };
    expect(graphSchema.load(doc).ok).toBe(true);
    const deeper = { ...doc, meta: { deep: nested(99, 'array') } };
    expect(graphSchema.load(deeper).ok).toBe(false);
  });
});
