/**
 * Job steps every use case shares: move a job (and log it), end it without an edit (with its report),
 * put it back on the queue, hold and release an edit lease, and find its output.
 */
import type { Versioned } from './ledger.js';
import { DROP_CONTRACT, dropBlobName } from '../core/drop.js';
import { isTerminal, transition, type JobError, type JobRecord, type TransitionDetails } from '../core/job.js';
import { stateLine, type Logger } from '../core/log.js';
import { EARLY_RETURN_MS } from '../core/pacing.js';
import { dropRequirement } from '../core/pool/select.js';
import type { PoolSlot } from './deployment-pool.js';
import type { BlobInfo } from '../ports/blob-store.js';
import type { JobContext } from './job-context.js';
import { announceOutcome, expectOutcomeEvent } from './outbox.js';
import { recordStep } from './telemetry/job-trace.js';

/**
 * Moves the job and logs the step; `undefined` when the job was no longer where `guard` expected it.
 * `known` is a version of the job just read or written, which saves a read.
 */
export async function advance(
  rt: JobContext,
  jobId: string,
  guard: (job: JobRecord) => boolean,
  to: JobRecord['state'],
  log: Logger,
  details: TransitionDetails = {},
  changes: (job: JobRecord) => Partial<JobRecord> = () => ({}),
  known?: Versioned<JobRecord>,
): Promise<Versioned<JobRecord> | undefined> {
  const now = rt.now();
  // A job that ends owes an outcome event: recorded before the write, sent once its result is in place
  // (shared/events/): published and quarantined results are written before this step, reports after it.
  if (isTerminal(to)) await expectOutcomeEvent(rt, jobId);
  const result = await rt.ledger.update(
    jobId,
    (job) => (guard(job) ? transition(job, to, now, details, changes(job)) : undefined),
    known,
  );
  if (result) log.info(stateLine(result.after.value, result.before.state, now));
  if (result) recordStep(result.before, result.after.value);
  if (result && (to === 'published' || to === 'quarantined')) await announceOutcome(rt, result.after.value, log);
  return result?.after;
}

/**
 * Writes the rejection report (the job record keeps the same problems). A report of another drop
 * already at that name is left alone, and the clash logged.
 */
export async function writeRejectionReport(rt: JobContext, job: JobRecord, log: Logger): Promise<void> {
  const name = dropBlobName(job.drop, '.json');
  const result = await rt.blobs.writeReport(
    'rejected',
    name,
    {
      drop: job.drop.key,
      jobId: job.id,
      rejectedAt: job.updatedAt,
      code: job.error?.code,
      problems: job.problems ?? [job.error?.message],
      parts: Object.fromEntries(Object.entries(job.inputs).map(([k, p]) => [k, p?.name])),
      contract: DROP_CONTRACT,
      next: 'Fix the problems and upload the drop again; a changed upload starts a new job.',
    },
    { key: job.drop.key, stamp: job.createdAt },
  );
  if (!result.written) log.warn(resultClash('rejected', name, result.existing));
}

/** The log line for a result write refused because the blob there is another drop's (or newer). */
export function resultClash(container: string, name: string, existing: BlobInfo): string {
  const owner = existing.metadata.owner ? decodeURIComponent(existing.metadata.owner) : 'unknown';
  return `${container}/${name} already holds a result of ${owner} (${existing.metadata.ownerstamp ?? 'no date'}); left as it is`;
}

/** Ends a job that will not be edited, with its report in `rejected/`. */
export async function endWithoutEdit(
  rt: JobContext,
  jobId: string,
  guard: (j: JobRecord) => boolean,
  to: 'rejected' | 'failed',
  error: JobError,
  problems: string[],
  log: Logger,
  known?: Versioned<JobRecord>,
  changes: Partial<JobRecord> = {},
): Promise<void> {
  const after = await advance(rt, jobId, guard, to, log, { error }, () => ({ ...changes, problems }), known);
  if (!after) return;
  await writeRejectionReport(rt, after.value, log);
  await announceOutcome(rt, after.value, log);
}

/**
 * Puts the job back on the queue until `notBefore` (epoch ms), under a new ticket. With `reserve`, the
 * time is a slot reserved in the shared schedule no earlier than that, so retries queue up behind the
 * work already scheduled instead of colliding with it.
 */
export async function requeue(
  rt: JobContext,
  job: JobRecord,
  guard: (j: JobRecord) => boolean,
  notBefore: number,
  log: Logger,
  details: TransitionDetails,
  options: {
    reserve?: boolean;
    /** With `reserve`: a pool member that just failed this job, passed over while others can take it. */
    avoid?: string;
    /** Without `reserve`: the slot's epoch and pool member, when not the job's own. */
    epoch?: number;
    deployment?: string;
    changes?: Partial<JobRecord>;
    known?: Versioned<JobRecord>;
  } = {},
): Promise<boolean> {
  const slot: PoolSlot = options.reserve
    ? await rt.pool.reserve(`${job.id}:${job.ticket + 1}`, {
        notBefore,
        ...dropRequirement(rt.config),
        avoid: options.avoid,
      })
    : {
        at: notBefore,
        epoch: options.epoch ?? job.slotEpoch ?? 0,
        deployment: options.deployment ?? rt.pool.member(job.deployment).id,
      };
  const changes = (j: JobRecord) => ({
    ...options.changes,
    ticket: j.ticket + 1,
    notBefore: new Date(slot.at).toISOString(),
    slotEpoch: slot.epoch,
    deployment: slot.deployment,
  });
  const after = (await advance(rt, job.id, guard, 'queued', log, details, changes, options.known))?.value;
  if (!after) return false;
  await rt.queue.send(
    { jobId: after.id, ticket: after.ticket, drop: after.drop, traceparent: after.traceparent },
    slot.at - rt.now().getTime() - EARLY_RETURN_MS,
  );
  return true;
}

/** Where a job's output goes in `edited/`: the drop's name with the output format's extension. */
export function outputName(job: JobRecord): string {
  return dropBlobName(job.drop, job.request?.outputFormat === 'jpeg' ? '.jpg' : '.png');
}

/** An output of this job (any attempt's) in edited/, which the ledger may not point at yet. */
export async function existingOutput(rt: JobContext, job: JobRecord): Promise<BlobInfo | undefined> {
  const found = await rt.blobs.findOutput(outputName(job));
  return found?.metadata.jobid === job.id ? found : undefined;
}

/** Whether this worker still holds the job for the given attempt (no takeover since it claimed). */
export function holdsEditLease(rt: JobContext, attempt: number): (j: JobRecord) => boolean {
  return (j) => j.state === 'editing' && j.lease?.owner === rt.workerId && j.attempts === attempt;
}

/**
 * After an unexpected error with the job claimed (a storage hiccup, say), gives the lease up so the
 * message's next delivery takes the job over at once instead of waiting out the lease.
 */
export async function releaseLease(rt: JobContext, jobId: string, holding: (j: JobRecord) => boolean): Promise<void> {
  const until = rt.now().toISOString();
  await rt.ledger
    .update(jobId, (j) => (holding(j) ? { ...j, lease: { owner: j.lease!.owner, until } } : undefined))
    .catch(() => undefined);
}
