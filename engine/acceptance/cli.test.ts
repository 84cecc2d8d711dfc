/**
 * Issue "engine backbone", must-show: `charlab run` runs the character-short template
 * embedded (its own engine and worker in the CLI process) to an MP4, printing live progress,
 * and exits 0; `charlab validate` lists every problem of a broken graph and exits 1.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalUnavailable, testEnv } from '../testing/engine-harness';
import { FAST_CHARACTER_SHORT, ffprobeVideo } from '../testing/server-harness';

const BIN = fileURLToPath(new URL('../cli/bin.mjs', import.meta.url));
const TEMPLATE = fileURLToPath(new URL('../../workflows/character-short.json', import.meta.url));

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function charlab(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], {
      env,
      timeout: 240_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('charlab CLI', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'charlab-cli-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('validate lists every problem and exits 1', async () => {
    const broken = join(scratch, 'broken.json');
    await writeFile(
      broken,
      JSON.stringify({
        schema: 'character-lab/graph',
        version: 1,
        id: 'wf_broken',
        name: 'Broken',
        nodes: [
          { id: 'a', type: 'no-such-node', typeVersion: 1, position: { x: 0, y: 0 }, params: {} },
          { id: 'm', type: 'ffmpeg-merge', typeVersion: 1, position: { x: 0, y: 0 }, params: {} },
        ],
        edges: [],
      }),
    );
    const result = await charlab(['validate', broken], process.env);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain('unknown_node_type');
    expect(result.stdout + result.stderr).toContain('missing_required_input');
    const ok = await charlab(['validate', TEMPLATE], process.env);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it.skipIf(temporalUnavailable())(
    'run renders the template embedded to an MP4 and exits 0',
    async () => {
      const out = join(scratch, 'short.mp4');
      const sets = Object.entries(FAST_CHARACTER_SHORT).flatMap(([key, value]) => [
        '--set',
        `${key}=${value}`,
      ]);
      const result = await charlab(
        ['run', TEMPLATE, ...sets, '--out', out],
        testEnv(join(scratch, 'data')),
      );
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/\[frames \d\/3\]/); // live fan-out progress lines
      const probed = await ffprobeVideo(out);
      expect(probed).toMatchObject({ codec: 'h264', width: 384, height: 216 });
      expect(Math.abs(probed.durationSec - 3)).toBeLessThan(0.3);
    },
  );
});
