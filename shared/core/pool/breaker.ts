/**
 * A circuit breaker per deployment, its state shared by every instance through the ledger. Calls that
 * fail for the deployment's sake (5xx, resets, timeouts) count; FAILURES_TO_OPEN of them in a row take
 * the deployment out for a cooldown: 10 s, and 10 s again after each failed probe for the first minute, then
 * doubling up to 5 min. Short at first because an outage's end is found only by a probe, and a cooldown
 * that outlasts the outage idles the deployment's quota (doubling from the second probe, a region came back
 * 3–15 s after a 20-second outage ended, BENCHMARKS.md (f)); a probe costs one call and one job's retry
 * elsewhere. After the cooldown the breaker is half-open: one call may go as a probe; its success closes
 * the breaker, its failure opens it again. A probe whose worker is lost is given up after PROBE_MS, so
 * another may go. Pure.
 */

export interface BreakerState {
  /** Failures in a row since the last success. */
  failures: number;
  /** While set and in the future, the deployment is out. */
  openUntil?: number;
  /** Trips since the last success; sets the next cooldown. */
  trips?: number;
  /** A half-open probe in flight, and until when it holds the deployment. */
  probe?: { key: string; until: number };
}

export type Availability = 'closed' | 'open' | 'half-open';

export const FAILURES_TO_OPEN = 3;
const BASE_COOLDOWN_MS = 10_000;
const MAX_COOLDOWN_MS = 5 * 60_000;
/** Trips (the first and the failed probes after it) that each take the deployment out for BASE_COOLDOWN_MS. */
const TRIPS_AT_BASE = 6;
export const PROBE_MS = 2 * 60_000;

export function cooldownMs(trips: number): number {
  return Math.min(MAX_COOLDOWN_MS, BASE_COOLDOWN_MS * 2 ** Math.max(0, trips - TRIPS_AT_BASE));
}

export function availability(state: BreakerState | undefined, now: number): Availability {
  if (state?.openUntil === undefined) return 'closed';
  return now < state.openUntil ? 'open' : 'half-open';
}

/**
 * Whether a call with `key` may go now: always when closed, never when open; when half-open only as the
 * probe (`next` claims it, to be written under the state's ETag).
 */
export function admit(
  state: BreakerState | undefined,
  now: number,
  key: string,
): { admitted: boolean; next?: BreakerState } {
  const a = availability(state, now);
  if (a === 'closed') return { admitted: true };
  if (a === 'open') return { admitted: false };
  const probe = state!.probe;
  if (probe && probe.key === key) return { admitted: true };
  if (probe && probe.until > now) return { admitted: false };
  return { admitted: true, next: { ...state!, probe: { key, until: now + PROBE_MS } } };
}

/** A call the deployment answered (any answer but a failure of its own): the breaker closes. */
export function recordSuccess(state: BreakerState | undefined): BreakerState | undefined {
  if (!state || (state.failures === 0 && state.openUntil === undefined)) return undefined;
  return { failures: 0 };
}

/**
 * The resource answered that Azure blocked it (a content-policy block of every request until Microsoft
 * lifts it): out at once, with the trip's cooldown; a probe that finds it still blocked opens it again.
 */
export function recordBlocked(state: BreakerState | undefined, now: number): BreakerState {
  const trips = (state?.trips ?? 0) + 1;
  return {
    failures: Math.max(FAILURES_TO_OPEN, (state?.failures ?? 0) + 1),
    trips,
    openUntil: now + cooldownMs(trips),
  };
}

/** A failure of the deployment's own (5xx, reset, timeout). */
export function recordFailure(state: BreakerState | undefined, now: number): BreakerState {
  const failures = (state?.failures ?? 0) + 1;
  const a = availability(state, now);
  if (a === 'open') return { ...state!, failures };
  if (a === 'half-open' || failures >= FAILURES_TO_OPEN) {
    const trips = (state?.trips ?? 0) + 1;
    return { failures, trips, openUntil: now + cooldownMs(trips) };
  }
  return { ...state, failures };
}
