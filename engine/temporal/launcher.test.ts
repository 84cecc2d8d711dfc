import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  findTemporalCli,
  launchTemporal,
  TemporalNotFoundError,
  waitForTemporal,
} from './launcher';

describe('findTemporalCli', () => {
  it('names all three ways to get Temporal when there is no binary', () => {
    const env = {
      PATH: '/nonexistent',
      TEMPORAL_CLI_PATH: '/nonexistent/temporal',
      HOME: '/nonexistent',
    };
    let error: unknown;
    try {
      findTemporalCli(env, '/nonexistent');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TemporalNotFoundError);
    const message = (error as Error).message;
    expect(message).toContain('TEMPORAL_ADDRESS');
    expect(message).toContain('TEMPORAL_CLI_PATH=/nonexistent/temporal (missing)');
    expect(message).toContain('PATH');
    expect(message).toContain('temporal-sdk-typescript');
  });

  it('prefers TEMPORAL_CLI_PATH when it exists', () => {
    expect(findTemporalCli({ TEMPORAL_CLI_PATH: process.execPath, PATH: '' })).toBe(
      process.execPath,
    );
  });
});

describe.skipIf(!process.env.TEMPORAL_TEST_ADDRESS)('launchTemporal', () => {
  it('uses TEMPORAL_ADDRESS when set, without starting anything', async () => {
    const server = await launchTemporal({
      env: { ...process.env, TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS },
    });
    expect(server.process).toBeUndefined();
    expect(server.address).toBe(process.env.TEMPORAL_TEST_ADDRESS);
  });

  it('starts a dev server with its state in the data dir, and stops it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'charlab-temporal-'));
    const dbFilename = join(dir, 'temporal.db');
    const server = await launchTemporal({
      env: { ...process.env, TEMPORAL_ADDRESS: '' },
      dbFilename,
    });
    try {
      expect(server.process?.pid).toBeGreaterThan(0);
      await waitForTemporal(server.address, 5_000);
      expect(existsSync(dbFilename)).toBe(true);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
    expect(server.process?.exitCode !== null || server.process?.signalCode !== null).toBe(true);
  });
});
