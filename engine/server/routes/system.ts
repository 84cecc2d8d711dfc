/** Health and the node-type catalogue the editor builds its palette and forms from. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context';

export function systemRoutes(app: FastifyInstance, { engine }: ServerContext): void {
  // 503 when a dependency is down, so a load balancer or compose healthcheck sees it.
  app.get('/api/health', async (_request, reply) => {
    const health = await engine.health();
    return reply.code(health.ok ? 200 : 503).send(health);
  });

  const nodeTypes = engine.graph.describeNodeTypes();
  app.get('/api/node-types', async () => nodeTypes);
}
