/**
 * The activity the interpreter workflow uses to report its own events (node lifecycle, run
 * status). Registered both as a local activity on the workflow worker (how current runs call
 * it: a few ms per batch instead of a task-queue round trip) and as a regular activity on CPU
 * workers (runs started by older interpreters still schedule it there). Either way it goes
 * through that worker's ProgressSink and resolves once every event of the batch is stored.
 */
import type { RunEventInput } from '../runs/events';
import { RefusedEventsError, type ProgressSink } from './progress-sink';

export interface ReportActivities {
  reportEvents(events: RunEventInput[]): Promise<void>;
}

export function createReportActivities(sink: ProgressSink): ReportActivities {
  return {
    async reportEvents(events) {
      // A timed-out attempt leaves its events queued in the sink; the retry's copies share
      // their keys, so they are queued (and stored) once.
      try {
        await sink.send(events);
      } catch (error) {
        // Closed for good: the run ended (e.g. this is the resend of a batch whose ack was lost
        // after it ended the run) or is gone. Failing would retry this activity forever and
        // keep the workflow from closing. run_not_dispatched is not among them: it heals once
        // Temporal's history shows this worker's current workflow task.
        if (
          error instanceof RefusedEventsError &&
          (error.code === 'run_finished' || error.code === 'run_not_found')
        ) {
          return;
        }
        throw error;
      }
    },
  };
}
