/**
 * Graph payloads from clients: where the graph sits in a request body, and the one rule that
 * differs from running — a saved draft must load but may still have graph problems. Loading,
 * values, validation and compilation are the graph schema's (engine/graph/schema.ts); its
 * GraphInvalid is answered as a 400 `invalid_graph` with every problem in `details.errors`.
 */
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
