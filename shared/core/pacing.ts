/**
 * Pacing model calls to the deployment's quota. Every worker, on every instance, reserves the next free
 * slot in one shared schedule (slots 60/RPM seconds apart), so a burst of drops becomes an even stream
 * of requests instead of a 429 storm. When the service throttles anyway (another client shares the
 * quota, or IMAGE_MODEL_RPM is set too high), the schedule backs off: Retry-After pushes the next slot
 * out, the rate drops to 80 % (at most once per 10 s, never below 20 %) recovering by 10 % of the
 * configured rate a minute, and slots reserved before the cut are given up for new ones. A slot reserved
 * for nothing (another intake queued the job elsewhere) is given back and taken by the next reservation.
 * Pure: the ledger adapter stores the schedule under an ETag.
 */

export interface PacerState {
  /** Epoch milliseconds of the next free slot. */
  nextAt: number;
  /**
   * Recent reservations by key (job and ticket): a duplicate delivery of the same message gets the same
   * slot back instead of burning another one.
   */
  recent?: Record<string, number>;
  /** Share of the configured rate in use after throttling, and when it was last cut. */
  rate?: { factor: number; cutAt: number };
  /**
   * Bumped whenever throttling cuts the rate: slots reserved in an earlier epoch belong to a schedule
   * that proved too fast, and their jobs take new ones instead.
   */
  epoch?: number;
  /**
   * Slots given back (epoch ms, ascending): reserved for a job that another intake had already queued with
   * another deployment. The next reservations take them before `nextAt`, so the schedule has no gap.
   */
  free?: number[];
}

export interface Slot {
  at: number;
  epoch: number;
}

/**
 * A job waiting for a slot sits on the queue, invisible, and comes back this long before the slot; the
 * worker waits out the rest. Queue visibility is in whole seconds and a trigger may poll only every
 * couple of seconds, so a message due exactly at its slot would often miss it.
 */
export const EARLY_RETURN_MS = 3_000;

/** How long a reservation is remembered for duplicates. */
const RECENT_MS = 5 * 60_000;
const CUT_TO = 0.8;
const FLOOR = 0.2;
const RECOVERY_PER_MINUTE = 0.1;
const CUT_AT_MOST_EVERY_MS = 10_000;

/** A hair over 60/RPM seconds, so timer jitter does not push two requests into one quota window. */
export function slotIntervalMs(rpm: number): number {
  return (60_000 / rpm) * 1.01;
}

/** The share of the configured rate in use now, after any throttling and the recovery since. */
export function rateFactor(state: PacerState | undefined, now: number): number {
  if (!state?.rate) return 1;
  return Math.min(1, state.rate.factor + (RECOVERY_PER_MINUTE * (now - state.rate.cutAt)) / 60_000);
}

export function reserveSlot(
  state: PacerState | undefined,
  now: number,
  rpm: number,
  key: string,
  notBefore = now,
): { slot: Slot; next: PacerState | undefined } {
  const epoch = state?.epoch ?? 0;
  const remembered = `${key}@${epoch}`;
  const known = state?.recent?.[remembered];
  if (known !== undefined) return { slot: { at: known, epoch }, next: undefined };
  const recent = Object.fromEntries(Object.entries(state?.recent ?? {}).filter(([, t]) => t > now - RECENT_MS));
  const free = (state?.free ?? []).filter((t) => t >= now);
  const given = free.findIndex((t) => t >= notBefore);
  if (given >= 0) {
    const at = free.splice(given, 1)[0]!;
    recent[remembered] = at;
    return { slot: { at, epoch }, next: { ...state, nextAt: state?.nextAt ?? 0, recent, free } };
  }
  const at = Math.max(now, notBefore, state?.nextAt ?? 0);
  recent[remembered] = at;
  const factor = rateFactor(state, now);
  return {
    slot: { at, epoch },
    next: {
      ...state,
      nextAt: at + slotIntervalMs(rpm) / factor,
      recent,
      free,
      ...(factor < 1 && state?.rate ? { rate: state.rate } : { rate: undefined }),
    },
  };
}

