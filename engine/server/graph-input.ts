/**
 * Graph payloads from clients: where the graph sits in a request body, and the one rule that
 * differs from running — a saved draft must load but may still have graph problems. Loading,
 * values, validation and compilation are the graph schema's (engine/graph/schema.ts); its
 * GraphInvalid is answered as a 400 `invalid_graph` with every problem in `details.errors`.
 */
import { LabError } from '../errors';
import { GraphInvalid, type ValidationProblem } from '../graph/problems';
import type { GraphSchema, LoadedGraph } from '../graph/schema';

/**
 * For saving a draft: the document must load (JSON, version, shape, size limits) or it is a
 * 400, but graph problems (a missing input while the user is still wiring) are returned, not
 * thrown, so autosave keeps work that is not runnable yet. Runs, imports and templates use
 * `prepare` and stay strict.
 */
export function requireLoadableGraph(
  schema: GraphSchema,
  input: unknown,
): LoadedGraph & { problems: ValidationProblem[] } {
  const { errors, loaded } = schema.check(input);
  if (!loaded) throw new GraphInvalid(errors);
  return { ...loaded, problems: errors };
}

/**
 * Reads the graph out of a request body: `{ graph: … }`, or the document itself (what an
 * exported file holds), so `curl --data @hero.json` works too.
 */
export function graphFromBody(body: unknown): unknown {
  if (body && typeof body === 'object' && !Array.isArray(body) && 'graph' in body) {
    return (body as { graph: unknown }).graph;
  }
  return body;
}

/**
 * How deeply JSON request bodies may nest. A graph document nests about ten levels (document,
 * nodes, node, params, a storyboard's shots, …); thousands of levels only serve to exhaust the
 * recursive code that walks a document (zod, canonical JSON), which then fails with a 500.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * Refuses JSON text that nests deeper than `maxDepth` arrays/objects, before it is parsed, with
 * a 400 `json_too_deep`. One pass over the text, no recursion, strings skipped (a `[` inside a
 * string is no nesting).
 */
export function checkJsonDepth(text: string, maxDepth = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) {
        throw new LabError(
          'json_too_deep',
          `the JSON body nests deeper than ${maxDepth} levels: a graph document needs about ten; send a flatter document`,
          400,
        );
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
}
