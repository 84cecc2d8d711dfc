/**
 * The workflow revision rules every DocumentStore adapter shares: how a record stored before
 * revisions existed reads, and what a conditional save must be handed.
 */
import { LabError } from '../../errors';
import type { WorkflowRecord } from '../ports';

/** The record with its revision, 0 when it was stored before revisions existed. */
export function withRevision(record: WorkflowRecord): WorkflowRecord {
  return typeof record.revision === 'number' ? record : { ...record, revision: 0 };
}

/** Throws unless `record.revision` is the one after `expectedRevision`. */
export function requireNextRevision(record: WorkflowRecord, expectedRevision: number): void {
  if (!Number.isInteger(expectedRevision) || expectedRevision < 0) {
    throw new LabError(
      'invalid_record',
      `the expected revision of workflow ${record?.id} must be a whole number ≥ 0, ` +
        `got ${String(expectedRevision)}`,
    );
  }
  if (record?.revision !== expectedRevision + 1) {
    throw new LabError(
      'invalid_record',
      `a conditional save of workflow ${record?.id} from revision ${expectedRevision} must ` +
        `carry revision ${expectedRevision + 1}, got ${String(record?.revision)}; set ` +
        'record.revision = expectedRevision + 1',
    );
  }
}
