/**
 * Component-test helpers: render inside the studio's real providers (toasts, studio context
 * with real stores and the catalog built from the real node definitions).
 */
import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import type { EditorAction } from '../canvas/editor-state';
import type {
  ExposedIndex,
  ProblemIndex,
  RunState,
  StudioContextValue,
} from '../canvas/studio-context';
import { NO_EXPOSED, NO_PROBLEMS, StudioContext } from '../canvas/studio-context';
import { createStore } from '../ui/store';
import { ToastProvider } from '../ui/toasts';
import { catalog } from './fixtures';

export function renderInStudio(
  ui: ReactElement,
  options: { problems?: ProblemIndex; exposed?: ExposedIndex } = {},
) {
  const actions: EditorAction[] = [];
  const context: StudioContextValue = {
    catalog: catalog(),
    run: createStore<RunState>({ feed: null }),
    problems: createStore<ProblemIndex>(options.problems ?? NO_PROBLEMS),
    exposed: createStore<ExposedIndex>(options.exposed ?? NO_EXPOSED),
    dispatch: (action) => actions.push(action),
    runFromHere: () => {},
    regenerateShot: () => {},
    openImages: () => {},
  };
  const result = render(
    <ToastProvider>
      <StudioContext.Provider value={context}>{ui}</StudioContext.Provider>
    </ToastProvider>,
  );
  return { ...result, actions, context };
}

/** A fetch that answers from a table of `METHOD /path` → JSON body (the network edge in jsdom). */
export function fakeFetch(
  routes: Record<string, { status?: number; body: unknown }>,
): typeof fetch {
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url =
      typeof input === 'string' ? input : input instanceof URL ? input.pathname : input.url;
    const key = `${init?.method ?? 'GET'} ${url}`;
    const route = routes[key];
    if (!route)
      return new Response(
        JSON.stringify({ error: { code: 'not_found', message: `no route ${key}` } }),
        { status: 404 },
      );
    return new Response(JSON.stringify(route.body), {
      status: route.status ?? 200,
      headers: { 'content-type': 'application/json' },
    });
  }) as typeof fetch;
}
