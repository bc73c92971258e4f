/**
 * Edit: a message on `edit-jobs`, due shortly before the job's model slot. Wait for the slot, claim the
 * job, call images/edits with the mask, and write the model's bytes untouched to
 * `edited/<path>/<stem>.<ext>`. A 429 puts the job back in the schedule after Retry-After without
 * counting an attempt; 5xx, resets and timeouts retry with backoff up to IMAGE_MODEL_MAX_ATTEMPTS; a
 * content-filter refusal rejects the job.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { readWhole } from '../adapters/blobs.js';
import { type EditMessage, sendEditMessage } from '../adapters/edit-queue.js';
import { IMAGE_MIME, type ModelOutcome } from '../adapters/model.js';
import { isConflict, isNotFound } from '../adapters/storage.js';
import { dropBlobName } from '../drop.js';
import { readImageHeader, type ImageFormat } from '../image-header.js';
import { EARLY_RETURN_MS, type Slot } from '../pacing.js';
import type { Versioned } from '../adapters/ledger.js';
import { isTerminal, leaseExpired, transition, type EditOutput, type JobError, type JobRecord, type TransitionDetails } from '../job.js';
import { jobLogger, stateLine, type Logger } from '../log.js';
import type { Runtime } from '../runtime.js';
import { intakeDrop, writeRejectionReport } from './intake.js';

export type EditResult = 'stale' | 'busy' | 'missing' | 'deferred' | 'edited' | 'throttled' | 'retrying' | 'rejected' | 'failed';

/** A reserved slot this close ahead is waited for in place; a later one goes back on the queue. */
const MAX_INLINE_WAIT_MS = 15_000;
/** A slot reserved earlier is still used if it passed less than this long ago. */
const SLOT_GRACE_MS = 60_000;
/** Beyond the call's timeout, a lease covers reading the inputs and writing the output (up to 50 MB each). */
export function leaseMarginMs(timeoutMs: number): number {
  return Math.min(60_000, Math.max(10_000, timeoutMs / 2));
}

