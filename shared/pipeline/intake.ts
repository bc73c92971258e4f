/**
 * Intake: a blob landed in `inbox/`. Classify it, wait for the drop's last part, validate cheaply, claim
 * the job exactly once and queue it. Bad input ends in `rejected/<path>/<stem>.json` and a rejected job,
 * without a model call. Safe to run any number of times for the same blob, in any order.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { listDropParts, readWhole, samplePart, writeJsonBlob, type BlobInfo } from '../adapters/blobs.js';
import { sendEditMessage } from '../adapters/edit-queue.js';
import { isConflict } from '../adapters/storage.js';
import { formatDuration } from '../config.js';
import { classifyBlobName, DROP_CONTRACT, dropBlobName, dropKey, type DropRef } from '../drop.js';
import { jobIdFor, newJob, type JobError, type JobRecord, type PartRef } from '../job.js';
import { jobLogger, stateLine, type Logger } from '../log.js';
import type { Runtime } from '../runtime.js';
import { EARLY_RETURN_MS } from '../pacing.js';
import { MAX_SIDECAR_BYTES } from '../sidecar.js';
import { validateDrop } from '../validation.js';

export type IntakeOutcome = 'ignored' | 'waiting' | 'duplicate' | 'queued' | 'rejected';

const LAST_MODIFIED_RESOLUTION_MS = 1000;

const partRef = (b: BlobInfo): PartRef => ({ name: b.name, etag: b.etag, bytes: b.bytes });

/** Writes the rejection report; the job record keeps the same problems. */
export async function writeRejectionReport(rt: Runtime, job: JobRecord): Promise<string> {
  const name = dropBlobName(job.drop, '.json');
  await writeJsonBlob(rt.containers.rejected, name, {
    drop: job.drop.key,
    jobId: job.id,
    rejectedAt: job.updatedAt,
    code: job.error?.code,
    problems: job.problems ?? [job.error?.message],
    parts: Object.fromEntries(Object.entries(job.inputs).map(([k, p]) => [k, p?.name])),
    contract: DROP_CONTRACT,
    next: 'Fix the problems and upload the drop again; a changed upload starts a new job.',
  });
  return name;
}

async function reject(rt: Runtime, drop: DropRef, inputs: JobRecord['inputs'], problems: string[], error: JobError, log: Logger): Promise<IntakeOutcome> {
  const id = jobIdFor(drop, inputs);
  const job = newJob(id, drop, inputs, { state: 'rejected', problems, error }, rt.now());
  await writeRejectionReport(rt, job);
  if (await rt.ledger.create(job)) jobLogger(log, job).info(stateLine(job, 'new', rt.now()));
  await rt.ledger.removePending(dropKey(drop));
  return 'rejected';
}

/** Handles one `inbox/` blob name. `etag` is the event's, used only for names that cannot join a drop. */
export async function intakeBlob(rt: Runtime, name: string, etag: string | undefined, baseLog: Logger): Promise<IntakeOutcome> {
  const classified = classifyBlobName(name);
  if (!classified.ok) {
    const inputs = { image: { name, etag: etag ?? '', bytes: 0 } };
    const log = jobLogger(baseLog, { id: jobIdFor(classified.drop, inputs), drop: { ...classified.drop, key: dropKey(classified.drop) } });
    log.warn(`rejecting ${JSON.stringify(name)}: ${classified.problem}`);
    return reject(rt, classified.drop, inputs, [`${JSON.stringify(name)}: ${classified.problem}`], { code: 'bad_name', message: classified.problem }, baseLog);
  }
  return intakeDrop(rt, classified.drop, baseLog);
}

