/**
 * What tests that cover "every route" share: the routes read from the router itself (so a new
 * route cannot be forgotten), and the clean-up of runs no worker will ever finish.
 */
import type { Engine } from '../engine-types';
import type { LabServer } from '../server/app';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Every route as `{ method, url }` (`/api/runs/:id`), from printRoutes' tree, flattened. */
export function routesOf(server: LabServer): { method: HttpMethod; url: string }[] {
  const tree = server.app.printRoutes({ commonPrefix: false });
  const routes: { method: HttpMethod; url: string }[] = [];
  const stack: { depth: number; path: string }[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([│ ]*)(?:[├└]── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1].length;
    while (stack.length > 0 && stack[stack.length - 1].depth >= depth) stack.pop();
    const path = `${stack.length > 0 ? stack[stack.length - 1].path : ''}${match[2]}`;
    stack.push({ depth, path });
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim())) {
      if ((HTTP_METHODS as readonly string[]).includes(method)) {
        routes.push({ method: method as HttpMethod, url: path });
      }
    }
  }
  return routes;
}

/** Stops the workflows of every stored run, for tests whose runs no worker executes. */
export async function terminateAllRuns(engine: Engine, reason: string): Promise<void> {
  for (const run of await engine.runs.list({ limit: 500 })) {
    await engine.temporal.client.workflow
      .getHandle(run.temporalWorkflowId)
      .terminate(reason)
      .catch(() => {});
  }
}
