/**
 * Sweep (timer): the pipeline's safety net.
 * - Drops still missing a part after DROP_DEADLINE are rejected as incomplete (or accepted, if the part
 *   did arrive and only its event was lost).
 * - Jobs stuck in a state move on: a lost edit worker's job is retried or failed, an edited job whose
 *   event was lost is published, a lost publisher's job is published again.
 * - Messages the Functions host gave up on (the poison queue) fail their jobs with the reason.
 * - Events Event Grid could not deliver (its dead-letter container) are replayed.
 */
import { listDropParts } from '../adapters/blobs.js';
import { decodeMessage, sendEditMessage } from '../adapters/edit-queue.js';
import { CONTAINERS } from '../containers.js';
import type { DropRef } from '../drop.js';
import { parseBlobCreated } from '../events.js';
import { isTerminal, jobIdFor, leaseExpired, newJob } from '../job.js';
import { jobLogger, stateLine, type Logger } from '../log.js';
import type { Runtime } from '../runtime.js';
import { advance, endWithoutEdit, existingOutput } from './edit.js';
import { intakeBlob, intakeDrop, writeRejectionReport } from './intake.js';
import { publishEditedBlob } from './publish.js';

/** How long an edited job may wait for its BlobCreated event before the sweep publishes it itself. */
const EDITED_GRACE_MS = 2 * 60_000;
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
}

function dropFromKey(key: string): DropRef {
  const i = key.lastIndexOf('/');
  return i === -1 ? { path: '', stem: key } : { path: key.slice(0, i), stem: key.slice(i + 1) };
}

async function sweepPending(rt: Runtime, log: Logger, summary: SweepSummary): Promise<void> {
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
    const parts = await listDropParts(rt.containers.inbox, drop);
    const present = [parts.image, parts.mask, parts.sidecar].filter((p) => p !== undefined);
    const missing = parts.image ? `${drop.stem}.mask.png` : `${drop.stem}.png (or .jpg, .jpeg, .webp)`;
    const arrived = present.map((p) => p!.name.slice(p!.name.lastIndexOf('/') + 1)).join(', ');
    const inputs = Object.fromEntries(
      (['image', 'mask', 'sidecar'] as const).filter((k) => parts[k]).map((k) => [k, { name: parts[k]!.name, etag: parts[k]!.etag, bytes: parts[k]!.bytes }]),
    );
    const problem = `incomplete drop: ${arrived} arrived ${firstSeenAt.toISOString()} but ${missing} did not within ${Math.round(rt.config.drop.deadlineMs / 60_000)} minutes`;
    const job = newJob(jobIdFor(drop, inputs), drop, inputs, { state: 'rejected', problems: [problem], error: { code: 'incomplete_drop', message: problem } }, rt.now());
    await writeRejectionReport(rt, job);
    if (await rt.ledger.create(job)) jobLogger(log, job).info(stateLine(job, 'new', rt.now()));
    await rt.ledger.removePending(key);
    summary.incompleteRejected++;
  }
}

