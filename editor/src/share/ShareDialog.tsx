/**
 * "Share" in the studio: makes a read-only link to the workflow as saved now (expiry, and
 * optionally its last finished video), shows the link once with a copy button, and lists the
 * workflow's links with when they end and a Revoke button.
 */
import { useCallback, useEffect, useState } from 'react';
import { shareApi, type CreatedShare, type ShareInfo } from '../api/shares';
import { Dialog } from '../ui/Dialog';
import { useToasts } from '../ui/toasts';
import { useNow } from '../ui/useNow';
import { DEFAULT_EXPIRY_DAYS, EXPIRY_CHOICES, shareStateText } from './share-view';
import './share.css';

export interface ShareDialogProps {
  workflowId: string;
  /** Saves pending edits first, so the link shows what the canvas shows. */
  flush(): Promise<unknown>;
  onClose(): void;
}

export function ShareDialog({ workflowId, flush, onClose }: ShareDialogProps) {
  const toasts = useToasts();
  const [links, setLinks] = useState<ShareInfo[] | null>(null);
  const [days, setDays] = useState<number>(DEFAULT_EXPIRY_DAYS);
  const [includeVideo, setIncludeVideo] = useState(false);
  const [created, setCreated] = useState<CreatedShare | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      setLinks(await shareApi.list(workflowId));
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  }, [workflowId]);

  useEffect(() => {
    let alive = true;
    shareApi.list(workflowId).then(
      (list) => alive && setLinks(list),
      (failure: unknown) =>
        alive && setError(failure instanceof Error ? failure.message : String(failure)),
    );
    return () => {
      alive = false;
    };
  }, [workflowId]);

  const create = async () => {
    setBusy(true);
    setError(null);
    try {
      await flush();
      setCreated(await shareApi.create(workflowId, { expiresInDays: days, includeVideo }));
      await reload();
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (id: string) => {
    try {
      await shareApi.revoke(id);
      if (created?.id === id) setCreated(null);
      await reload();
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure));
    }
  };

  const copy = async (url: string) => {
    try {
      await navigator.clipboard.writeText(url);
      toasts.push({ kind: 'success', title: 'Link copied', message: url });
    } catch {
      toasts.push({
        kind: 'error',
        title: 'Cannot copy',
        message: 'the browser refused the clipboard: select the link and copy it by hand',
      });
    }
  };

  // Expiries are in days and hours: a minute's tick keeps "expires in …" honest.
  const now = useNow(true, 60_000);
  return (
    <Dialog title="Share a read-only link" onClose={onClose} wide>
      <p className="muted">
        Anyone with the link sees this version of the graph and can import a copy of it. Your
        characters and uploaded files are not shared: a copy names them as missing.
      </p>
      <div className="share-dialog__form">
        <label>
          Expires after{' '}
          <select
            className="input"
            value={days}
            onChange={(event) => setDays(Number(event.target.value))}
            data-testid="share-expiry"
          >
            {EXPIRY_CHOICES.map((choice) => (
              <option key={choice} value={choice}>
                {choice === 1 ? '1 day' : `${choice} days`}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input
            type="checkbox"
            checked={includeVideo}
            onChange={(event) => setIncludeVideo(event.target.checked)}
            data-testid="share-include-video"
          />{' '}
          Include the last run&apos;s video
        </label>
        <button
          className="button button--primary"
          disabled={busy}
          onClick={() => void create()}
          data-testid="create-share"
        >
          {busy ? 'Creating…' : 'Create link'}
        </button>
      </div>
      {error && (
        <p className="share-page__error" role="alert">
          {error}
        </p>
      )}
      {created && (
        <div className="share-dialog__url">
          <input
            className="input"
            readOnly
            value={created.url}
            aria-label="Share link"
            onFocus={(event) => event.target.select()}
            data-testid="share-url"
          />
          <button className="button" onClick={() => void copy(created.url)}>
            Copy
          </button>
        </div>
      )}
      {links && links.length > 0 && (
        <ul className="share-dialog__list" aria-label="Links to this workflow">
          {links.map((link) => (
            <li
              key={link.id}
              className={`share-dialog__item${link.status === 'active' ? '' : ' is-ended'}`}
              data-testid="share-item"
            >
              <span>
                Revision {link.revision} · made {new Date(link.createdAt).toLocaleDateString()} ·{' '}
                {shareStateText(link, now)}
                {link.hasVideo ? ' · with video' : ''}
              </span>
              <span className="toolbar__grow" />
              {link.status === 'active' && (
                <button
                  className="button button--small button--danger"
                  onClick={() => void revoke(link.id)}
                  data-testid="revoke-share"
                >
                  Revoke
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </Dialog>
  );
}
