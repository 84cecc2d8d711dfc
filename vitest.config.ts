import { defineConfig } from 'vitest/config';

// Temporal's native bridge needs process isolation (forks), not worker threads.
export default defineConfig({
  test: {
    pool: 'forks',
    include: [
      'engine/**/*.test.ts',
      'nodes/**/*.test.ts',
      'workflows/**/*.test.ts',
      'editor/src/**/*.test.{ts,tsx}',
      'bench/**/*.test.ts',
    ],
    globalSetup: ['engine/testing/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
