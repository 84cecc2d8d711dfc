import { afterEach, describe, expect, it } from 'vitest';
import { createTestNodeContext, type TestNodeContext } from '../testing/node-context';
import { cacheBackedBudget } from './run-budget';

describe('the run attempt budget in the document store', () => {
  let t: TestNodeContext | undefined;
  afterEach(async () => {
    await t?.dispose();
    t = undefined;
  });

  it('grants at most the limit across items, once per claimant, also when retried', async () => {
    t = await createTestNodeContext({ runId: 'run_b', nodeId: 'frames' });
    const budget = t.ctx.budget;
    const claimants = ['0:2', '1:2', '2:2', '0:3', '1:3'];
    const grants = await Promise.all(
      claimants.map((claimant) => budget.claim({ claimant, limit: 3 })),
    );
    expect(grants.filter((g) => g.granted)).toHaveLength(3);
    // A retried item claims the same attempt again: granted again, nothing more spent.
    const winner = claimants[grants.findIndex((g) => g.granted)];
    expect((await budget.claim({ claimant: winner, limit: 3 })).granted).toBe(true);
    expect((await budget.claim({ claimant: '9:9', limit: 3 })).granted).toBe(false);
  });

  it('keeps budgets of different runs and nodes apart', async () => {
    t = await createTestNodeContext({ runId: 'run_c', nodeId: 'frames' });
    expect((await t.ctx.budget.claim({ claimant: '0:2', limit: 1 })).granted).toBe(true);
    const other = await t.child({});
    expect((await other.budget.claim({ claimant: '1:2', limit: 1 })).granted).toBe(false);
    const otherRun = cacheBackedBudget(t.stores.documents.cache, 'run_d', 'frames');
    expect((await otherRun.claim({ claimant: '1:2', limit: 1 })).granted).toBe(true);
  });
});
