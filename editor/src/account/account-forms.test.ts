import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  PASSWORD_MAX_LENGTH as SERVER_MAX,
  PASSWORD_MIN_LENGTH as SERVER_MIN,
} from '../../../engine/auth/passwords';
import { ApiError } from '../api/http';
import {
  cliCommand,
  formatExpiry,
  formatLastUsed,
  newAccountProblem,
  newPasswordProblem,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  problemOf,
  signInProblem,
  USERNAME_PATTERN,
  usernameProblem,
  workerCommand,
} from './account-forms';

const NOW = Date.parse('2026-12-02T12:00:00Z');

describe('the rules mirror the server', () => {
  it('has the same password lengths', () => {
    expect([PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH]).toEqual([SERVER_MIN, SERVER_MAX]);
  });

  it('has the same username pattern', () => {
    const source = readFileSync(
      new URL('../../../engine/auth/account-service.ts', import.meta.url),
      'utf8',
    );
    const server = /const USERNAME_PATTERN = (\/.+\/);/.exec(source)?.[1];
    expect(server).toBe(String(USERNAME_PATTERN));
  });
});

describe('form checks', () => {
  it('names the field of the first problem of a new account', () => {
    expect(newAccountProblem({ username: '', password: '' })?.field).toBe('username');
    expect(newAccountProblem({ username: 'B', password: '' })?.field).toBe('username');
    expect(newAccountProblem({ username: '-bob', password: 'x'.repeat(10) })?.field).toBe(
      'username',
    );
    expect(newAccountProblem({ username: 'bob', password: 'short' })).toEqual({
      field: 'password',
      message: 'A password needs at least 10 characters.',
    });
    expect(
      newAccountProblem({ username: 'bob', password: 'long enough!', repeat: 'long enougH!' }),
    ).toEqual({ field: 'repeat', message: 'The two passwords differ.' });
    expect(
      newAccountProblem({ username: 'Bob', password: 'long enough!', repeat: 'long enough!' }),
    ).toBeNull();
  });

  it('takes usernames as the server does: trimmed and lower-cased', () => {
    expect(usernameProblem('  Bob.Smith ')).toBeNull();
    expect(usernameProblem('b'.repeat(41))?.field).toBe('username');
  });

  it('refuses an over-long password', () => {
    const long = 'x'.repeat(201);
    expect(newPasswordProblem(long, long)?.field).toBe('password');
    expect(newPasswordProblem('x'.repeat(12), 'y', 'password')?.field).toBe('repeat');
  });

  it('asks for both sign-in fields', () => {
    expect(signInProblem(' ', 'pw')?.field).toBe('username');
    expect(signInProblem('ada', '')?.field).toBe('password');
    expect(signInProblem('ada', 'pw')).toBeNull();
  });
});

describe('problemOf', () => {
  it('puts a wrong password on the password field without saying which part was wrong', () => {
    const problem = problemOf(new ApiError('invalid_credentials', 'no', 401));
    expect(problem.field).toBe('password');
    expect(problem.message).toMatch(/do not match an active account/);
  });

  it('says how long to wait after too many sign-ins', () => {
    const problem = problemOf(
      new ApiError('too_many_sign_ins', 'wait', 429, { retryAfterSec: 300 }),
    );
    expect(problem).toEqual({
      message: 'Too many failed sign-ins for this name from here. Try again in 5 minutes.',
    });
  });

  it('routes account errors to their fields', () => {
    expect(problemOf(new ApiError('username_taken', 'taken', 409)).field).toBe('username');
    expect(problemOf(new ApiError('weak_password', 'needs 10', 400))).toEqual({
      field: 'password',
      message: 'needs 10',
    });
  });

  it('keeps the server message and code of anything else', () => {
    expect(problemOf(new ApiError('last_admin', 'ada is the last enabled admin', 409))).toEqual({
      message: 'ada is the last enabled admin (last_admin)',
    });
    expect(problemOf(new Error('boom'))).toEqual({ message: 'boom' });
  });
});

describe('texts', () => {
  it('formats expiries', () => {
    expect(formatExpiry('2026-12-05T12:00:00Z', NOW)).toBe('in 3 days');
    expect(formatExpiry('2026-12-02T17:00:00Z', NOW)).toBe('in 5 hours');
    expect(formatExpiry('2026-12-02T12:01:00Z', NOW)).toBe('in 1 minute');
    expect(formatExpiry('2026-12-01T12:00:00Z', NOW)).toBe('expired');
    expect(formatExpiry('not a date', NOW)).toBe('unknown');
  });

  it('formats last use', () => {
    expect(formatLastUsed(undefined, NOW)).toBe('never');
    expect(formatLastUsed('2026-12-02T11:59:30Z', NOW)).toBe('just now');
    expect(formatLastUsed('2026-12-02T09:00:00Z', NOW)).toBe('3 hours ago');
    expect(formatLastUsed('2026-11-20T12:00:00Z', NOW)).toBe('12 days ago');
  });

  it('writes the command the CLI runs with a personal token', () => {
    expect(cliCommand('http://127.0.0.1:8080', 'clab_pat_a_b')).toBe(
      'LAB_TOKEN=clab_pat_a_b npx charlab run graph.json --server http://127.0.0.1:8080',
    );
  });

  it('writes the command a remote worker runs with its token', () => {
    expect(workerCommand('https://lab.example', 'clab_wrk_a_b')).toBe(
      'LAB_SERVER_URL=https://lab.example LAB_WORKER_TOKEN=clab_wrk_a_b npx charlab worker --queues lab-cpu,lab-gpu,lab-io',
    );
  });
});
