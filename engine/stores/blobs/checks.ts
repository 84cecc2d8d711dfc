/**
 * What every BlobStore adapter checks and answers the same way: artifact ids, HTTP byte
 * ranges, a missing blob. Ids reach a file name or an object key only after checkId.
 */
import { access } from 'node:fs/promises';
import { LabError } from '../../errors';
import { artifactIdSchema } from '../../graph/values';

/** Only a sha256 in lower-case hex becomes a file name or an object key. */
export function checkId(id: string): void {
  if (!artifactIdSchema.safeParse(id).success) {
    throw new LabError(
      'invalid_artifact_id',
      `"${String(id).slice(0, 80)}" is not an artifact id; ids are 64 lower-case hex characters (a sha256)`,
      400,
    );
  }
}

/** HTTP semantics: an end past the last byte is clamped; a start past it is unsatisfiable. */
export function checkRange(
  range: { start: number; end: number },
  size: number,
): { start: number; end: number } {
  const { start, end } = range;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
    throw new LabError(
      'invalid_range',
      `byte range ${String(start)}-${String(end)} is invalid; use whole numbers with 0 ≤ start ≤ end`,
      416,
    );
  }
  if (start >= size) {
    throw new LabError(
      'range_not_satisfiable',
      `byte range starts at ${start} but the artifact has ${size} bytes; request a start below ${size}`,
      416,
      { size },
    );
  }
  return { start, end: Math.min(end, size - 1) };
}

export function missing(sha256: string): LabError {
  return new LabError(
    'artifact_not_found',
    `artifact "${sha256}" is not in the blob store; upload it again or re-run the node that made it`,
    404,
  );
}

/** Whether a local file exists (and is accessible). */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether a Node.js error carries this errno code. */
export function isErrno(error: unknown, code: string): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === code;
}
