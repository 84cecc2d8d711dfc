/**
 * Per-client request limit: a fixed window per client key (the remote address). Kept in
 * memory, so each API replica limits on its own; a shared limit would sit in the load balancer.
 */

export interface RateLimitOptions {
  /** Requests allowed per window and client. */
  max: number;
  windowMs: number;
}

export interface RateDecision {
  allowed: boolean;
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request of `client` and says whether it may proceed. */
  hit(client: string): RateDecision {
    const now = this.now();
    let window = this.windows.get(client);
    if (!window || now - window.start >= this.options.windowMs) {
      if (this.windows.size > 10_000) this.sweep(now);
      window = { start: now, count: 0 };
      this.windows.set(client, window);
    }
    window.count += 1;
    return {
      allowed: window.count <= this.options.max,
      remaining: Math.max(0, this.options.max - window.count),
      resetMs: window.start + this.options.windowMs - now,
    };
  }

  /** How many hits `client` has in its current window, without counting one. */
  peek(client: string): number {
    const window = this.windows.get(client);
    return window && this.now() - window.start < this.options.windowMs ? window.count : 0;
  }

  /** Forgets expired windows so a stream of distinct clients cannot grow the map forever. */
  private sweep(now: number): void {
    for (const [client, window] of this.windows) {
      if (now - window.start >= this.options.windowMs) this.windows.delete(client);
    }
  }
}
