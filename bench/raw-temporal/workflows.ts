/**
 * The floor the engine is measured against: plain Temporal TypeScript-SDK workflows, written
 * as the SDK's samples write them, with no engine code. Same shapes as the engine's bench
 * graphs: nothing at all, and N steps in a row where each step feeds the next.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type * as activities from './activities';

const { echo } = proxyActivities<typeof activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 1 },
});

const local = proxyLocalActivities<typeof activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 1 },
});

export async function emptyWorkflow(): Promise<string> {
  return 'done';
}

export async function sequentialActivities(count: number): Promise<string> {
  let text = '';
  for (let i = 0; i < count; i++) text = await echo(`${text}|${i}`);
  return text;
}

export async function sequentialLocalActivities(count: number): Promise<string> {
  let text = '';
  for (let i = 0; i < count; i++) text = await local.echo(`${text}|${i}`);
  return text;
}
