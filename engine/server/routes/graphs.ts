/** Validation without saving: the editor's live check and scripts checking a file. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context';
import { graphFromBody } from '../graph-input';

export function graphRoutes(app: FastifyInstance, { engine }: ServerContext): void {
  // 200 even when invalid: the answer is the list of problems, not a failed request.
  app.post('/api/graphs/validate', async (request) => {
    const { errors, loaded } = engine.graph.check(graphFromBody(request.body));
    return {
      ok: errors.length === 0,
      errors,
      ...(loaded?.migratedFrom === undefined ? {} : { migratedFrom: loaded.migratedFrom }),
    };
  });
}
