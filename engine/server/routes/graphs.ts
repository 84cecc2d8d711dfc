/** Validation without saving: the editor's live check and scripts checking a file. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context';
import { checkGraph, graphFromBody } from '../graph-input';

export function graphRoutes(app: FastifyInstance, _ctx: ServerContext): void {
  // 200 even when invalid: the answer is the list of problems, not a failed request.
  app.post('/api/graphs/validate', async (request) => {
    const { errors, loaded } = checkGraph(graphFromBody(request.body));
    return {
      ok: errors.length === 0,
      errors,
      ...(loaded?.migratedFrom === undefined ? {} : { migratedFrom: loaded.migratedFrom }),
    };
  });
}
