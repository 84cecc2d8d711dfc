/**
 * Vitest global setup: one Temporal dev server for the whole run (concurrent per-file
 * servers race on a 2-core box). Files read its address from TEMPORAL_TEST_ADDRESS. Under
 * CI=true a missing binary fails the run; elsewhere Temporal tests are skipped with a reason.
 */
import { readConfig } from '../config';
import { launchTemporal, type TemporalServer } from '../temporal/launcher';

let server: TemporalServer | undefined;

export async function setup(): Promise<void> {
  if (process.env.TEMPORAL_TEST_ADDRESS) return;
  try {
    server = await launchTemporal({
      temporal: readConfig({ ...process.env, TEMPORAL_ADDRESS: '' }).temporal,
    });
    process.env.TEMPORAL_TEST_ADDRESS = server.address;
  } catch (error) {
    if (process.env.CI === 'true') throw error;
    process.env.TEMPORAL_TEST_UNAVAILABLE = String(error);
    console.warn(`Temporal tests will be skipped: ${String(error)}`);
  }
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
