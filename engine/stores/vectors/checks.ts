/**
 * What every VectorStore adapter refuses, and how it says so: the same requests fail the same
 * way on SQLite and on Qdrant, so a caller never learns which one it talks to.
 */
import { LabError } from '../../errors';

/** Collection names and ids are non-empty strings of at most 256 characters. */
export function checkName(what: 'collection' | 'id', value: string): void {
  if (typeof value !== 'string' || value === '' || value.length > 256) {
    throw new LabError(
      'invalid_vector_request',
      `a vector ${what} must be a non-empty string of at most 256 characters`,
    );
  }
}

/**
 * The vector as 32-bit floats (what both stores keep), refusing an empty one, one that is not
 * finite as Float32, and the zero vector (no direction to compare).
 */
export function checkVector(vector: number[], role: 'stored' | 'query'): Float32Array {
  if (!Array.isArray(vector) || vector.length === 0) {
    throw new LabError('invalid_vector', `the ${role} vector must be a non-empty array of numbers`);
  }
  const floats = vector.every((x) => typeof x === 'number') ? Float32Array.from(vector) : null;
  // Checked after the Float32 conversion: 1e39 is a finite double but an infinite float.
  if (!floats?.every((x) => Number.isFinite(x))) {
    throw new LabError(
      'invalid_vector',
      `the ${role} vector holds a value that is not a finite 32-bit float; check the embedding model's output`,
    );
  }
  if (floats.every((x) => x === 0)) {
    throw new LabError(
      'invalid_vector',
      `the ${role} vector is all zeros, which has no direction to compare; check the embedding model's output`,
    );
  }
  return floats;
}

export function dimensionMismatch(collection: string, expected: number, got: number): LabError {
  return new LabError(
    'vector_dimension_mismatch',
    `collection "${collection}" holds ${expected}-dimensional vectors but got ${got}; ` +
      'embed with the same model as the collection, or use a new collection name',
    400,
    { collection, expected, got },
  );
}