/**
 * Gives back the slot reserved for `key` in the current epoch (a slot of an earlier epoch is void anyway):
 * if it is still ahead, the next reservation takes it.
 */
export function releaseSlot(state: PacerState | undefined, now: number, key: string): PacerState | undefined {
  const remembered = `${key}@${state?.epoch ?? 0}`;
  const at = state?.recent?.[remembered];
  if (at === undefined) return undefined;
  const recent = { ...state!.recent };
  delete recent[remembered];
  const free = (state!.free ?? []).filter((t) => t >= now);
  if (at >= now) free.push(at);
  return { ...state!, recent, free: free.sort((a, b) => a - b) };
}

/** Slot times are fractional milliseconds; a job record keeps them as ISO strings, to the millisecond. */
export function sameSlotTime(a: number, b: number): boolean {
  return Math.abs(a - b) < 1;
}

/** Gives back the slot at `at` that `jobId` holds, whatever ticket it was reserved under (see releaseSlot). */
export function releaseJobSlot(
  state: PacerState | undefined,
  now: number,
  jobId: string,
  at: number,
): PacerState | undefined {
  const suffix = `@${state?.epoch ?? 0}`;
  const held = Object.entries(state?.recent ?? {}).find(
    ([key, t]) => sameSlotTime(t, at) && key.startsWith(`${jobId}:`) && key.endsWith(suffix),
  );
  return held && releaseSlot(state, now, held[0].slice(0, -suffix.length));
}

/** Epoch ms of the first slot a reservation made now could get. */
export function nextFreeAt(state: PacerState | undefined, now: number): number {
  const given = state?.free?.find((t) => t >= now);
  return given ?? state?.nextAt ?? 0;
}

/** What a schedule holds from some time on: its next free slot and the current epoch's reservations by key. */
export interface ScheduleView {
  nextFree: number;
  epoch: number;
  reserved: { key: string; at: number }[];
}

export function scheduleFrom(state: PacerState | undefined, now: number, from: number): ScheduleView {
  const epoch = state?.epoch ?? 0;
  const suffix = `@${epoch}`;
  const reserved = Object.entries(state?.recent ?? {})
    .filter(([key, at]) => key.endsWith(suffix) && at >= from)
    .map(([key, at]) => ({ key: key.slice(0, -suffix.length), at }));
  return { nextFree: nextFreeAt(state, now), epoch, reserved };
}

export interface QuotaSignal {
  /** `x-ratelimit-remaining-requests` of the last response. */
  remaining?: number | undefined;
  /** Retry-After of a 429. */
  retryAfterMs?: number | undefined;
}

/** Pushes the schedule back, and slows it, when the service says the quota is spent. */
export function observeQuota(
  state: PacerState | undefined,
  now: number,
  rpm: number,
  signal: QuotaSignal,
): PacerState | undefined {
  let next: PacerState = { ...state, nextAt: state?.nextAt ?? 0 };
  let changed = false;
  if (signal.retryAfterMs !== undefined) {
    if (!state?.rate || now - state.rate.cutAt >= CUT_AT_MOST_EVERY_MS) {
      // A new epoch voids every slot reserved so far, so the schedule restarts after Retry-After at the
      // slower rate instead of after the last of those slots.
      next = {
        ...next,
        nextAt: now + signal.retryAfterMs,
        rate: { factor: Math.max(FLOOR, rateFactor(state, now) * CUT_TO), cutAt: now },
        epoch: (state?.epoch ?? 0) + 1,
        free: undefined,
      };
      changed = true;
    } else if (next.nextAt < now + signal.retryAfterMs) [next.nextAt, changed] = [now + signal.retryAfterMs, true];
  }
  if (signal.remaining === 0 && next.nextAt < now + slotIntervalMs(rpm))
    [next.nextAt, changed] = [now + slotIntervalMs(rpm), true];
  return changed ? next : undefined;
}
