/**
 * Pacing model calls to the deployment's quota. Every worker, on every instance, reserves the next free
 * slot in one shared schedule (slots 60/RPM seconds apart), so a burst of drops becomes an even stream
 * of requests instead of a 429 storm. Pure: the ledger adapter stores the schedule under an ETag.
 */

export interface PacerState {
  /** Epoch milliseconds of the next free slot. */
  nextAt: number;
  /**
   * Recent reservations by key (job and ticket): a duplicate delivery of the same message gets the same
   * slot back instead of burning another one.
   */
  recent?: Record<string, number>;
}

/** How long a reservation is remembered for duplicates. */
const RECENT_MS = 5 * 60_000;

/** A hair over 60/RPM seconds, so timer jitter does not push two requests into one quota window. */
export function slotIntervalMs(rpm: number): number {
  return (60_000 / rpm) * 1.01;
}

export function reserveSlot(state: PacerState | undefined, now: number, rpm: number, key: string): { slotAt: number; next: PacerState | undefined } {
  const known = state?.recent?.[key];
  if (known !== undefined) return { slotAt: known, next: undefined };
  const slotAt = Math.max(now, state?.nextAt ?? 0);
  const recent = Object.fromEntries(Object.entries(state?.recent ?? {}).filter(([, at]) => at > now - RECENT_MS));
  recent[key] = slotAt;
  return { slotAt, next: { nextAt: slotAt + slotIntervalMs(rpm), recent } };
}

export interface QuotaSignal {
  /** `x-ratelimit-remaining-requests` of the last response. */
  remaining?: number | undefined;
  /** Retry-After of a 429. */
  retryAfterMs?: number | undefined;
}

/** Pushes the schedule back when the service says the quota is spent (another client may share it). */
export function observeQuota(state: PacerState | undefined, now: number, rpm: number, signal: QuotaSignal): PacerState | undefined {
  let nextAt = state?.nextAt ?? 0;
  if (signal.retryAfterMs !== undefined) nextAt = Math.max(nextAt, now + signal.retryAfterMs);
  if (signal.remaining === 0) nextAt = Math.max(nextAt, now + slotIntervalMs(rpm));
  return nextAt === (state?.nextAt ?? 0) ? undefined : { ...state, nextAt };
}
