/**
 * Every failure leaves the API as `{ error: { code, message, details? } }` with a 4xx/5xx
 * status. LabError carries its own code and status; zod, Fastify and multipart errors are
 * translated here so a client branches on stable codes only.
 */
import { z } from 'zod';
import { LabError } from '../errors';
import { GraphInvalid } from '../graph/problems';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export interface HttpError {
  status: number;
  body: ErrorBody;
}

/**
 * Limits shown in messages, so a rejected client knows the number to stay under: the ones of
 * the route that refused the request (a character image has a smaller limit than an artifact).
 */
export interface ErrorLimits {
  bodyBytes: number;
  uploadBytes: number;
}

/**
 * busboy (under @fastify/multipart) reports a malformed form as a bare Error with no code; these
 * are its messages (@fastify/busboy 3: lib/types/multipart.js, deps/dicer/lib/Dicer.js). The
 * client sent a broken body, so they are 400s, not server failures.
 */
const MULTIPART_ERRORS =
  /^Multipart: Boundary not found$|unexpected end of multipart data$|^Malformed part header$|^Unexpected end of form$/i;

/** Maps any thrown value to a status and an error body. */
export function toHttpError(error: unknown, limits: ErrorLimits): HttpError {
  if (error instanceof LabError || error instanceof GraphInvalid) {
    return reply(error.status, error.code, error.message, error.details);
  }
  if (error instanceof z.ZodError) {
    return reply(
      400,
      'invalid_request',
      `the request is not valid: ${describeIssues(error.issues)}; fix the fields listed in details.issues`,
      { issues: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    );
  }
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return reply(
        400,
        'invalid_json',
        'the request body is not valid JSON: send a JSON document with Content-Type: application/json',
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return reply(
        413,
        'payload_too_large',
        `the request body is over the ${formatBytes(limits.bodyBytes)} limit: send a smaller document`,
      );
    case 'FST_REQ_FILE_TOO_LARGE':
      return reply(
        413,
        'payload_too_large',
        `an uploaded file is over the ${formatBytes(limits.uploadBytes)} limit: upload a smaller file`,
      );
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return reply(413, 'payload_too_large', 'the upload has too many files or fields: send fewer');
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return reply(
        400,
        'invalid_request',
        'this endpoint takes multipart/form-data: send the file as a form field',
      );
    case 'FST_PROTO_VIOLATION':
      return reply(400, 'invalid_request', 'a form field name is not allowed: rename it');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return reply(
        415,
        'unsupported_media_type',
        'this Content-Type is not accepted here: send application/json (or multipart/form-data for uploads)',
      );
    case 'FST_ERR_BAD_URL':
      return reply(
        400,
        'invalid_url',
        'the request path is not valid (it holds a malformed %-escape): fix the URL',
      );
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return reply(400, 'invalid_request', 'the Content-Length header does not match the body');
    // A store's pages no longer add up: say so (and where to look) instead of a bare 500.
    case 'SQLITE_CORRUPT':
    case 'SQLITE_CORRUPT_INDEX':
    case 'SQLITE_NOTADB':
      return reply(
        503,
        'store_damaged',
        'a database file of the server is damaged, so this request could not be answered: ' +
          'GET /api/health names the file; the operator restores it from a backup',
      );
  }
  if (error instanceof Error && code === undefined && MULTIPART_ERRORS.test(error.message)) {
    return reply(
      400,
      'invalid_multipart',
      `the multipart form is malformed (${error.message.toLowerCase()}): send the whole form, as multipart/form-data with its boundary`,
    );
  }
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = error instanceof Error ? error.message : String(error);
    return reply(status, 'invalid_request', message);
  }
  return reply(
    500,
    'internal_error',
    'the server failed while handling this request: retry, and if it keeps failing check the server log',
  );
}

function reply(status: number, code: string, message: string, details?: unknown): HttpError {
  return {
    status,
    body: { error: { code, message, ...(details === undefined ? {} : { details }) } },
  };
}

function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ');
  return issues.length > 3 ? `${shown}; and ${issues.length - 3} more` : shown;
}

/** `1000000` → `1 MB`; binary sizes read badly in messages. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1_000_000) return `${Math.round(bytes / 100_000) / 10} MB`;
  if (bytes >= 1_000) return `${Math.round(bytes / 100) / 10} kB`;
  return `${bytes} bytes`;
}
