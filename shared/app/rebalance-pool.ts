/**
 * Re-balancing the pool while workers look at jobs (shared/core/pool/rebalance-plan.ts says why): a job reserved far
 * ahead with one member is moved to a member that can take it now. The move reserves the earlier slot, moves
 * the job there under a new ticket (its old message finds the ticket changed and is dropped) guarded by the
 * slot the job held, then gives the old slot back; a move that loses a race gives the new slot back instead.
 * So no slot is given twice and no job is lost or run twice.
 */
import type { JobRecord } from '../core/job.js';
import { formatDuration } from '../core/config.js';
import { jobLogger, type Logger } from '../core/log.js';
import { sameSlotTime } from '../core/pacing.js';
import type { DeploymentPool, PoolSlot } from './deployment-pool.js';
import { MIN_MOVE_GAIN_MS, type Move } from '../core/pool/rebalance-plan.js';
import { dropRequirement } from '../core/pool/select.js';
import type { JobContext } from './job-context.js';
import { requeue } from './steps.js';

/** A look moves a few jobs at most; the next look (workers look at jobs every second or so in a burst) goes on. */
const MOVES_PER_LOOK = 4;
/** One look at a time per process, at most this often. */
const LOOK_EVERY_MS = 1_000;

const lastLook = new WeakMap<DeploymentPool, { at: number; running: boolean }>();

/** Moves jobs to members with room, if this process has not just looked; never throws (advisory). */
export async function rebalancePool(rt: JobContext, log: Logger): Promise<void> {
  if (rt.pool.members.length < 2) return;
  // Real time, not the runtime's clock: this spaces the storage calls this process makes.
  const now = Date.now();
  const last = lastLook.get(rt.pool);
  if (last && (last.running || now - last.at < LOOK_EVERY_MS)) return;
  const look = { at: now, running: true };
  lastLook.set(rt.pool, look);
  try {
    const moves = await rt.pool.planMoves(dropRequirement(rt.config), MOVES_PER_LOOK);
    for (const move of moves) await moveJob(rt, move, log);
  } catch (err) {
    log.warn(`could not re-balance the deployment pool: ${(err as Error).message}`);
  } finally {
    look.running = false;
  }
}

async function moveJob(rt: JobContext, { reservation: r, to }: Move, log: Logger): Promise<boolean> {
  const current = await rt.ledger.get(r.jobId);
  if (!current) return false;
  const ticket = current.value.ticket;
  // Still waiting on the queue for exactly that slot: not running, not moved or requeued since.
  const holdsSlot = (j: JobRecord) =>
    j.state === 'queued' &&
    j.ticket === ticket &&
    rt.pool.member(j.deployment).id === r.member &&
    j.notBefore !== undefined &&
    sameSlotTime(Date.parse(j.notBefore), r.at) &&
    (j.slotEpoch ?? 0) === r.epoch;
  const held: PoolSlot = { at: r.at, epoch: r.epoch, deployment: r.member };
  if (!holdsSlot(current.value)) {
    // A reservation its job no longer uses (it was moved or requeued since): give it back, not plan it again.
    if (!mayHold(rt, current.value, held)) await rt.pool.release(r.key, held);
    return false;
  }
  const key = `${r.jobId}:${ticket + 1}`;
  const slot = await rt.pool.reserveWith(to, key, rt.now().getTime());
  const gain = r.at - slot.at;
  const jobLog = jobLogger(log, current.value);
  const moved =
    gain >= MIN_MOVE_GAIN_MS &&
    (await requeue(
      rt,
      current.value,
      holdsSlot,
      slot.at,
      jobLog,
      { note: `moved to ${slot.deployment}, ${formatDuration(gain)} earlier than its slot with ${r.member}` },
      { known: current, epoch: slot.epoch, deployment: slot.deployment },
    ));
  if (moved) await rt.pool.release(r.key, held);
  else if (!mayHold(rt, (await rt.ledger.get(r.jobId))?.value, slot)) await rt.pool.release(key, slot);
  return moved;
}

/**
 * Whether the job may hold `slot` now. Another instance moving the same job to the same member got the same
 * slot (a reservation is idempotent per key) and won the race, and the job may even be running in it. Only a
 * job still queued for another slot surely does not; a slot kept in doubt costs one slot of quota, never two
 * calls in one slot.
 */
function mayHold(rt: JobContext, job: JobRecord | undefined, slot: PoolSlot): boolean {
  if (job?.state !== 'queued' || job.notBefore === undefined) return true;
  return rt.pool.member(job.deployment).id === slot.deployment && sameSlotTime(Date.parse(job.notBefore), slot.at);
}
