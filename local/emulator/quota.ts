/**
 * A deployment's requests-per-minute quota. Azure evaluates RPM over short windows rather than a whole
 * minute, so a burst of a minute's worth of requests is throttled; a token bucket holding a sixth of
 * the minute's requests (10 s worth, at least one) refilled continuously behaves the same way.
 */
export interface QuotaDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** When not allowed: how long until a request would be. */
  retryAfterMs: number;
}

export class RequestQuota {
  private tokens: number;
  private updatedAt: number;
  private readonly capacity: number;

  constructor(
    readonly rpm: number,
    private readonly now: () => number = Date.now,
  ) {
    this.capacity = Math.max(1, Math.ceil(rpm / 6));
    this.tokens = this.capacity;
    this.updatedAt = now();
  }

  take(): QuotaDecision {
    const now = this.now();
    const perMs = this.rpm / 60_000;
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.updatedAt) * perMs);
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { allowed: true, limit: this.rpm, remaining: Math.floor(this.tokens), retryAfterMs: 0 };
    }
    return { allowed: false, limit: this.rpm, remaining: 0, retryAfterMs: Math.ceil((1 - this.tokens) / perMs) };
  }
}
