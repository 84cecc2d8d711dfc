/**
 * One error type for everything a user can get wrong. `code` is stable (clients branch on
 * it), `message` says what happened and what to do next, `status` is the HTTP status.
 */
export class LabError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'LabError';
  }
}

export function notFound(what: string, id: string): LabError {
  return new LabError(
    `${what}_not_found`,
    `${what.replace(/_/g, ' ')} "${id}" does not exist`,
    404,
  );
}
