/**
 * Keeps the studio's run store in step with one run: the HTTP snapshot at once (fast first
 * paint), then Socket.IO `run:watch` with `sinceSeq`, re-sent from the folded seq after every
 * reconnect. Reloading the page or opening the run's URL in a second tab lands here too.
 */
import { useEffect, useState } from 'react';
import { api } from '../api/client';
import { watchRun } from '../api/run-socket';
import type { RunState } from '../canvas/studio-context';
import type { Store } from '../ui/store';
import { createFeed, feedEvent, feedSnapshot, resumeSeq } from './run-feed';

export function useRunWatch(
  runId: string | undefined,
  store: Store<RunState>,
  onError: (message: string) => void,
): { connected: boolean } {
  const [connected, setConnected] = useState(true);
  useEffect(() => {
    if (!runId) {
      store.set({ feed: null });
      return;
    }
    store.set({ feed: createFeed(runId) });
    const current = () => store.get().feed ?? createFeed(runId);
    let alive = true;
    api.getRun(runId).then(
      (snapshot) => alive && store.set({ feed: feedSnapshot(current(), snapshot) }),
      (error: unknown) => alive && onError(error instanceof Error ? error.message : String(error)),
    );
    // The first watch asks for every stored event (the log starts at "run started");
    // a re-watch after a reconnect asks only for what the folded snapshot has not seen.
    let watched = false;
    const resumeFrom = () => {
      const from = watched ? resumeSeq(current()) : 0;
      watched = true;
      return from;
    };
    const stop = watchRun(runId, resumeFrom, {
      snapshot: (snapshot) => store.set({ feed: feedSnapshot(current(), snapshot) }),
      event: (event) => store.set({ feed: feedEvent(current(), event) }),
      error: onError,
      connection: setConnected,
    });
    return () => {
      alive = false;
      stop();
    };
    // onError is a toast helper; re-watching when it changes identity would replay the run.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [runId, store]);
  return { connected };
}
