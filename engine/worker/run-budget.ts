/**
 * A per-run, per-node budget that all fan-out items of the node share (e.g. the consistency
 * gate's extra renders). Items run in parallel on several workers and Temporal retries them, so
 * the accounting must be atomic and idempotent: a budget of N is N numbered slots in the
 * document store's cache, each claimed by an insert that keeps the first writer
 * (CacheStore.put keeps the first entry for a key, on every adapter). A claimant names itself
 * (`item:attempt`); a retried item that claims again finds its own name in a slot and is granted
 * that slot again instead of a second one, so a retry never charges twice.
 */
import type { CacheStore } from '../stores/ports';

export interface BudgetClaim {
  /** Size of the budget; every claimant of one budget passes the same limit. */
  limit: number;
  /** Who spends the unit, stable across retries (e.g. `3:2` for item 3, attempt 2). */
  claimant: string;
}

export interface BudgetGrant {
  granted: boolean;
  /** Units spent so far, this claim included when granted (the limit when refused). */
  used: number;
}

export interface RunBudget {
  /** Claims one unit of this run's budget for this node. */
  claim(request: BudgetClaim): Promise<BudgetGrant>;
}

const CLAIM_NODE_TYPE = 'run-budget-claim';

/** The budget of `nodeId` in `runId`, kept in the document store's cache collection. */
export function cacheBackedBudget(cache: CacheStore, runId: string, nodeId: string): RunBudget {
  return {
    async claim({ limit, claimant }) {
      for (let slot = 1; slot <= limit; slot++) {
        const key = `budget:${runId}:${nodeId}:${slot}`;
        let holder = await cache.get(key);
        if (!holder) {
          await cache.put({
            key,
            nodeType: CLAIM_NODE_TYPE,
            outputs: { claimant },
            createdAt: new Date().toISOString(),
          });
          // Read back: of several claimants racing for this slot, the first insert won.
          holder = await cache.get(key);
        }
        if (holder?.outputs.claimant === claimant) return { granted: true, used: slot };
      }
      return { granted: false, used: limit };
    },
  };
}
