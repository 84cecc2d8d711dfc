/**
 * End-to-end tests of the studio in real Chromium against the real server on embedded
 * defaults: `npx vitest run --config editor/e2e/vitest.config.ts`. The global setup builds the
 * editor and starts one server (its own Temporal dev server, a temp data dir, a free port).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default defineConfig({
  root,
  test: {
    include: ['editor/e2e/**/*.e2e.test.ts'],
    globalSetup: ['editor/e2e/global-setup.ts'],
    pool: 'forks',
    // One browser and one server: files run one after another, the machine has two cores.
    fileParallelism: false,
    testTimeout: 240_000,
    hookTimeout: 240_000,
  },
});
