/**
 * Re-balancing the pool: which reserved jobs move to a member that has room now. A job moved off a member
 * that failed (circuit open, or its own call failed) goes to the back of the others' schedules; when that
 * member is back, its schedule is empty while those jobs still wait at the others' tails, and their messages
 * stay invisible until shortly before their slots. So a worker looking at any job also looks for this:
 * a member that can take a job far earlier than the slot the job holds elsewhere. The latest jobs move first,
 * each to the member that can start it first, while that gains a clear margin. Pure.
 */
import { slotIntervalMs } from '../pacing.js';
import type { Candidate, Requirement } from './select.js';
import { eligibleMembers } from './select.js';

/** A job's slot in one member's schedule, as the schedule records it. */
export interface Reservation {
  /** The key the pool reserved it under (`jobId:ticket`; the job's ticket may have moved on since). */
  key: string;
  jobId: string;
  /** The member whose schedule holds it. */
  member: string;
  at: number;
  epoch: number;
}

export interface Move {
  reservation: Reservation;
  /** The member that takes the job, and about when (its next free slot when planned). */
  to: string;
  at: number;
}

/**
 * Only a slot this far ahead moves: its job's message is still invisible on the queue (it comes back
 * EARLY_RETURN_MS before the slot). A job that a worker already waits for (a slot reserved at its look, up
 * to 15 s ahead) may move too: the worker's claim then finds the ticket changed and leaves the job alone.
 */
export const MIN_MOVE_AHEAD_MS = 6_000;
/** A move must bring the job this much earlier at least, and two of the old member's slot intervals. */
export const MIN_MOVE_GAIN_MS = 3_000;

/** `jobId:ticket@member` (how the pool keys a job's slot in a member's schedule) → its parts. */
export function parseReservationKey(key: string): { key: string; jobId: string; member: string } | undefined {
  const m = /^(([^:@]+):\d+)@(.+)$/.exec(key);
  return m ? { key: m[1]!, jobId: m[2]!, member: m[3]! } : undefined;
}

/**
 * Moves, latest reservation first, at most `limit`. A member takes jobs when it is closed, or half-open with
 * no probe going (then one job, which becomes its probe). Every job of the pool needs `req`.
 */
export function planMoves(
  candidates: readonly (Candidate & { probing?: boolean })[],
  reservations: readonly Reservation[],
  req: Requirement,
  now: number,
  limit: number,
): Move[] {
  const takers = eligibleMembers(
    candidates.map((c) => c.member),
    req,
  )
    .map((m) => candidates.find((c) => c.member === m)!)
    .filter((c) => c.availability === 'closed' || (c.availability === 'half-open' && !c.probing))
    .map((c) => ({ c, start: Math.max(now, c.nextFree), room: c.availability === 'closed' ? limit : 1 }));
  const rpmOf = new Map(candidates.map((c) => [c.member.id, c.member.rpm]));
  const moves: Move[] = [];
  const latestFirst = [...reservations].filter((r) => r.at - now >= MIN_MOVE_AHEAD_MS).sort((a, b) => b.at - a.at);
  for (const r of latestFirst) {
    if (moves.length >= limit) break;
    const open = takers.filter((t) => t.room > 0 && t.c.member.id !== r.member);
    if (open.length === 0) break;
    const best = open.reduce((a, b) => (b.start < a.start ? b : a));
    const fromRpm = rpmOf.get(r.member);
    const margin = Math.max(MIN_MOVE_GAIN_MS, fromRpm ? 2 * slotIntervalMs(fromRpm) : 0);
    if (r.at - best.start < margin) continue;
    moves.push({ reservation: r, to: best.c.member.id, at: best.start });
    best.start += slotIntervalMs(best.c.member.rpm);
    best.room -= 1;
  }
  return moves;
}
