/**
 * The workflow's report activity and the server's refusals: a refusal that can never change
 * (the run ended, or is gone) must not fail the activity, whose retries have no limit and would
 * keep the workflow from closing; a refusal that heals, and any transient error, must.
 */
import { describe, expect, it } from 'vitest';
import type { RunEventInput } from '../runs/events';
import { RefusedEventsError, type ProgressSink } from './progress-sink';
import { createReportActivities } from './report-activities';

const batch: RunEventInput[] = [
  { key: 'wf:9:run.completed::', runId: 'run-1', type: 'run.completed', at: 't' },
];

function refusingSink(error: unknown): ProgressSink {
  return {
    post() {},
    send: () => Promise.reject(error),
    close: () => Promise.resolve(),
  };
}

describe('reportEvents', () => {
  it('resolves when the server closed the run for good (a resend after the run ended)', async () => {
    for (const code of ['run_finished', 'run_not_found'] as const) {
      const { reportEvents } = createReportActivities(
        refusingSink(new RefusedEventsError(`server refused run events: ${code}: …`, code)),
      );
      await expect(reportEvents(batch)).resolves.toBeUndefined();
    }
  });

  it('fails (and is retried) when the refusal may heal or the error is transient', async () => {
    for (const error of [
      new RefusedEventsError(
        'server refused run events: run_not_dispatched: …',
        'run_not_dispatched',
      ),
      new RefusedEventsError('server refused run events: invalid_events: …', 'invalid_events'),
      new Error('server refused run events: store_failed: disk full'),
    ]) {
      const { reportEvents } = createReportActivities(refusingSink(error));
      await expect(reportEvents(batch)).rejects.toBe(error);
    }
  });
});
