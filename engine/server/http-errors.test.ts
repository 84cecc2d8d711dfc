import { describe, expect, it } from 'vitest';
import { toHttpError } from './http-errors';

const limits = { bodyBytes: 1024, uploadBytes: 2048 };

describe('toHttpError', () => {
  it('answers a damaged database with 503 store_damaged, pointing at health, without a path', () => {
    for (const code of ['SQLITE_CORRUPT', 'SQLITE_NOTADB']) {
      const error = Object.assign(new Error('database disk image is malformed'), { code });
      const { status, body } = toHttpError(error, limits);
      expect(status).toBe(503);
      expect(body.error.code).toBe('store_damaged');
      expect(body.error.message).toContain('GET /api/health');
    }
  });
});
