/**
 * The run panel: overall status and progress, Cancel, the final video in a player, each
 * node's status and elapsed time, and the event log as it streams in.
 */
import { useEffect, useMemo, useRef } from 'react';
import { isTerminalRunStatus } from '../../../engine/runs/events';
import { api } from '../api/client';
import type { RunState } from '../canvas/studio-context';
import { useStudio } from '../canvas/studio-context';
import { useStore } from '../ui/store';
import { useNow } from '../ui/useNow';
import { consistencySummary, frameConsistency, scoreBadges } from './consistency-view';
import { runCharacterId, useIdentityVersion } from './useIdentityVersion';
import {
  NODE_STATUS_LABEL,
  describeEvent,
  elapsedMs,
  fanOutCount,
  finalVideo,
  formatDuration,
  runProgress,
} from './run-view';
import './RunPanel.css';

export interface RunPanelProps {
  /** Node titles (label, else type title) by id, for the table and the log. */
  titles: ReadonlyMap<string, string>;
  connected: boolean;
  onCancel(): void;
  onClose(): void;
  onSelectNode(nodeId: string): void;
}

const selectFeed = (s: RunState) => s.feed;

export function RunPanel({ titles, connected, onCancel, onClose, onSelectNode }: RunPanelProps) {
  const { run } = useStudio();
  const feed = useStore(run, selectFeed);
  const snapshot = feed?.snapshot ?? null;
  const active = !!snapshot && !isTerminalRunStatus(snapshot.status);
  const now = useNow(active);
  const logRef = useRef<HTMLOListElement>(null);
  const video = useMemo(() => finalVideo(snapshot), [snapshot]);
  const identityVersion = useIdentityVersion(runCharacterId(snapshot));
  // Frames nodes with a consistency gate: their per-shot scores, for the summary.
  const gated = useMemo(
    () =>
      Object.entries(snapshot?.nodes ?? {}).flatMap(([id, node]) => {
        const list = frameConsistency(node.outputs);
        return list ? [{ id, list }] : [];
      }),
    [snapshot],
  );
  const title = (id: string) => titles.get(id) ?? id;
  const logLength = feed?.log.length ?? 0;

  useEffect(() => {
    const log = logRef.current;
    // Follow the log only when the reader is already at its end.
    if (log && log.scrollHeight - log.scrollTop - log.clientHeight < 80)
      log.scrollTop = log.scrollHeight;
  }, [logLength]);

  if (!feed) {
    return (
      <div className="run-panel empty-hint">
        <p>
          No run yet. Press <strong>Run</strong> (Ctrl/Cmd+Enter) to start one; progress shows here
          and on the nodes.
        </p>
      </div>
    );
  }
  const nodeEntries = Object.entries(snapshot?.nodes ?? {});
  return (
    <div className="run-panel" data-testid="run-panel">
      <header className="run-panel__header">
        <div>
          <h2>
            Run <code>{feed.runId.slice(-8)}</code>{' '}
            <span
              className={`status-chip status-chip--${snapshot?.status ?? 'queued'}`}
              data-testid="run-status"
            >
              {snapshot?.status ?? 'connecting'}
            </span>
          </h2>
          <p className="muted">
            {formatDuration(
              snapshot
                ? elapsedMs({ startedAt: snapshot.startedAt, endedAt: snapshot.endedAt }, now)
                : undefined,
            )}
            {!connected && ' · reconnecting…'}
          </p>
        </div>
        <div className="run-panel__buttons">
          {active && (
            <button className="button button--danger" onClick={onCancel}>
              Cancel
            </button>
          )}
          <button
            className="icon-button"
            aria-label="Close the run view"
            title="Stop showing this run"
            onClick={onClose}
          >
            ×
          </button>
        </div>
      </header>
      <div className="progress progress--large" aria-label="Run progress">
        <div
          className="progress__bar"
          style={{ width: `${Math.round(runProgress(snapshot) * 100)}%` }}
        />
      </div>
      {snapshot?.error && <p className="graph-node__error">{snapshot.error}</p>}
      {video && (
        <section className="run-panel__video">
          <video
            src={api.artifactUrl(video.id)}
            controls
            preload="metadata"
            data-testid="final-video"
            aria-label="Final video"
          />
          <a className="link" href={api.artifactUrl(video.id)} download={`run-${feed.runId}.mp4`}>
            Download MP4
          </a>
        </section>
      )}
      <table className="run-nodes">
        <thead>
          <tr>
            <th>Node</th>
            <th>Status</th>
            <th>Items</th>
            <th>Time</th>
          </tr>
        </thead>
        <tbody>
          {nodeEntries.map(([id, node]) => (
            <tr key={id} onClick={() => onSelectNode(id)} data-testid={`run-node-${id}`}>
              <td>{title(id)}</td>
              <td>
                <span className={`status-chip status-chip--${node.status}`}>
                  {NODE_STATUS_LABEL[node.status]}
                </span>
              </td>
              <td>{fanOutCount(node) ?? ''}</td>
              <td>{formatDuration(elapsedMs(node, now))}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {gated.map(({ id, list }) => (
        <section key={id} className="run-consistency" data-testid={`run-consistency-${id}`}>
          <h3>Consistency · {title(id)}</h3>
          <p className="muted">{consistencySummary(list)}</p>
          <ol>
            {scoreBadges(list, identityVersion).map((badge, index) => (
              <li key={index} className={badge ? `run-consistency--${badge.tone}` : ''}>
                {badge?.title ?? `Shot ${index + 1}: no score`}
              </li>
            ))}
          </ol>
        </section>
      ))}
      <h3>Events</h3>
      <ol className="event-log" ref={logRef} data-testid="event-log">
        {feed.log.map((event) => (
          <li key={event.seq} className={`event event--${event.type.replace('.', '-')}`}>
            <span className="event__seq">{event.seq}</span>
            <time className="event__time">{event.at.slice(11, 19)}</time>
            <span>{describeEvent(event, title)}</span>
          </li>
        ))}
        {feed.log.length === 0 && <li className="muted">Waiting for the first event…</li>}
      </ol>
    </div>
  );
}
