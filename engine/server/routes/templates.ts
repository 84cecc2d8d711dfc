/**
 * Templates (workflows/*.json): listed with the params they expose; instantiating one sets
 * those params and saves the result as a new workflow of the caller's.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { LabError } from '../../errors';
import { ownerOf, requireId, type ServerContext } from '../context';
import { createWorkflow } from './workflows';

const instantiateBodySchema = z.strictObject({
  /** `"nodeId.param": value` for the template's exposed params. */
  values: z.record(z.string(), z.unknown()).default({}),
  /** The new workflow's name; the template's name by default. */
  name: z.string().trim().min(1).max(200).optional(),
});

export function templateRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/api/templates', async () => ctx.templates.list());

  app.get('/api/templates/:id', async (request) => ctx.templates.get(requireId(request.params)));

  app.post('/api/templates/:id/instantiate', async (request, reply) => {
    const template = await ctx.templates.get(requireId(request.params));
    const body = instantiateBodySchema.parse(request.body ?? {});
    const allowed = new Set(template.exposed.map((e) => e.key));
    const notExposed = Object.keys(body.values).filter((key) => !allowed.has(key));
    if (notExposed.length > 0) {
      const list = [...allowed].map((key) => `"${key}"`).join(', ') || 'none';
      throw new LabError(
        'param_not_exposed',
        `template "${template.id}" does not expose ${notExposed.map((k) => `"${k}"`).join(', ')}: ` +
          `it takes ${list}; change other params after instantiating`,
        400,
        { notExposed, exposed: [...allowed] },
      );
    }
    const { graph } = ctx.engine.graph.prepare(
      { ...template.graph, ...(body.name ? { name: body.name } : {}) },
      { values: body.values },
    );
    const record = await createWorkflow(ctx, ownerOf(request), graph);
    return reply.code(201).send(record);
  });
}