async function sweepActive(rt: Runtime, baseLog: Logger, summary: SweepSummary): Promise<void> {
  const now = rt.now();
  const queueProps = await rt.editQueue.getProperties();
  const queueEmpty = (queueProps.approximateMessagesCount ?? 0) === 0;
  for (const id of await rt.ledger.listActive()) {
    const found = await rt.ledger.get(id);
    if (!found) continue;
    const job = found.value;
    const log = jobLogger(baseLog, job);
    if (isTerminal(job.state)) {
      await rt.ledger.unmarkActive(id);
      continue;
    }
    const since = now.getTime() - Date.parse(job.notBefore ?? job.updatedAt);
    if (job.state === 'queued' && ((queueEmpty && since > QUEUED_GRACE_MS) || since > QUEUED_STALL_MS)) {
      const after = (
        await advance(rt, id, (j) => j.state === 'queued' && j.ticket === job.ticket, 'queued', log, { note: 'its queue message was lost; sending a new one' }, (j) => ({ ticket: j.ticket + 1 }), found)
      )?.value;
      if (after) {
        await sendEditMessage(rt.editQueue, { jobId: id, ticket: after.ticket, drop: after.drop });
        summary.requeued++;
      }
    } else if (job.state === 'editing' && leaseExpired(job, now)) {
      const output = await existingOutput(rt, job);
      if (output) {
        // The worker wrote the edit and died before recording it: publish it instead of paying for another call.
        await publishEditedBlob(rt, output.name, output.etag, baseLog);
        summary.republished++;
      } else if (job.attempts >= rt.config.model.maxAttempts) {
        const error = { code: 'worker_lost', message: `no result after ${job.attempts} attempts; the last worker was lost mid-call` };
        await endWithoutEdit(rt, id, (j) => j.state === 'editing' && leaseExpired(j, rt.now()), 'failed', error, [error.message], log);
        summary.failed++;
      } else {
        const after = (
          await advance(rt, id, (j) => j.state === 'editing' && leaseExpired(j, rt.now()), 'queued', log, { note: 'the edit worker was lost (lease ran out); retrying' }, (j) => ({ ticket: j.ticket + 1 }), found)
        )?.value;
        if (after) {
          await sendEditMessage(rt.editQueue, { jobId: id, ticket: after.ticket, drop: after.drop });
          summary.requeued++;
        }
      }
    } else if ((job.state === 'edited' && now.getTime() - Date.parse(job.updatedAt) > EDITED_GRACE_MS) || (job.state === 'publishing' && leaseExpired(job, now))) {
      // Whatever version of the output is there now: a late attempt may have replaced the recorded one.
      const output = job.edit?.output;
      if (output) {
        await publishEditedBlob(rt, output.name, undefined, baseLog);
        summary.republished++;
      }
    }
  }
}

async function drainPoison(rt: Runtime, baseLog: Logger, summary: SweepSummary): Promise<void> {
  for (;;) {
    const { receivedMessageItems } = await rt.editPoisonQueue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
    if (receivedMessageItems.length === 0) return;
    for (const item of receivedMessageItems) {
      try {
        const message = decodeMessage(item.messageText);
        const found = await rt.ledger.get(message.jobId);
        if (found && !isTerminal(found.value.state) && found.value.ticket === message.ticket) {
          const error = { code: 'poison', message: `the edit worker failed on this job ${item.dequeueCount} times in a row (crash or unexpected error); see the function's logs` };
          await endWithoutEdit(rt, message.jobId, (j) => !isTerminal(j.state) && j.ticket === message.ticket && (j.state !== 'editing' || leaseExpired(j, rt.now())), 'failed', error, [error.message], jobLogger(baseLog, found.value));
          summary.poisoned++;
        }
      } catch (err) {
        baseLog.warn(`dropping an unreadable poison message: ${(err as Error).message}`);
      }
      await rt.editPoisonQueue.deleteMessage(item.messageId, item.popReceipt);
    }
  }
}

async function replayDeadLetters(rt: Runtime, log: Logger, summary: SweepSummary): Promise<void> {
  const container = rt.storage.container(CONTAINERS.deadLetter);
  for await (const blob of container.listBlobsFlat()) {
    const client = container.getBlobClient(blob.name);
    const text = (await client.downloadToBuffer()).toString('utf8');
    let events: unknown[];
    try {
      const parsed = JSON.parse(text) as unknown;
      events = Array.isArray(parsed) ? parsed : [parsed];
    } catch {
      log.warn(`dead-letter blob ${blob.name} is not JSON; leaving it for a person`);
      continue;
    }
    for (const raw of events) {
      const event = parseBlobCreated(raw);
      if (!event.ok) continue;
      if (event.container === CONTAINERS.inbox) await intakeBlob(rt, event.blobName, event.etag, log);
      else if (event.container === CONTAINERS.edited) await publishEditedBlob(rt, event.blobName, event.etag, log);
      summary.deadLettersReplayed++;
    }
    await client.deleteIfExists();
  }
}

export async function sweep(rt: Runtime, log: Logger): Promise<SweepSummary> {
  const summary: SweepSummary = { incompleteRejected: 0, dropsRecovered: 0, requeued: 0, failed: 0, republished: 0, poisoned: 0, deadLettersReplayed: 0 };
  await sweepPending(rt, log, summary);
  await drainPoison(rt, log, summary);
  await sweepActive(rt, log, summary);
  await replayDeadLetters(rt, log, summary);
  return summary;
}

