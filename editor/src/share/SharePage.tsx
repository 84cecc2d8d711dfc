/**
 * The page a share link opens (`/s/<token>`), outside the account gate: anyone with the link
 * sees the graph in a read-only canvas, its name, who shared it, when the link ends, and the
 * preview or video if the owner included them. "Import a copy" makes the viewer's own workflow
 * from it and opens it in the studio, where characters and files they cannot read show as
 * named problems. Signed out on a server with accounts, the viewer signs in here first.
 */
import { useCallback, useEffect, useState } from 'react';
import { accountApi, type AccountUser, type MeInfo } from '../api/accounts';
import { api } from '../api/client';
import { ApiError } from '../api/http';
import { shareApi, type SharedWorkflow } from '../api/shares';
import type { NodeTypeInfo } from '../api/types';
import { SignInPage } from '../account/SignInPage';
import { useNow } from '../ui/useNow';
import { ReadOnlyGraph } from './ReadOnlyGraph';
import { expiryText } from './share-view';
import '../account/account.css';
import './share.css';

type Loaded = { shared: SharedWorkflow; types: NodeTypeInfo[]; me: MeInfo };

export function SharePage({ token }: { token: string }) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [failure, setFailure] = useState<{ gone: boolean; message: string } | null>(null);
  const [signingIn, setSigningIn] = useState(false);
  const [importing, setImporting] = useState(false);
  const [importError, setImportError] = useState<string | null>(null);
  const now = useNow(true, 60_000);

  useEffect(() => {
    let alive = true;
    Promise.all([shareApi.open(token), api.nodeTypes(), accountApi.me()]).then(
      ([shared, types, me]) => alive && setLoaded({ shared, types, me }),
      (error: unknown) =>
        alive &&
        setFailure({
          gone: error instanceof ApiError && error.code === 'share_not_found',
          message: error instanceof Error ? error.message : String(error),
        }),
    );
    return () => {
      alive = false;
    };
  }, [token]);

  const importCopy = useCallback(async () => {
    setImporting(true);
    setImportError(null);
    try {
      const copy = await shareApi.importCopy(token);
      // The studio lives under `/` with hash routes; its validation shows the placeholders.
      window.location.assign(`/#/w/${encodeURIComponent(copy.id)}`);
    } catch (error) {
      setImportError(error instanceof Error ? error.message : String(error));
      setImporting(false);
    }
  }, [token]);

  const signedIn = useCallback(
    (user: AccountUser) => {
      setSigningIn(false);
      setLoaded((current) => current && { ...current, me: { auth: 'on', user } });
      void importCopy();
    },
    [importCopy],
  );

  if (failure) {
    return (
      <main className="share-page share-page--message" role="alert">
        <h1>{failure.gone ? 'This link does not work any more' : 'Cannot open this link'}</h1>
        <p>
          {failure.gone
            ? 'It does not exist, has expired or was revoked: ask the person who shared it for a new one.'
            : failure.message}
        </p>
      </main>
    );
  }
  if (!loaded) {
    return (
      <p className="share-page share-page--message muted" role="status">
        Opening the shared workflow…
      </p>
    );
  }
  if (signingIn) return <SignInPage onSignedIn={signedIn} />;

  const { shared, types, me } = loaded;
  const mustSignIn = me.auth === 'on' && !me.user;
  return (
    <main className="share-page" data-testid="share-page">
      <header className="share-page__header">
        <div>
          <h1 data-testid="shared-name">{shared.name}</h1>
          <p className="muted">
            Shared by <strong data-testid="shared-by">{shared.sharedBy}</strong> · read-only ·{' '}
            <span title={new Date(shared.expiresAt).toLocaleString()}>
              link {expiryText(shared.expiresAt, now)}
            </span>
          </p>
          {shared.description && <p>{shared.description}</p>}
        </div>
        <span className="toolbar__grow" />
        <button
          className="button button--primary"
          disabled={importing}
          onClick={() => (mustSignIn ? setSigningIn(true) : void importCopy())}
          data-testid="import-copy"
        >
          {mustSignIn ? 'Sign in to import a copy' : importing ? 'Importing…' : 'Import a copy'}
        </button>
      </header>
      {importError && (
        <p className="share-page__error" role="alert">
          {importError}
        </p>
      )}
      {(shared.video || shared.preview) && (
        <div className="share-page__media">
          {shared.video ? (
            <video controls preload="metadata" src={shared.video.url} data-testid="shared-video" />
          ) : (
            shared.preview && <img src={shared.preview.url} alt={`A frame of ${shared.name}`} />
          )}
        </div>
      )}
      <ReadOnlyGraph graph={shared.graph} types={types} />
    </main>
  );
}
