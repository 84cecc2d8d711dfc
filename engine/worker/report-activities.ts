/**
 * The activity the interpreter workflow uses to report its own events (node lifecycle, run
 * status). It runs on any CPU worker and goes through that worker's ProgressSink, so events
 * take the same path as activity progress and retry until the server has them.
 */
import type { RunEventInput } from '../runs/events';
import type { ProgressSink } from './progress-sink';

export interface ReportActivities {
  reportEvents(events: RunEventInput[]): Promise<void>;
}

export function createReportActivities(sink: ProgressSink): ReportActivities {
  return {
    async reportEvents(events) {
      await sink.send(events);
    },
  };
}
