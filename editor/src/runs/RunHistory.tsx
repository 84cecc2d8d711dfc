/** Past runs of the workflow: status, when, how long, and the final video; click to open. */
import { useEffect, useState } from 'react';
import { useNow } from '../ui/useNow';
import { api } from '../api/client';
import type { RunSummary } from '../api/types';
import { useToasts } from '../ui/toasts';
import { finalVideo, formatDuration, runDuration } from './run-view';
import './RunHistory.css';

/** How many recent runs get their snapshot read for a video thumbnail. */
const VIDEO_LOOKUPS = 12;

export interface RunHistoryProps {
  workflowId: string | null;
  activeRunId?: string;
  /** Changes when a run starts or ends, so the list refreshes. */
  refreshKey: string;
  onOpen(runId: string): void;
}

export function RunHistory({ workflowId, activeRunId, refreshKey, onOpen }: RunHistoryProps) {
  const toasts = useToasts();
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const now = useNow(false);

  useEffect(() => {
    if (!workflowId) return;
    let alive = true;
    const load = async () => {
      const list = await api.listRuns({ workflowId, limit: 50 });
      // Finished runs list their outputs; a run that ended without them in the list (an older
      // server) has its snapshot read for the video.
      return Promise.all(
        list.map((run, index) =>
          index < VIDEO_LOOKUPS && run.status === 'succeeded' && !finalVideoOf(run)
            ? api.getRun(run.id).then(
                (snapshot) => ({ ...run, video: finalVideo(snapshot) }),
                () => run,
              )
            : run,
        ),
      );
    };
    load().then(
      (list) => alive && setRuns(list),
      (error: unknown) => {
        if (!alive) return;
        toasts.error(error, 'Could not load the run history');
        setRuns([]);
      },
    );
    return () => {
      alive = false;
    };
  }, [workflowId, toasts, refreshKey]);

  if (!workflowId)
    return <p className="empty-hint">Runs of this workflow show here once it is saved and run.</p>;
  if (runs === null) return <p className="empty-hint">Loading runs…</p>;
  if (runs.length === 0)
    return <p className="empty-hint">No runs yet. Press Run to make the first one.</p>;
  return (
    <ul className="run-history" data-testid="run-history">
      {runs.map((run) => {
        const video = run.video ?? finalVideoOf(run);
        return (
          <li key={run.id} className={run.id === activeRunId ? 'is-active' : undefined}>
            <button className="run-history__item" onClick={() => onOpen(run.id)}>
              {video ? (
                <video
                  className="run-history__thumb"
                  src={api.artifactUrl(video.id)}
                  preload="metadata"
                  muted
                />
              ) : (
                <span className="run-history__thumb run-history__thumb--empty" aria-hidden />
              )}
              <span className="run-history__text">
                <span className={`status-chip status-chip--${run.status}`}>{run.status}</span>
                <span>{run.createdAt ? new Date(run.createdAt).toLocaleString() : run.id}</span>
                <span className="muted">
                  {formatDuration(runDuration(run, now))}
                  {run.parentRunId ? ' · re-run' : ''}
                </span>
                {run.error && <span className="run-history__error">{run.error}</span>}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}

/** The final video named by a run summary's outputs, if any. */
function finalVideoOf(run: RunSummary) {
  return finalVideo({ runId: run.id, status: run.status, seq: 0, nodes: {}, outputs: run.outputs });
}
