/**
 * Sweep (timer): the pipeline's safety net.
 * - Drops still missing a part after DROP_DEADLINE are rejected as incomplete (or accepted, if the part
 *   did arrive and only its event was lost).
 * - Jobs stuck in a state move on: a lost edit worker's job is retried or failed, an edited job whose
 *   event was lost is published, a lost publisher's job is published again.
 * - Messages the Functions host gave up on (the poison queue) fail their jobs with the reason.
 * - The jobs index: a ledger written before it is indexed (a bounded part per sweep), a lost index write is
 *   repaired, and finished jobs older than JOB_RETENTION are deleted.
 * - Events Event Grid could not deliver (its dead-letter container) are replayed, each on its own: one
 *   that fails is reported and left for the next sweep, and the others still run.
 */
import { decodeMessage } from '../ports/edit-queue.js';
import { formatDuration } from '../core/config.js';
import { CONTAINERS } from '../core/containers.js';
import type { DropRef } from '../core/drop.js';
import { parseBlobCreated } from '../core/blob-created.js';
import { isTerminal, leaseExpired, type JobRecord } from '../core/job.js';
import { JOB_ERROR } from '../core/job-errors.js';
import { jobLogger, type Logger } from '../core/log.js';
import type { JobContext } from './job-context.js';
import { upgradeIndex } from './index-upgrade.js';
import { gaugesOf, readLiveFigures } from './telemetry/live.js';
import { recordGauges } from './telemetry/metrics.js';
import { intakeBlob, intakeDrop, rejectDrop } from './intake.js';
import { publishEditedBlob } from './publish.js';
import { applyRetention } from './retention.js';
import { advance, endWithoutEdit, existingOutput } from './steps.js';
import type { Versioned } from './ledger.js';

/** How long an edited job may wait for its BlobCreated event before the sweep publishes it itself. */
const EDITED_GRACE_MS = 2 * 60_000;
/**
 * An edited job whose event was handed off (see ./handoff.ts) has no event coming: its worker publishes
 * it at once, so one still `edited` after this long lost that worker.
 */
const HANDED_OFF_GRACE_MS = 15_000;
/** A queued job whose slot passed this long ago, with the queue empty, lost its message. */
const QUEUED_GRACE_MS = 2 * 60_000;
/** Even with messages waiting, a queued job untouched this long is re-sent (its old message goes stale). */
const QUEUED_STALL_MS = 60 * 60_000;

export interface SweepSummary {
  incompleteRejected: number;
  dropsRecovered: number;
  requeued: number;
  failed: number;
  republished: number;
  poisoned: number;
  deadLettersReplayed: number;
  deadLettersFailed: number;
  /** Records of a ledger written before the jobs index, indexed by this sweep (./index-upgrade.ts). */
  upgradeIndexed: number;
  /** Finished jobs older than JOB_RETENTION, deleted (./retention.ts). */
  expired: number;
}

/** Pages of 500 records the upgrade indexes per sweep at most, so one sweep stays within its timeout. */
const UPGRADE_PAGES_PER_SWEEP = 20;
/** A walker that wrote its place this recently is alive (`npm start`'s, pacing itself): the sweep leaves it be. */
const WALKER_ALIVE_MS = 120_000;

function dropFromKey(key: string): DropRef {
  const i = key.lastIndexOf('/');
  return i === -1 ? { path: '', stem: key } : { path: key.slice(0, i), stem: key.slice(i + 1) };
}

async function sweepPending(rt: JobContext, log: Logger, summary: SweepSummary): Promise<void> {
  const now = rt.now().getTime();
  for (const { dropKey: key, firstSeenAt } of await rt.ledger.listPending()) {
    if (firstSeenAt.getTime() + rt.config.drop.deadlineMs > now) continue;
    const drop = dropFromKey(key);
    const outcome = await intakeDrop(rt, drop, log, { settled: true });
    if (outcome === 'queued' || outcome === 'duplicate' || outcome === 'rejected') {
      summary.dropsRecovered++;
      await rt.ledger.removePending(key);
      continue;
    }
    if (outcome === 'ignored') {
      await rt.ledger.removePending(key);
      continue;
    }
    // Still waiting: the partner never came.
    const parts = await rt.blobs.listDropParts(drop);
    const present = [parts.image, parts.mask, parts.sidecar].filter((p) => p !== undefined);
    const missing = parts.image ? `${drop.stem}.mask.png` : `${drop.stem}.png (or .jpg, .jpeg, .webp)`;
    const arrived = present.map((p) => p!.name.slice(p!.name.lastIndexOf('/') + 1)).join(', ');
    const inputs = Object.fromEntries(
      (['image', 'mask', 'sidecar'] as const)
        .filter((k) => parts[k])
        .map((k) => [k, { name: parts[k]!.name, etag: parts[k]!.etag, bytes: parts[k]!.bytes }]),
    );
    const problem = `incomplete drop: ${arrived} arrived ${firstSeenAt.toISOString()} but ${missing} did not within ${formatDuration(rt.config.drop.deadlineMs)}`;
    await rejectDrop(rt, drop, inputs, [problem], { code: JOB_ERROR.incompleteDrop, message: problem }, log);
    summary.incompleteRejected++;
  }
}

