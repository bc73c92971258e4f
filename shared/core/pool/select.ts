/**
 * Which pool member takes a job's slot. Among the members that serve the drop's model in an allowed
 * region and are not taken out, the one whose next free slot comes first: each reservation moves a
 * member's next slot on by 60/RPM seconds, so members fill in proportion to their quotas and a burst
 * finishes at the sum of them. When every such member is out, the one back first. Pure.
 */
import type { Availability } from './breaker.js';
import { regionAllowed, type PoolMember } from './members.js';

export interface Candidate {
  member: PoolMember;
  /** Epoch ms of the member's next free slot. */
  nextFree: number;
  availability: Availability;
  /** When an open member is back (half-open). */
  openUntil?: number | undefined;
}

export interface Requirement {
  model: string;
  allowedRegions: readonly string[];
  /** A member just failed for this job: others first. */
  avoid?: string | undefined;
}

/** What every drop needs today: IMAGE_MODEL (its limits validated the drop), in an allowed region. */
export function dropRequirement(config: {
  drop: { model: { name: string } };
  pool: { allowedRegions: string[] };
}): Requirement {
  return { model: config.drop.model.name, allowedRegions: config.pool.allowedRegions };
}

/** Members that may ever take a drop needing `model` under the region list. */
export function eligibleMembers(members: readonly PoolMember[], req: Requirement): PoolMember[] {
  return members.filter((m) => m.model === req.model && regionAllowed(m, req.allowedRegions));
}

/** The chosen member and the earliest time its slot may be; `undefined` when no member is eligible. */
export function chooseMember(
  candidates: readonly Candidate[],
  req: Requirement,
  now: number,
): { member: PoolMember; notBefore: number } | undefined {
  const eligible = candidates.filter((c) => eligibleMembers([c.member], req).length > 0);
  const preferred = eligible.filter((c) => c.member.id !== req.avoid);
  const pool = preferred.length > 0 ? preferred : eligible;
  const up = pool.filter((c) => c.availability !== 'open');
  if (up.length > 0) {
    const start = (c: Candidate) => Math.max(now, c.nextFree);
    // Ties (an idle pool) go to the larger quota.
    const best = up.reduce((a, b) =>
      start(b) < start(a) || (start(b) === start(a) && b.member.rpm > a.member.rpm) ? b : a,
    );
    return { member: best.member, notBefore: now };
  }
  const back = (c: Candidate) => c.openUntil ?? now;
  const first = pool.reduce<Candidate | undefined>((a, b) => (a === undefined || back(b) < back(a) ? b : a), undefined);
  return first && { member: first.member, notBefore: Math.max(now, back(first)) };
}
