/**
 * Retention (JOB_RETENTION): finished jobs whose last change is older than the setting are deleted, record
 * first, then their index rows, so a crash in between leaves an index row the next sweep removes.
 */
import type { JobContext } from './job-context.js';

/** Deleted per sweep at most, so one sweep stays short; the next one goes on. */
const PER_SWEEP = 500;

export async function applyRetention(rt: JobContext): Promise<number> {
  const index = rt.ledger.index;
  if (!index) return 0;
  const before = new Date(rt.now().getTime() - rt.config.jobs.retentionMs);
  const expired = (await index.finishedBefore(before, PER_SWEEP)).slice(0, PER_SWEEP);
  for (const job of expired) await rt.ledger.remove(job.id);
  return expired.length;
}
