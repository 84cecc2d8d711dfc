/**
 * Builds the editor (so the server serves this very code from dist/editor) and starts the
 * real server on embedded defaults (see server.ts). Under CI=true a missing Chromium or a
 * server that does not come up fails the run; elsewhere the tests are skipped with the reason.
 */
import { existsSync } from 'node:fs';
import { CHROMIUM_PATH } from './harness';
import { buildEditor, startStudioServer, type StudioServer } from './server';

let server: StudioServer | undefined;

export async function setup(): Promise<void> {
  try {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(
        `no Chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH`,
      );
    }
    await buildEditor();
    server = await startStudioServer({ log: !!process.env.E2E_SERVER_LOG });
    process.env.E2E_BASE_URL = server.url;
  } catch (error) {
    if (process.env.CI === 'true') throw error;
    process.env.E2E_UNAVAILABLE = String(error);
    console.warn(`studio e2e tests will be skipped: ${String(error)}`);
  }
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
