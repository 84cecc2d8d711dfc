/**
 * Hash routes, so every view has a URL the server never needs to know: reloading or opening
 * the same URL in a second tab lands on the same workflow and the same live run.
 */

export type Route =
  | { page: 'studio'; workflowId: string | null; runId?: string }
  | { page: 'workflows' }
  | { page: 'templates' }
  | { page: 'characters'; characterId?: string }
  | { page: 'tokens' }
  | { page: 'users' };

export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((part) => decodeURIComponent(part));
  switch (parts[0]) {
    case 'w':
      if (!parts[1]) return { page: 'studio', workflowId: null };
      return parts[2] === 'runs' && parts[3]
        ? { page: 'studio', workflowId: parts[1], runId: parts[3] }
        : { page: 'studio', workflowId: parts[1] };
    case 'new':
      return { page: 'studio', workflowId: null };
    case 'workflows':
      return { page: 'workflows' };
    case 'templates':
      return { page: 'templates' };
    case 'characters':
      return parts[1] ? { page: 'characters', characterId: parts[1] } : { page: 'characters' };
    case 'tokens':
      return { page: 'tokens' };
    case 'users':
      return { page: 'users' };
    default:
      return { page: 'workflows' };
  }
}

export function formatRoute(route: Route): string {
  const enc = encodeURIComponent;
  switch (route.page) {
    case 'studio':
      if (!route.workflowId) return '#/new';
      return route.runId
        ? `#/w/${enc(route.workflowId)}/runs/${enc(route.runId)}`
        : `#/w/${enc(route.workflowId)}`;
    case 'workflows':
      return '#/workflows';
    case 'templates':
      return '#/templates';
    case 'characters':
      return route.characterId ? `#/characters/${enc(route.characterId)}` : '#/characters';
    case 'tokens':
      return '#/tokens';
    case 'users':
      return '#/users';
  }
}

/** Goes to a route; `replace` keeps the history entry (a draft getting its id is not a visit). */
export function navigate(route: Route, options: { replace?: boolean } = {}): void {
  const hash = formatRoute(route);
  if (window.location.hash === hash) return;
  if (options.replace) {
    window.history.replaceState(null, '', hash);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    window.location.hash = hash;
  }
}
