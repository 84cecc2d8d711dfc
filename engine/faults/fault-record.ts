/**
 * The fault tests' measurements, for the fault table in SECURITY.md. Each fault test calls
 * recordFault() once per scenario with what it observed; when FAULT_REPORT names a file (set by
 * `npm run test:faults`), the row is appended there as one JSON line and
 * engine/faults/fault-table.ts renders the table from it. Without FAULT_REPORT it does nothing,
 * so the tests stay free of side effects in a plain `npm test`.
 */
import { appendFileSync } from 'node:fs';

export interface FaultRow {
  /** What was done, e.g. "kill -9 of the Temporal dev server mid-frames". */
  fault: string;
  /** Runs that completed correctly after the fault / runs exposed to it. */
  survived: number;
  total: number;
  /** Lifecycle events missing from, or duplicated in, the stored sequence. */
  eventsLost: number;
  /** Items (fan-out shots, nodes) whose provider work ran more than once. */
  itemsRedone: number;
  /** From the fault (or the restart) to the run moving again, in ms; omitted when not timed. */
  recoverMs?: number;
  /** The test file that measured it. */
  test: string;
}

export function recordFault(row: FaultRow): void {
  const file = process.env.FAULT_REPORT;
  if (!file) return;
  appendFileSync(file, `${JSON.stringify(row)}\n`);
}
