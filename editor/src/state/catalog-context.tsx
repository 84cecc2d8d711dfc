/**
 * The node catalog for the whole app, fetched once from `GET /api/node-types`. Until it
 * arrives nothing that draws nodes renders; if the server cannot be reached the app says so
 * and offers to retry.
 */
import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import type { ReactNode } from 'react';
import { api } from '../api/client';
import type { NodeTypeInfo } from '../api/types';
import type { Catalog } from '../canvas/catalog';
import { createCatalog } from '../canvas/catalog';

export interface CatalogValue {
  types: NodeTypeInfo[];
  catalog: Catalog;
}

const CatalogContext = createContext<CatalogValue | null>(null);

export function useCatalog(): CatalogValue {
  const value = useContext(CatalogContext);
  if (!value) throw new Error('useCatalog needs a <CatalogProvider> above it');
  return value;
}

export function CatalogProvider({ children }: { children: ReactNode }) {
  const [value, setValue] = useState<CatalogValue | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const retry = useCallback(() => {
    setError(null);
    setAttempt((n) => n + 1);
  }, []);

  useEffect(() => {
    let alive = true;
    api.nodeTypes().then(
      (types) => alive && setValue({ types, catalog: createCatalog(types) }),
      (err: unknown) => alive && setError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      alive = false;
    };
  }, [attempt]);

  if (error) {
    return (
      <div className="page-message" role="alert">
        <h1>Cannot load the node types</h1>
        <p>{error}</p>
        <button className="button button--primary" onClick={retry}>
          Try again
        </button>
      </div>
    );
  }
  if (!value) return <div className="page-message muted">Loading Character Lab…</div>;
  return <CatalogContext.Provider value={value}>{children}</CatalogContext.Provider>;
}
