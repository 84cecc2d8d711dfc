/**
 * The studio: the built editor (dist/editor) with a single-page-app fallback, or, before
 * `npm run build`, a small page saying so and listing the API. Unknown /api paths are JSON 404s.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context';

export const API_ROUTES: readonly string[] = [
  'GET    /api/health',
  'GET    /api/node-types',
  'POST   /api/graphs/validate            { graph }',
  'GET    /api/workflows',
  'POST   /api/workflows                  { graph }',
  'GET    /api/workflows/:id',
  'PUT    /api/workflows/:id              { graph }',
  'DELETE /api/workflows/:id',
  'GET    /api/workflows/:id/export',
  'POST   /api/workflows/import           (a graph document)',
  'GET    /api/templates?q=&category=&source=',
  'POST   /api/templates                  { workflowId | graph, name, description?, category?, preview? }',
  'POST   /api/templates/import           (a template file)',
  'GET    /api/templates/:id?version=',
  'PUT    /api/templates/:id              (as POST: saves the next version)',
  'DELETE /api/templates/:id',
  'GET    /api/templates/:id/versions',
  'GET    /api/templates/:id/export?version=',
  'POST   /api/templates/:id/instantiate  { values, name?, version? }',
  'POST   /api/runs                       { graph, values? } | { workflowId, values? } | { templateId, version?, values? }',
  'GET    /api/runs?workflowId=',
  'GET    /api/runs/:id',
  'POST   /api/runs/:id/cancel',
  'POST   /api/runs/:id/nodes/:nodeId/cancel',
  'POST   /api/runs/:id/rerun             { fromNodeId?, params? }',
  'GET    /api/characters',
  'POST   /api/characters                 (multipart: name, description, images[], styleImages[], triggerWord, loraName, loraWeight)',
  'GET    /api/characters/:id',
  'PUT    /api/characters/:id',
  'DELETE /api/characters/:id',
  'POST   /api/characters/:id/similar     { limit? }',
  'POST   /api/characters/similar         (multipart: image)',
  'POST   /api/artifacts                  (multipart: file)',
  'GET    /api/artifacts/:id              (Range supported)',
  'Socket.IO: run:watch { runId, sinceSeq? } → ack { snapshot, events }, then run:event',
];

export function studioRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const built = existsSync(join(ctx.options.editorDir, 'index.html'));
  if (built) {
    void app.register(fastifyStatic, { root: ctx.options.editorDir, prefix: '/', wildcard: true });
  } else {
    app.get('/', async (_request, reply) =>
      reply.type('text/html; charset=utf-8').send(notBuiltPage()),
    );
  }

  app.setNotFoundHandler(async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0];
    const isPage =
      (request.method === 'GET' || request.method === 'HEAD') &&
      !path.startsWith('/api/') &&
      path !== '/api';
    // Client-side routes (/workflows/wf_1) load the app; its router takes over.
    if (built && isPage && !/\.[a-z0-9]+$/i.test(path)) {
      return reply.code(200).type('text/html; charset=utf-8').sendFile('index.html');
    }
    return reply.code(404).send({
      error: {
        code: 'not_found',
        message: `there is no ${request.method} ${path.slice(0, 200)}: the API lives under /api (GET / lists it)`,
      },
    });
  });
}

function notBuiltPage(): string {
  const routes = API_ROUTES.map((line) => escapeHtml(line)).join('\n');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Character Lab</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:54rem;margin:3rem auto;padding:0 1rem;color:#1f2328}
pre{background:#f4f5f7;padding:1rem;overflow:auto;font-size:13px}code{background:#f4f5f7;padding:0 .25rem}</style></head>
<body>
<h1>Character Lab</h1>
<p>The API is running, but the studio is not built yet. Run <code>npm run build</code>, then restart
<code>npm start</code> (or use <code>npm run dev</code> for the editor with hot reload).</p>
<h2>API</h2>
<pre>${routes}</pre>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!,
  );
}
