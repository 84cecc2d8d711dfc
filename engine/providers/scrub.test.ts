import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { NonRetryableNodeError } from '../worker/node-api';
import {
  bodyExcerpt,
  createScrub,
  REDACTED,
  registerSecrets,
  scrubDeep,
  scrubError,
  scrubOptionsOf,
  scrubRegistered,
} from './scrub';

const OPENAI_KEY = 'sk-test-0123456789abcdefABCDEF';
const RUNWAY_KEY = 'key_4f1c2e9a8b7d6c5e4f3a2b1c0d9e8f7a';

describe('createScrub', () => {
  it('blanks configured secrets exactly, also URL-encoded', () => {
    const odd = 'pa ss/wörd+123456';
    const scrub = createScrub({ secrets: [odd] });
    expect(scrub(`a ${odd} b ${encodeURIComponent(odd)} c`)).toBe(`a ${REDACTED} b ${REDACTED} c`);
  });

  it('ignores secrets too short to blank safely', () => {
    expect(createScrub({ secrets: ['k'] })('keep this')).toBe('keep this');
  });

  it.each([
    ['Authorization: Bearer abcdefghijklmnop', 'Authorization: Bearer [redacted]'],
    ['{"authorization":"Basic dXNlcjpwYXNzd29yZA=="}', '{"authorization":"Basic [redacted]"}'],
    [`got key ${OPENAI_KEY}.`, 'got key [redacted].'],
    ['sk-proj-AbCdEf0123456789_xyz', REDACTED],
    [`runway key ${RUNWAY_KEY}`, 'runway key [redacted]'],
    [
      'GET https://api.example/v1?key=AIzaSyA-123456&alt=json',
      'GET https://api.example/v1?key=[redacted]&alt=json',
    ],
    ['/x?api_key=abcdef123456', '/x?api_key=[redacted]'],
    ['{"api_key": "abcdef123456", "n": 1}', '{"api_key": "[redacted]", "n": 1}'],
    ['X-Api-Key: 0123456789', 'X-Api-Key: [redacted]'],
    ['mongodb://admin:hunter22@db:27017/charlab', 'mongodb://[redacted]@db:27017/charlab'],
    ['https://user@example.com/a', 'https://[redacted]@example.com/a'],
  ])('blanks the credential shape in %s', (input, expected) => {
    expect(createScrub()(input)).toBe(expected);
  });

  it('leaves ordinary text alone', () => {
    const text =
      'sd_timeout: POST /sdapi/v1/txt2img took 120 s; max_tokens: 4000; see https://platform.openai.com/docs';
    expect(createScrub()(text)).toBe(text);
  });

  it('replaces a configured service URL, its origin and host:port by the service name', () => {
    const scrub = createScrub(
      scrubOptionsOf({ services: { a1111: { url: 'http://10.1.2.3:7860/' } } }),
    );
    expect(scrub('cannot reach http://10.1.2.3:7860 (connect ECONNREFUSED 10.1.2.3:7860)')).toBe(
      'cannot reach the A1111 server (SD_API_URL) (connect ECONNREFUSED the A1111 server (SD_API_URL))',
    );
  });
});

describe('scrubError', () => {
  it('scrubs message, stack and cause, and drops raw bodies and headers', () => {
    const scrub = createScrub({ secrets: [OPENAI_KEY] });
    const cause = new Error(`socket said ${OPENAI_KEY}`);
    const error = Object.assign(new Error(`401 Incorrect API key provided: ${OPENAI_KEY}`), {
      cause,
      error: { message: OPENAI_KEY },
      headers: { authorization: `Bearer ${OPENAI_KEY}` },
      status: 401,
    });
    const scrubbed = scrubError(error, scrub);
    expect(scrubbed).toBe(error);
    expect(JSON.stringify({ ...scrubbed, m: scrubbed.message, s: scrubbed.stack })).not.toContain(
      OPENAI_KEY,
    );
    expect(String((scrubbed.cause as Error).message)).toBe(`socket said ${REDACTED}`);
    expect(scrubbed).not.toHaveProperty('headers');
    expect(scrubbed).not.toHaveProperty('error');
    expect(scrubbed.status).toBe(401);
  });

  it('keeps the class of node errors and Temporal failures', () => {
    const scrub = createScrub({ secrets: [OPENAI_KEY] });
    const node = scrubError(new NonRetryableNodeError(`bad ${OPENAI_KEY}`, 'x'), scrub);
    expect(node).toBeInstanceOf(NonRetryableNodeError);
    expect(node.message).toBe(`bad ${REDACTED}`);
    const failure = scrubError(
      ApplicationFailure.nonRetryable(`bad ${OPENAI_KEY}`, 'T', { echoed: OPENAI_KEY }),
      scrub,
    );
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(`bad ${REDACTED}`);
    expect(failure.details).toEqual([{ echoed: REDACTED }]);
  });
});

describe('scrubDeep and bodyExcerpt', () => {
  it('scrubs nested strings without changing the input', () => {
    const input = { a: [`Bearer ${OPENAI_KEY}`], n: 1, at: new Date(0) };
    const out = scrubDeep(input, createScrub());
    expect(out).toEqual({ a: ['Bearer [redacted]'], n: 1, at: new Date(0) });
    expect(input.a[0]).toContain(OPENAI_KEY);
  });

  it('keeps a short scrubbed excerpt of a body', () => {
    const body = `{"error":"bad key ${OPENAI_KEY}"}` + ' padding'.repeat(100);
    const excerpt = bodyExcerpt(body, createScrub(), 60);
    expect(excerpt).not.toContain(OPENAI_KEY);
    expect(excerpt.length).toBeLessThanOrEqual(61);
  });
});

describe('registered secrets', () => {
  it('scrubs what a worker registered, for the process-wide runtime logger', () => {
    const secret = 'registered-secret-value-42';
    expect(scrubRegistered(`x ${secret}`)).toContain(secret);
    registerSecrets({ secrets: [secret] });
    expect(scrubRegistered(`x ${secret}`)).toBe(`x ${REDACTED}`);
  });
});
