import { describe, expect, it } from 'vitest';
import {
  nextFreeAt,
  observeQuota,
  rateFactor,
  releaseJobSlot,
  releaseSlot,
  reserveSlot,
  scheduleFrom,
  slotIntervalMs,
  type PacerState,
} from '../../shared/core/pacing.js';
import { RequestQuota } from '../../local/emulator/quota.js';

describe('pacing', () => {
  it('spaces reservations 60/RPM seconds apart, starting now', () => {
    let state;
    const slots = [];
    for (let i = 0; i < 4; i++) {
      const r = reserveSlot(state, 1_000, 9, `job${i}:0`);
      slots.push(r.slot.at);
      state = r.next;
    }
    expect(slots[0]).toBe(1_000);
    expect(slots[3]! - slots[0]!).toBeCloseTo(3 * slotIntervalMs(9));
    expect(slotIntervalMs(9)).toBeGreaterThan(60_000 / 9);
  });

  it('gives a duplicate delivery the slot its twin reserved', () => {
    const first = reserveSlot(undefined, 0, 60, 'job:0');
    const again = reserveSlot(first.next, 10, 60, 'job:0');
    expect(again).toEqual({ slot: { at: 0, epoch: 0 }, next: undefined });
    expect(reserveSlot(first.next, 10, 60, 'job:1').slot.at).toBeCloseTo(slotIntervalMs(60));
  });

  it("shows the current epoch's reservations from a time on, and gives back a job's slot by its time", () => {
    let state: PacerState | undefined;
    for (const key of ['a:0@m', 'b:3@m', 'c:1@m']) state = reserveSlot(state, 0, 90, key).next;
    const [, b, c] = ['a:0@m@0', 'b:3@m@0', 'c:1@m@0'].map((k) => state!.recent![k]!);
    // 90 RPM: slots fall between whole milliseconds, and a job record keeps them to the millisecond.
    expect(Number.isInteger(c)).toBe(false);
    expect(scheduleFrom(state, 0, b!)).toEqual({
      nextFree: state!.nextAt,
      epoch: 0,
      reserved: [
        { key: 'b:3@m', at: b },
        { key: 'c:1@m', at: c },
      ],
    });
    // The job's ticket has moved on since (its key says 1): found by the job and the slot's time.
    const released = releaseJobSlot(state, 10, 'c', Date.parse(new Date(c!).toISOString()));
    expect(nextFreeAt(released, 10)).toBe(c);
    expect(scheduleFrom(released, 10, b!).reserved.map((r) => r.key)).toEqual(['b:3@m']);
    expect(releaseJobSlot(state, 10, 'c', b!)).toBeUndefined();
    // After a cut (a new epoch) the old reservations are void: none shows.
    const cut = observeQuota(state, 20, 90, { retryAfterMs: 1_000 });
    expect(scheduleFrom(cut, 20, 0).reserved).toEqual([]);
  });

  it('gives a slot reserved for nothing to the next reservation, so the schedule keeps no gap', () => {
    let state: PacerState | undefined;
    for (const key of ['a:0', 'b:0', 'c:0']) state = reserveSlot(state, 0, 60, key).next;
    const b = state!.recent!['b:0@0']!;
    state = releaseSlot(state, 10, 'b:0');
    expect(nextFreeAt(state, 10)).toBe(b);
    const taken = reserveSlot(state, 20, 60, 'd:0');
    expect(taken.slot.at).toBe(b);
    expect(nextFreeAt(taken.next, 20)).toBeCloseTo(3 * slotIntervalMs(60));
    // A slot already past is not handed out again, and an unknown key changes nothing.
    const late = releaseSlot(taken.next, b + 1, 'd:0');
    expect(nextFreeAt(late, b + 1)).toBeCloseTo(3 * slotIntervalMs(60));
    expect(releaseSlot(taken.next, 20, 'nobody:0')).toBeUndefined();
  });

  it('pushes the schedule back on Retry-After or an exhausted quota', () => {
    expect(observeQuota({ nextAt: 100 }, 1_000, 60, { retryAfterMs: 5_000 })?.nextAt).toBe(6_000);
    expect(observeQuota({ nextAt: 100 }, 1_000, 60, { remaining: 0 })?.nextAt).toBeCloseTo(1_000 + slotIntervalMs(60));
    expect(observeQuota({ nextAt: 10_000 }, 1_000, 60, { remaining: 3 })).toBeUndefined();
  });

  it('slows down after a 429 (once per 10 s, not below 20 %) and recovers 10 % a minute', () => {
    const cut = observeQuota({ nextAt: 0 }, 0, 60, { retryAfterMs: 1_000 })!;
    expect(rateFactor(cut, 0)).toBeCloseTo(0.8);
    expect(rateFactor(observeQuota(cut, 5_000, 60, { retryAfterMs: 1_000 }), 5_000)).toBeCloseTo(0.8 + 0.1 * (5 / 60)); // too soon to cut again
    let state = cut;
    for (let t = 10_000; t <= 200_000; t += 10_000) state = observeQuota(state, t, 60, { retryAfterMs: 1 })!;
    expect(rateFactor(state, 200_000)).toBe(0.2);
    expect(rateFactor(state, 200_000 + 8 * 60_000)).toBe(1);
    const { slot, next } = reserveSlot(cut, 60_000, 60, 'k');
    expect(next!.nextAt - slot.at).toBeCloseTo(slotIntervalMs(60) / 0.9); // recovered to 90 % after a minute
  });

  it('reserves no earlier than asked, behind the work already scheduled', () => {
    expect(reserveSlot({ nextAt: 5_000 }, 0, 60, 'a', 2_000).slot.at).toBe(5_000);
    expect(reserveSlot({ nextAt: 5_000 }, 0, 60, 'a', 9_000).slot.at).toBe(9_000);
  });

  it('starts a new epoch when throttling cuts the rate, so slots reserved before it are given up', () => {
    const before = reserveSlot(undefined, 0, 60, 'job:0');
    expect(before.slot.epoch).toBe(0);
    const throttled = observeQuota(before.next, 100, 60, { retryAfterMs: 500 })!;
    expect(throttled.epoch).toBe(1);
    // The same job asking again in the new epoch gets a new, later slot rather than its stale one.
    const after = reserveSlot(throttled, 200, 60, 'job:0');
    expect(after.slot.epoch).toBe(1);
    expect(after.slot.at).toBeGreaterThanOrEqual(600);
  });

  it('restarts the schedule after Retry-After when an epoch voids the slots reserved ahead', () => {
    let state;
    for (let i = 0; i < 100; i++) state = reserveSlot(state, 0, 60, `j${i}`).next; // 100 s of slots
    const throttled = observeQuota(state, 5_000, 60, { retryAfterMs: 1_000 })!;
    expect(throttled.nextAt).toBe(6_000);
    expect(reserveSlot(throttled, 5_500, 60, 'j50').slot.at).toBe(6_000);
  });

  it('an evenly paced caller never trips the emulator quota', () => {
    let now = 0;
    const quota = new RequestQuota(9, () => now);
    let state;
    for (let i = 0; i < 30; i++) {
      const r = reserveSlot(state, now, 9, `j${i}`);
      state = r.next;
      now = r.slot.at;
      expect(quota.take().allowed).toBe(true);
    }
  });
});

describe('emulator quota', () => {
  it('allows a short burst, then throttles with the time until the next request', () => {
    let now = 0;
    const quota = new RequestQuota(60, () => now); // 10 at once, one more per second
    for (let i = 0; i < 10; i++) expect(quota.take().allowed).toBe(true);
    const refused = quota.take();
    expect(refused).toMatchObject({ allowed: false, remaining: 0 });
    expect(refused.retryAfterMs).toBe(1000);
    now = 1000;
    expect(quota.take().allowed).toBe(true);
  });
});
