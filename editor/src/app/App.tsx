/** The app shell: header navigation and the page for the current hash route. */
import { useEffect, useState } from 'react';
import { AccountMenu } from '../account/AccountMenu';
import { AuthGate } from '../account/AuthGate';
import { TokensPage } from '../account/TokensPage';
import { UsersPage } from '../account/UsersPage';
import { api } from '../api/client';
import type { HealthInfo } from '../api/types';
import { CharactersPage } from '../characters/CharactersPage';
import { StudioPage } from '../canvas/StudioPage';
import { LAST_WORKFLOW_KEY, prefetchWorkflow } from '../canvas/useWorkflowSession';
import { SharePage } from '../share/SharePage';
import { shareTokenOf } from '../share/share-view';
import { TemplatesPage } from '../templates/TemplatesPage';
import { ToastProvider } from '../ui/toasts';
import { WorkflowsPage } from '../workflows/WorkflowsPage';
import { CatalogProvider } from '../state/catalog-context';
import type { Route } from '../state/routes';
import { parseRoute } from '../state/routes';
import './App.css';

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** The Studio tab reopens the last workflow (a new one if it was deleted, the page says so). */
function studioHref(): string {
  const last = localStorage.getItem(LAST_WORKFLOW_KEY);
  return last ? `#/w/${encodeURIComponent(last)}` : '#/new';
}

function HealthDot() {
  const [health, setHealth] = useState<HealthInfo | null>(null);
  const [down, setDown] = useState(false);
  useEffect(() => {
    let alive = true;
    const check = () =>
      api.health().then(
        (h) => {
          if (!alive) return;
          setHealth(h);
          setDown(false);
        },
        () => alive && setDown(true),
      );
    void check();
    const timer = window.setInterval(() => void check(), 30_000);
    return () => {
      alive = false;
      window.clearInterval(timer);
    };
  }, []);
  const providers = health?.providers
    ? Object.entries(health.providers)
        .map(([name, value]) => `${name}: ${value}`)
        .join('\n')
    : '';
  const ok = !down && health?.ok !== false;
  return (
    <span
      className={`health${ok ? '' : ' health--down'}`}
      title={
        down
          ? 'The server does not answer'
          : `Server ${health?.ok ? 'healthy' : 'degraded'}\n${providers}`
      }
    >
      <i className="dot" /> {down ? 'offline' : health?.ok === false ? 'degraded' : 'online'}
    </span>
  );
}

/**
 * The studio opens behind the account gate: with accounts on nothing loads before sign-in,
 * and each sign-in builds the studio anew (`key`), so no state of one user reaches the next.
 */
export function App() {
  // A share link's page is for anyone holding the link: it stands before the gate.
  const shareToken = shareTokenOf(window.location.pathname);
  useState(() => {
    // The page opens on a workflow: fetch it alongside /api/auth/me and the node types, not
    // after them. Signed out, it fails with a 401 the gate ignores while it is still asking
    // who this is, and the studio fetches it again after the sign-in.
    const first = parseRoute(window.location.hash);
    if (!shareToken && first.page === 'studio' && first.workflowId) {
      prefetchWorkflow(first.workflowId);
    }
  });
  return (
    <ToastProvider>
      {shareToken ? (
        <SharePage token={shareToken} />
      ) : (
        <AuthGate>{(session) => <Studio key={session} />}</AuthGate>
      )}
    </ToastProvider>
  );
}

function Studio() {
  const route = useRoute();
  const link = (page: Route['page'], label: string, href: string) => (
    <a
      href={href}
      className={route.page === page ? 'nav__link is-active' : 'nav__link'}
      aria-current={route.page === page ? 'page' : undefined}
    >
      {label}
    </a>
  );
  return (
    <div className="app">
      <header className="app__header">
        <a className="brand" href="#/workflows">
          <span className="brand__mark" aria-hidden /> Character Lab
        </a>
        <nav className="nav">
          {link('studio', 'Studio', route.page === 'studio' ? window.location.hash : studioHref())}
          {link('workflows', 'Workflows', '#/workflows')}
          {link('templates', 'Templates', '#/templates')}
          {link('characters', 'Characters', '#/characters')}
        </nav>
        <span className="toolbar__grow" />
        <HealthDot />
        <AccountMenu />
      </header>
      <main className="app__main">
        <CatalogProvider>
          {route.page === 'studio' && (
            <StudioPage workflowId={route.workflowId} runId={route.runId} />
          )}
          {route.page === 'workflows' && <WorkflowsPage />}
          {route.page === 'templates' && <TemplatesPage />}
          {route.page === 'characters' && <CharactersPage characterId={route.characterId} />}
          {route.page === 'tokens' && <TokensPage />}
          {route.page === 'users' && <UsersPage />}
        </CatalogProvider>
      </main>
    </div>
  );
}
