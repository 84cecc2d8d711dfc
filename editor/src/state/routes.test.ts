import { describe, expect, it } from 'vitest';
import type { Route } from './routes';
import { formatRoute, parseRoute } from './routes';

describe('routes', () => {
  it('round-trips every route', () => {
    const routes: Route[] = [
      { page: 'studio', workflowId: null },
      { page: 'studio', workflowId: 'wf 1' },
      { page: 'studio', workflowId: 'wf_1', runId: 'run_9' },
      { page: 'workflows' },
      { page: 'templates' },
      { page: 'characters' },
      { page: 'characters', characterId: 'mira' },
      { page: 'tokens' },
      { page: 'users' },
    ];
    for (const route of routes) expect(parseRoute(formatRoute(route))).toEqual(route);
  });

  it('sends unknown hashes to the workflow list', () => {
    expect(parseRoute('')).toEqual({ page: 'workflows' });
    expect(parseRoute('#/nope')).toEqual({ page: 'workflows' });
  });
});