async function sweepActive(rt: JobContext, baseLog: Logger, summary: SweepSummary): Promise<void> {
  const now = rt.now();
  const queueEmpty = await rt.queue.isEmpty();
  for (const id of await rt.ledger.listActive()) {
    const found = await rt.ledger.get(id);
    if (!found) continue;
    const job = found.value;
    const log = jobLogger(baseLog, job);
    // Repairs an index write lost between the record's write and the index's (a no-op when in step).
    await rt.ledger.reindex(job);
    if (isTerminal(job.state)) {
      await rt.ledger.unmarkActive(id);
      continue;
    }
    const since = now.getTime() - Date.parse(job.notBefore ?? job.updatedAt);
    if (job.state === 'queued' && ((queueEmpty && since > QUEUED_GRACE_MS) || since > QUEUED_STALL_MS)) {
      const holding = (j: JobRecord) => j.state === 'queued' && j.ticket === job.ticket;
      await requeueWithNewTicket(rt, found, holding, 'its queue message was lost; sending a new one', log, summary);
    } else if (job.state === 'editing' && leaseExpired(job, now)) {
      await recoverLostWorker(rt, id, found, log, baseLog, summary);
    } else if (publishOverdue(job, now)) {
      // Whatever version of the output is there now: a late attempt may have replaced the recorded one.
      const output = job.edit?.output;
      if (output) {
        await publishEditedBlob(rt, output.name, undefined, baseLog, 'sweep');
        summary.republished++;
      }
    }
  }
}

/**
 * An editing job whose lease ran out: its worker was lost. Its output, if written, is published; otherwise
 * the job is retried, or fails once its attempts are used up.
 */
async function recoverLostWorker(
  rt: JobContext,
  id: string,
  found: Versioned<JobRecord>,
  log: Logger,
  baseLog: Logger,
  summary: SweepSummary,
): Promise<void> {
  const job = found.value;
  const output = await existingOutput(rt, job);
  if (output) {
    // The worker wrote the edit and died before recording it: publish it instead of paying for another call.
    await publishEditedBlob(rt, output.name, output.etag, baseLog, 'sweep');
    summary.republished++;
  } else if (job.attempts >= rt.config.model.maxAttempts) {
    const error = {
      code: JOB_ERROR.workerLost,
      message: `no result after ${job.attempts} attempts; the last worker was lost mid-call`,
    };
    await endWithoutEdit(
      rt,
      id,
      (j) => j.state === 'editing' && leaseExpired(j, rt.now()),
      'failed',
      error,
      [error.message],
      log,
    );
    summary.failed++;
  } else {
    const holding = (j: JobRecord) => j.state === 'editing' && leaseExpired(j, rt.now());
    await requeueWithNewTicket(rt, found, holding, 'the edit worker was lost (lease ran out); retrying', log, summary);
  }
}

/**
 * Back to `queued` under a new ticket, so any message of the old one is ignored, and a fresh message sent;
 * only while `holding` still describes the record.
 */
async function requeueWithNewTicket(
  rt: JobContext,
  found: Versioned<JobRecord>,
  holding: (job: JobRecord) => boolean,
  note: string,
  log: Logger,
  summary: SweepSummary,
): Promise<void> {
  const id = found.value.id;
  const changes = (j: JobRecord) => ({ ticket: j.ticket + 1 });
  const after = (await advance(rt, id, holding, 'queued', log, { note }, changes, found))?.value;
  if (!after) return;
  await rt.queue.send({ jobId: id, ticket: after.ticket, drop: after.drop, traceparent: after.traceparent });
  summary.requeued++;
}

