/**
 * The activity the interpreter workflow uses to report its own events (node lifecycle, run
 * status). Registered both as a local activity on the workflow worker (how current runs call
 * it: a few ms per batch instead of a task-queue round trip) and as a regular activity on CPU
 * workers (runs started by older interpreters still schedule it there). Either way it goes
 * through that worker's ProgressSink and resolves once every event of the batch is stored.
 */
import type { RunEventInput } from '../runs/events';
import type { ProgressSink } from './progress-sink';

export interface ReportActivities {
  reportEvents(events: RunEventInput[]): Promise<void>;
}

export function createReportActivities(sink: ProgressSink): ReportActivities {
  return {
    async reportEvents(events) {
      // A timed-out attempt leaves its events queued in the sink; the retry's copies share
      // their keys, so they are queued (and stored) once.
      await sink.send(events);
    },
  };
}