export function backoffMs(attempt: number, random = Math.random): number {
  const base = Math.min(60_000, 2_000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * Moves the job and logs the step; `undefined` when the job was no longer where `guard` expected it.
 * `known` is a version of the job just read or written, which saves a read.
 */
export async function advance(
  rt: Runtime,
  jobId: string,
  guard: (job: JobRecord) => boolean,
  to: JobRecord['state'],
  log: Logger,
  details: TransitionDetails = {},
  changes: (job: JobRecord) => Partial<JobRecord> = () => ({}),
  known?: Versioned<JobRecord>,
): Promise<Versioned<JobRecord> | undefined> {
  const now = rt.now();
  const result = await rt.ledger.update(jobId, (job) => (guard(job) ? transition(job, to, now, details, changes(job)) : undefined), known);
  if (result) log.info(stateLine(result.after.value, result.before.state, now));
  return result?.after;
}

/**
 * Puts the job back on the queue until `notBefore` (epoch ms), under a new ticket. With `reserve`, the
 * time is a slot reserved in the shared schedule no earlier than that, so retries queue up behind the
 * work already scheduled instead of colliding with it.
 */
async function requeue(
  rt: Runtime,
  job: JobRecord,
  guard: (j: JobRecord) => boolean,
  notBefore: number,
  log: Logger,
  details: TransitionDetails,
  options: { reserve?: boolean; epoch?: number; changes?: Partial<JobRecord>; known?: Versioned<JobRecord> } = {},
): Promise<boolean> {
  const { config } = rt;
  const slot: Slot = options.reserve
    ? await rt.ledger.reserveSlot(config.model.deployment, config.model.rpm, `${job.id}:${job.ticket + 1}`, notBefore)
    : { at: notBefore, epoch: options.epoch ?? job.slotEpoch ?? 0 };
  const at = slot.at;
  const after = (
    await advance(rt, job.id, guard, 'queued', log, details, (j) => ({ ...options.changes, ticket: j.ticket + 1, notBefore: new Date(at).toISOString(), slotEpoch: slot.epoch }), options.known)
  )?.value;
  if (!after) return false;
  await sendEditMessage(rt.editQueue, { jobId: after.id, ticket: after.ticket, drop: after.drop }, at - rt.now().getTime() - EARLY_RETURN_MS);
  return true;
}

/** Ends a job that will not be edited, with its report in `rejected/`. */
export async function endWithoutEdit(
  rt: Runtime,
  jobId: string,
  guard: (j: JobRecord) => boolean,
  to: 'rejected' | 'failed',
  error: JobError,
  problems: string[],
  log: Logger,
  known?: Versioned<JobRecord>,
): Promise<void> {
  const after = await advance(rt, jobId, guard, to, log, { error }, () => ({ problems }), known);
  if (after) await writeRejectionReport(rt, after.value);
}

/** Where a job's output goes in `edited/`: the drop's name with the output format's extension. */
export function outputName(job: JobRecord): string {
  return dropBlobName(job.drop, job.request?.outputFormat === 'jpeg' ? '.jpg' : '.png');
}

/** An output of this job (any attempt's) in edited/, which the ledger may not point at yet. */
export async function existingOutput(rt: Runtime, job: JobRecord): Promise<{ name: string; etag: string } | undefined> {
  const name = outputName(job);
  try {
    const props = await rt.containers.edited.getBlobClient(name).getProperties();
    return props.metadata?.jobid === job.id ? { name, etag: props.etag! } : undefined;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Whether this worker still holds the job for the given attempt (no takeover since it claimed). */
function holdsLease(rt: Runtime, attempt: number): (j: JobRecord) => boolean {
  return (j) => j.state === 'editing' && j.lease?.owner === rt.workerId && j.attempts === attempt;
}

/**
 * After an unexpected error with the job claimed (a storage hiccup, say), gives the lease up so the
 * message's next delivery takes the job over at once instead of waiting out the lease.
 */
async function releaseLease(rt: Runtime, jobId: string, holding: (j: JobRecord) => boolean): Promise<void> {
  const until = rt.now().toISOString();
  await rt.ledger.update(jobId, (j) => (holding(j) ? { ...j, lease: { owner: j.lease!.owner, until } } : undefined)).catch(() => undefined);
}

export async function processEditMessage(rt: Runtime, message: EditMessage, baseLog: Logger): Promise<EditResult> {
  const { config, ledger } = rt;
  let current = await ledger.get(message.jobId);
  // Intake sends the message just before it writes the record: give it a moment to land (10 ms, then
  // doubling, about 2.5 s in all).
  for (let wait = 10; !current && wait <= 1280; wait *= 2) {
    await sleep(wait);
    current = await ledger.get(message.jobId);
  }
  if (!current) {
    // The intake that sent this message died before writing the record: assess the drop again.
    await intakeDrop(rt, message.drop, baseLog, { settled: true });
    current = await ledger.get(message.jobId);
    if (!current) return 'missing';
  }
  const job = current.value;
  const log = jobLogger(baseLog, job);
  if (job.ticket !== message.ticket || isTerminal(job.state) || job.state === 'edited' || job.state === 'publishing') return 'stale';
  if (job.state === 'editing' && !leaseExpired(job, rt.now())) return 'busy';
  const ticket = message.ticket;
  const mine = (j: JobRecord) => j.ticket === ticket && (j.state === 'queued' || (j.state === 'editing' && leaseExpired(j, rt.now())));
  if (job.state === 'editing') {
    // The lost attempt may have written its output before dying: that is published, not paid for again.
    if (await existingOutput(rt, job)) {
      log.info('the lost attempt left its output in edited/; the publish step (or the sweep) records it');
      return 'stale';
    }
    log.warn(`attempt ${job.attempts} was lost with its worker (lease ran out); taking over`);
  }

  if (job.attempts >= config.model.maxAttempts) {
    const error = { code: 'worker_lost', message: `no result after ${job.attempts} attempts; the last worker was lost mid-call` };
    await endWithoutEdit(rt, job.id, mine, 'failed', error, [error.message], log, current);
    return 'failed';
  }

  // Pacing: use the slot reserved for this job if it is still fresh and of the schedule's current epoch
  // (the service has not throttled since), otherwise reserve the next one.
  const now = rt.now().getTime();
  const reserved = job.notBefore ? { at: Date.parse(job.notBefore), epoch: job.slotEpoch ?? 0 } : undefined;
  const usable = reserved && reserved.at >= now - SLOT_GRACE_MS && reserved.epoch >= (await ledger.pacerEpoch(config.model.deployment));
  const slot = usable ? reserved : await ledger.reserveSlot(config.model.deployment, config.model.rpm, `${job.id}:${ticket}`);
  const slotAt = slot.at;
  const wait = slotAt - now;
  if (wait > MAX_INLINE_WAIT_MS) {
    const ok = await requeue(rt, job, mine, slotAt, log, { note: `waiting ${Math.round(wait / 1000)} s for a model slot` }, { known: current, epoch: slot.epoch });
    return ok ? 'deferred' : 'busy';
  }
  if (wait > 0) await sleep(wait);

  // Claim, read and call inside the concurrency bound: a job waiting for its turn holds no lease and no
  // image in memory. The image goes to the SDK as a Blob and the bytes read are dropped at once.
  type Called = { claimedVersion: Versioned<JobRecord>; startedAt: Date; outcome: ModelOutcome | 'superseded'; priorOutput: string | null };
  const called = await rt.modelSlots.run(async (): Promise<Called | undefined> => {
    const startedAt = rt.now();
    const leaseUntil = new Date(startedAt.getTime() + config.model.timeoutMs + leaseMarginMs(config.model.timeoutMs)).toISOString();
    // After waiting for the slot the version read above may be stale; the write then fails and re-reads.
    const claimedVersion = await advance(
      rt,
      job.id,
      mine,
      'editing',
      log,
      {},
      (j) => ({
        attempts: j.attempts + 1,
        modelCalls: j.modelCalls + 1,
        lease: { owner: rt.workerId, until: leaseUntil },
        edit: { startedAt: startedAt.toISOString(), firstStartedAt: j.edit?.firstStartedAt ?? j.edit?.startedAt ?? startedAt.toISOString() },
        notBefore: undefined,
      }),
      current,
    );
    if (!claimedVersion) return undefined;
    const claimed = claimedVersion.value;
    try {
      let image: Blob;
      let mask: Blob;
      try {
        const bytes = await readWhole(rt.containers.inbox, claimed.inputs.image!);
        const header = readImageHeader(bytes);
        const format: ImageFormat = header.ok ? header.header.format : 'png';
        image = new Blob([new Uint8Array(bytes)], { type: IMAGE_MIME[format] });
        mask = new Blob([new Uint8Array(await readWhole(rt.containers.inbox, claimed.inputs.mask!))], { type: 'image/png' });
      } catch (err) {
        if (!isConflict(err) && !isNotFound(err)) throw err;
        return { claimedVersion, startedAt, outcome: 'superseded', priorOutput: null };
      }
      // The output's version before this call: the result is written only over that (see recordOutcome).
      const priorOutput = await rt.containers.edited
        .getBlobClient(outputName(claimed))
        .getProperties()
        .then((p) => p.etag ?? null)
        .catch((err: unknown) => {
          if (isNotFound(err)) return null;
          throw err;
        });
      const clientRequestId = `${job.id}-${claimed.attempts}`;
      log.info(`calling ${config.model.deployment} images/edits (attempt ${claimed.attempts}, client request ${clientRequestId})`);
      const model = await rt.model();
      const imageName = claimed.inputs.image!.name.slice(claimed.inputs.image!.name.lastIndexOf('/') + 1);
      return { claimedVersion, startedAt, priorOutput, outcome: await model.edit({ image, imageName, mask, request: claimed.request!, clientRequestId }) };
    } catch (err) {
      await releaseLease(rt, job.id, holdsLease(rt, claimed.attempts));
      throw err;
    }
  });
  if (!called) return 'busy';
  const { claimedVersion, startedAt, outcome, priorOutput } = called;
  const holding = holdsLease(rt, claimedVersion.value.attempts);
  if (outcome === 'superseded') {
    const error = { code: 'superseded', message: 'the image or mask was replaced or deleted after the drop was accepted; a re-upload is a new job' };
    await endWithoutEdit(rt, job.id, holding, 'rejected', error, [error.message], log, claimedVersion);
    return 'rejected';
  }
  try {
    return await recordOutcome(rt, claimedVersion, startedAt, outcome, priorOutput, log);
  } catch (err) {
    await releaseLease(rt, job.id, holding);
    throw err;
  }
}

/** Writes the model's answer down: the output and `edited`, a requeue, or the end of the job. */
async function recordOutcome(
  rt: Runtime,
  claimedVersion: Versioned<JobRecord>,
  startedAt: Date,
  outcome: ModelOutcome,
  priorOutput: string | null,
  log: Logger,
): Promise<EditResult> {
  const { config, ledger } = rt;
  const claimed = claimedVersion.value;
  const attempt = claimed.attempts;
  const clientRequestId = `${claimed.id}-${attempt}`;
  const holding = holdsLease(rt, attempt);
  const endedAt = rt.now().toISOString();
  const requestId = outcome.requestId;
  if (outcome.remaining === 0 || outcome.kind === 'throttled') {
    // Advisory: a schedule that cannot be updated under contention must not cost the job its result.
    await ledger
      .observeQuota(config.model.deployment, config.model.rpm, { remaining: outcome.remaining, retryAfterMs: outcome.kind === 'throttled' ? outcome.retryAfterMs : undefined })
      .catch((err: unknown) => log.warn(`could not record the quota signal: ${(err as Error).message}`));
  }
  const call = { startedAt: startedAt.toISOString(), endedAt, clientRequestId, ...(requestId ? { requestId } : {}) };

  switch (outcome.kind) {
    case 'ok': {
      const name = outputName(claimed);
      const sha256 = createHash('sha256').update(outcome.bytes).digest('hex');
      const edited = rt.containers.edited.getBlockBlobClient(name);
      // Written only over the version seen when this attempt started, so an attempt that ran late (its
      // lease lost) never overwrites the output of the attempt, or the newer job, that replaced it.
      let expected = priorOutput;
      let output: EditOutput | undefined;
      let note: string | undefined;
      for (let tries = 0; !output && tries < 3; tries++) {
        try {
          const written = await edited.uploadData(outcome.bytes, {
            conditions: expected ? { ifMatch: expected } : { ifNoneMatch: '*' },
            blobHTTPHeaders: { blobContentType: outcome.contentType },
            metadata: { jobid: claimed.id, jobcreated: claimed.createdAt, attempt: String(attempt), sha256, ...(requestId ? { requestid: requestId } : {}) },
          });
          output = { name, etag: written.etag!, sha256, bytes: outcome.bytes.length, contentType: outcome.contentType };
        } catch (err) {
          if (!isConflict(err)) throw err;
          const current = await edited.getProperties().catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e)));
          const meta = current?.metadata ?? {};
          if (current && meta.jobid === claimed.id) {
            // Another attempt of this job got there first: its output is as good as this one.
            output = { name, etag: current.etag!, sha256: meta.sha256 ?? '', bytes: current.contentLength ?? 0, contentType: current.contentType ?? outcome.contentType };
            note = `kept the output attempt ${meta.attempt ?? '?'} wrote`;
          } else if (current && meta.jobcreated && meta.jobcreated > claimed.createdAt) {
            const error = { code: 'superseded', message: 'a newer upload of this drop was edited first; its output stands' };
            await endWithoutEdit(rt, claimed.id, holding, 'rejected', error, [error.message], log, claimedVersion);
            return 'rejected';
          } else {
            expected = current?.etag ?? null; // an older job's output, or gone: write over what is there now
          }
        }
      }
      if (!output) throw new Error(`edited/${name} kept changing while the output was written`);
      const after = await advance(rt, claimed.id, holding, 'edited', log, { ...(requestId ? { requestId } : {}), ...(note ? { note } : {}) }, (j) => ({ edit: { ...j.edit!, ...call, output: output! } }), claimedVersion);
      if (!after) log.warn('the job was taken over while this attempt ran; the attempt holding it records the output');
      return 'edited';
    }
    case 'throttled': {
      const ok = await requeue(
        rt,
        claimed,
        holding,
        rt.now().getTime() + outcome.retryAfterMs,
        log,
        { note: `throttled (429); retrying after at least ${Math.ceil(outcome.retryAfterMs / 1000)} s`, ...(requestId ? { requestId } : {}) },
        { reserve: true, known: claimedVersion, changes: { attempts: attempt - 1, throttled: claimed.throttled + 1, edit: call } },
      );
      return ok ? 'throttled' : 'busy';
    }
    case 'refused':
    case 'invalid': {
      const problem =
        outcome.kind === 'refused' ? `the model's content filter refused the prompt: ${outcome.message}` : `the service rejected the request (HTTP ${outcome.status}): ${outcome.message}`;
      await endWithoutEdit(rt, claimed.id, holding, 'rejected', { code: outcome.code, message: outcome.message }, [problem], log, claimedVersion);
      return 'rejected';
    }
    case 'misconfigured':
    case 'transient': {
      // A wrong endpoint, deployment or api-version is the app's fault, not the drop's: retried like a transient failure.
      if (outcome.kind === 'misconfigured') log.error(`the app is misconfigured: check ${outcome.setting} (${outcome.message})`);
      const error = { code: outcome.code, message: outcome.message };
      if (attempt < config.model.maxAttempts) {
        const delay = backoffMs(attempt);
        const ok = await requeue(rt, claimed, holding, rt.now().getTime() + delay, log, { error, note: `retrying in ${Math.round(delay / 1000)} s or later`, ...(requestId ? { requestId } : {}) }, { reserve: true, known: claimedVersion, changes: { edit: call } });
        return ok ? 'retrying' : 'busy';
      }
      await endWithoutEdit(rt, claimed.id, holding, 'failed', error, [`the model call failed ${attempt} times; last error: ${outcome.message}`], log, claimedVersion);
      return 'failed';
    }
  }
}

