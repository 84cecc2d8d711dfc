/**
 * Request checks every store adapter makes the same way, so a bad query or record fails with
 * the same code and words whichever adapter (SQLite, MongoDB, Qdrant) is behind the port.
 */
import { LabError } from '../errors';

/** Top-level field names usable in `where` and `orderByDesc`. */
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A result limit: a whole number ≥ 0. */
export function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 0) {
    throw new LabError('invalid_query', `limit must be a whole number ≥ 0, got ${String(limit)}`);
  }
}

/** A record to store needs a non-empty string id. */
export function checkRecordId(record: { id?: unknown } | undefined, collection: string): void {
  if (typeof record?.id !== 'string' || record.id === '') {
    throw new LabError(
      'invalid_record',
      `a record for ${collection} needs a non-empty string id; set record.id before saving`,
    );
  }
}

/** A field a query names: letters, digits and _, so it cannot break out of a path. */
export function checkFieldName(field: string, collection: string): void {
  if (!FIELD_NAME.test(field)) {
    throw new LabError(
      'invalid_query',
      `"${field}" is not a top-level field name of ${collection}; use letters, digits and _`,
    );
  }
}

/** The error for a `where` value that is not a string, number, boolean or null. */
export function unmatchableValue(field: string, value: unknown, collection: string): LabError {
  return new LabError(
    'invalid_query',
    `where.${field} is ${Array.isArray(value) ? 'an array' : 'an object'}; ` +
      `only strings, numbers, booleans and null can be matched in ${collection}`,
  );
}