/** An edited job whose event (or hand-off) is overdue, or a publishing job whose publisher was lost. */
function publishOverdue(job: JobRecord, now: Date): boolean {
  if (job.state === 'publishing') return leaseExpired(job, now);
  const grace = job.outputEvent ? HANDED_OFF_GRACE_MS : EDITED_GRACE_MS;
  return job.state === 'edited' && now.getTime() - Date.parse(job.updatedAt) > grace;
}

async function drainPoison(rt: JobContext, baseLog: Logger, summary: SweepSummary): Promise<void> {
  for (let batch = await rt.poison.receive(); batch.length > 0; batch = await rt.poison.receive()) {
    for (const item of batch) {
      try {
        const message = decodeMessage(item.text);
        const found = await rt.ledger.get(message.jobId);
        if (found && !isTerminal(found.value.state) && found.value.ticket === message.ticket) {
          const error = {
            code: JOB_ERROR.poison,
            message: `the edit worker failed on this job ${item.dequeueCount} times in a row (crash or unexpected error); see the function's logs`,
          };
          const unclaimed = (j: JobRecord) =>
            !isTerminal(j.state) && j.ticket === message.ticket && (j.state !== 'editing' || leaseExpired(j, rt.now()));
          await endWithoutEdit(
            rt,
            message.jobId,
            unclaimed,
            'failed',
            error,
            [error.message],
            jobLogger(baseLog, found.value),
          );
          summary.poisoned++;
        }
      } catch (err) {
        baseLog.warn(`dropping an unreadable poison message: ${(err as Error).message}`);
      }
      await item.remove();
    }
  }
}

/**
 * Replays the events Event Grid gave up on. Each event is handled on its own: one that fails is
 * reported and its batch kept for the next sweep (with only the failed events left in it), so one bad
 * event never blocks the others.
 */
async function replayDeadLetters(rt: JobContext, log: Logger, summary: SweepSummary): Promise<void> {
  for await (const blob of rt.blobs.deadLetters()) {
    let events: unknown[];
    try {
      const parsed = JSON.parse(await blob.text()) as unknown;
      events = Array.isArray(parsed) ? parsed : [parsed];
    } catch (err) {
      log.warn(`dead-letter blob ${blob.name} is not JSON (${(err as Error).message}); leaving it for a person`);
      continue;
    }
    const failed: unknown[] = [];
    for (const raw of events) {
      const event = parseBlobCreated(raw);
      if (!event.ok) continue;
      try {
        if (event.container === CONTAINERS.inbox) await intakeBlob(rt, event.blobName, event.etag, log);
        else if (event.container === CONTAINERS.edited)
          await publishEditedBlob(rt, event.blobName, event.etag, log, 'sweep');
        summary.deadLettersReplayed++;
      } catch (err) {
        failed.push(raw);
        summary.deadLettersFailed++;
        log.error(
          `dead-lettered event for ${event.container}/${event.blobName} failed again: ${(err as Error).message}; the next sweep retries it`,
        );
      }
    }
    if (failed.length === 0) await rt.blobs.removeDeadLetter(blob.name);
    else if (failed.length < events.length) await rt.blobs.rewriteDeadLetter(blob.name, JSON.stringify(failed));
  }
}

export async function sweep(rt: JobContext, log: Logger): Promise<SweepSummary> {
  const summary: SweepSummary = {
    incompleteRejected: 0,
    dropsRecovered: 0,
    requeued: 0,
    failed: 0,
    republished: 0,
    poisoned: 0,
    deadLettersReplayed: 0,
    deadLettersFailed: 0,
    upgradeIndexed: 0,
    expired: 0,
  };
  const walk = await upgradeIndex(rt.ledger, UPGRADE_PAGES_PER_SWEEP, undefined, { yieldToWalkerMs: WALKER_ALIVE_MS });
  summary.upgradeIndexed = walk.indexed;
  await sweepPending(rt, log, summary);
  await drainPoison(rt, log, summary);
  await sweepActive(rt, log, summary);
  await replayDeadLetters(rt, log, summary);
  summary.expired = await applyRetention(rt);
  // Advisory: figures that cannot be read this run are read on the next.
  await readLiveFigures(rt).then(
    (live) => recordGauges(gaugesOf(live)),
    (err: unknown) => log.warn(`could not read the operations figures: ${(err as Error).message}`),
  );
  return summary;
}
