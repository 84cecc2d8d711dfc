/** Health and the node-type catalogue the editor builds its palette and forms from. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context';

export function systemRoutes(app: FastifyInstance, { engine }: ServerContext): void {
  // 503 when a dependency is down, so a load balancer or compose healthcheck sees it. Public
  // with accounts on: those checks sign in to nothing, and the answer names no one's data.
  app.get('/api/health', { config: { public: true } }, async (_request, reply) => {
    const health = await engine.health();
    return reply.code(health.ok ? 200 : 503).send(health);
  });

  const nodeTypes = engine.graph.describeNodeTypes();
  // The catalogue is the same for everyone and names no user's data: a share link's page
  // (routes/shares.ts) draws the shared graph with it before anyone signs in.
  app.get('/api/node-types', { config: { public: true } }, async () => nodeTypes);
}