/** Assesses a drop as it is now; also what the sweep calls for drops whose events were lost. */
export async function intakeDrop(rt: Runtime, drop: DropRef, baseLog: Logger, options: { settled?: boolean } = {}): Promise<IntakeOutcome> {
  const { config, ledger } = rt;
  let parts = await listDropParts(rt.containers.inbox, drop);
  const key = dropKey(drop);
  if (!parts.image || !parts.mask) {
    if (!parts.image && !parts.mask && !parts.sidecar) return 'ignored'; // deleted since the event
    await ledger.markPending(key, rt.now());
    baseLog.info(`drop=${key} waiting for its ${parts.image ? 'mask' : 'image'} (the sweep rejects it after ${formatDuration(config.drop.deadlineMs)})`);
    return 'waiting';
  }
  // A drop may still be changing: a sidecar on its way (none yet), or a re-upload in progress (its
  // parts are of very different ages). Then give it DROP_SETTLE from its last write. Last-Modified has
  // one-second resolution, so that write may have been up to a second later than it says.
  const times = [parts.image, parts.mask, parts.sidecar].filter((p): p is BlobInfo => !!p).map((p) => p.lastModified.getTime());
  const unsettled = !parts.sidecar || Math.max(...times) - Math.min(...times) > config.drop.settleMs;
  if (unsettled && !options.settled && config.drop.settleMs > 0) {
    const wait = Math.max(...times) + LAST_MODIFIED_RESOLUTION_MS + config.drop.settleMs - rt.now().getTime();
    if (wait > 0) {
      await sleep(Math.min(wait, config.drop.settleMs + LAST_MODIFIED_RESOLUTION_MS));
      parts = await listDropParts(rt.containers.inbox, drop);
      if (!parts.image || !parts.mask) return intakeDrop(rt, drop, baseLog, { settled: true });
    }
  }
  const image = parts.image;
  const mask = parts.mask;
  const inputs: JobRecord['inputs'] = { image: partRef(image), mask: partRef(mask), ...(parts.sidecar ? { sidecar: partRef(parts.sidecar) } : {}) };
  const id = jobIdFor(drop, inputs);
  const log = jobLogger(baseLog, { id, drop: { ...drop, key } });
  if (await ledger.get(id)) {
    log.info('duplicate delivery: the job already exists');
    return 'duplicate';
  }
  if (parts.images.length > 1) {
    const names = parts.images.map((p) => p.name.slice(p.name.lastIndexOf('/') + 1)).join(' and ');
    return reject(rt, drop, inputs, [`the drop has more than one image (${names}); keep exactly one`], { code: 'ambiguous_drop', message: `more than one image: ${names}` }, baseLog);
  }

  let sample;
  try {
    const sidecar = parts.sidecar;
    const [imageSample, maskSample, sidecarText] = await Promise.all([
      samplePart(rt.containers.inbox, image),
      samplePart(rt.containers.inbox, mask),
      sidecar === undefined
        ? undefined
        : sidecar.bytes > MAX_SIDECAR_BYTES
          ? 'x'.repeat(MAX_SIDECAR_BYTES + 1) // let validation word the size problem
          : readWhole(rt.containers.inbox, sidecar).then((b) => b.toString('utf8')),
    ]);
    sample = { image: imageSample, mask: maskSample, sidecarText, metadataPrompt: image.metadata.prompt };
  } catch (err) {
    if (isConflict(err)) {
      log.info('a part changed while it was being read; the new version has its own event');
      return 'ignored';
    }
    throw err;
  }
  const result = validateDrop(sample, config.drop);
  if (!result.ok) {
    log.warn(`rejected: ${result.problems.join('; ')}`);
    return reject(rt, drop, inputs, result.problems, { code: 'invalid_drop', message: result.problems.join('; ') }, baseLog);
  }
  // The job's model slot is reserved now (a duplicate intake gets the same one), so a burst of drops
  // fills the schedule at once and each message stays invisible until shortly before its slot.
  const slot = await ledger.reserveSlot(config.model.deployment, config.model.rpm, `${id}:0`);
  const job = newJob(id, drop, inputs, { state: 'queued', request: result.request, slot }, rt.now());
  // Send first, then create: a job record always has its message. A duplicate message is harmless
  // (claims are conditional), and a worker rebuilds a record that was never written from the drop.
  await sendEditMessage(rt.editQueue, { jobId: id, ticket: job.ticket, drop }, slot.at - rt.now().getTime() - EARLY_RETURN_MS);
  const [created] = await Promise.all([ledger.create(job), ledger.removePending(key)]);
  if (created) log.info(stateLine(job, 'new', rt.now()));
  else log.info('duplicate delivery: another intake created the job first');
  return 'queued';
}
