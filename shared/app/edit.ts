/**
 * Edit: a message on `edit-jobs`, due shortly before the job's model slot. Wait for the slot, claim the
 * job, call images/edits with the mask, and write the model's bytes untouched to
 * `edited/<path>/<stem>.<ext>`: staged there as the answer arrives, committed once it is whole. A 429
 * puts the job back in the schedule after Retry-After without counting an attempt; 5xx, resets,
 * timeouts and broken answers retry with backoff up to IMAGE_MODEL_MAX_ATTEMPTS; a content-filter
 * refusal rejects the job. When the output's event reached publish before `edited` was recorded, this
 * worker publishes the job itself (./handoff.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EditMessage } from '../ports/edit-queue.js';
import type { Versioned } from './ledger.js';
import { IMAGE_MIME } from '../core/image-header.js';
import { type ModelOutcome } from '../ports/image-model.js';
import { tracedModelCall, withCallCost } from './telemetry/job-trace.js';
import type { UploadPart } from '../ports/image-model.js';
import { isConflict, isNotFound } from '../ports/errors.js';
import { formatDuration } from '../core/config.js';
import { handled } from '../core/concurrency/handled.js';
import { readImageHeader, type ImageFormat } from '../core/image-header.js';
import { maskLimits, type MaskLimits } from '../core/mask-limits.js';
import { isTerminal, leaseExpired, type EditOutput, type JobRecord, type PartRef } from '../core/job.js';
import { JOB_ERROR, type JobErrorCode } from '../core/job-errors.js';
import { jobLogger, type Logger } from '../core/log.js';
import { sameSlotTime } from '../core/pacing.js';
import type { PoolSlot } from './deployment-pool.js';
import { dropRequirement } from '../core/pool/select.js';
import type { JobContext } from './job-context.js';
import { outputEventSpent } from './handoff.js';
import { intakeDrop } from './intake.js';
import { publishEditedBlob } from './publish.js';
import { rebalancePool } from './rebalance-pool.js';
import { advance, endWithoutEdit, existingOutput, holdsEditLease, outputName, releaseLease, requeue } from './steps.js';

export type EditResult =
  'stale' | 'busy' | 'missing' | 'deferred' | 'edited' | 'throttled' | 'retrying' | 'rejected' | 'failed';

/** A reserved slot this close ahead is waited for in place; a later one goes back on the queue. */
const MAX_INLINE_WAIT_MS = 15_000;
/**
 * The job is claimed and its inputs read this long before its slot, so the call leaves at the slot time
 * rather than after that work, whose duration varies with the machine's load.
 */
const PREPARE_MS = 1_000;
/** How long a job close to its slot waits, at most, for the pool's re-balancing it started (a few storage calls). */
const REBALANCE_BUDGET_MS = 300;
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

/** A job this message may work on, with the guard that says it is still this message's. */
interface Assigned {
  current: Versioned<JobRecord>;
  mine: (j: JobRecord) => boolean;
  log: Logger;
}

/** What the model call left: the claim it ran under and its outcome. */
interface Called {
  claimed: Versioned<JobRecord>;
  startedAt: Date;
  /** `unusable`: the inputs could not be prepared for the model (no call was made). */
  outcome: ModelOutcome | 'superseded' | { unusable: string };
  /** The output's version before this call (null: none), the only one the result may replace. */
  priorOutput: string | null;
  /** The model slot the call was made in. */
  slot: PoolSlot;
}

export async function processEditMessage(rt: JobContext, message: EditMessage, baseLog: Logger): Promise<EditResult> {
  const assigned = await assignJob(rt, message, baseLog);
  if (typeof assigned === 'string') return assigned;
  const { current, mine, log } = assigned;
  const job = current.value;
  if (job.attempts >= rt.config.model.maxAttempts) {
    const error = {
      code: JOB_ERROR.workerLost,
      message: `no result after ${job.attempts} attempts; the last worker was lost mid-call`,
    };
    await endWithoutEdit(rt, job.id, mine, 'failed', error, [error.message], log, current);
    return 'failed';
  }
  const slot = await waitForSlot(rt, assigned, message.ticket);
  if (typeof slot === 'string') return slot;
  const called = await rt.modelSlots.run(() => claimAndCall(rt, assigned, slot));
  if (!called) return 'busy';
  const holding = holdsEditLease(rt, called.claimed.value.attempts);
  if (called.outcome === 'superseded') {
    const error = {
      code: JOB_ERROR.superseded,
      message: 'the image or mask was replaced or deleted after the drop was accepted; a re-upload is a new job',
    };
    await endWithoutEdit(rt, job.id, holding, 'rejected', error, [error.message], log, called.claimed);
    return 'rejected';
  }
  if ('unusable' in called.outcome) {
    const error = { code: JOB_ERROR.unusableInput, message: called.outcome.unusable };
    await endWithoutEdit(rt, job.id, holding, 'rejected', error, [error.message], log, called.claimed);
    return 'rejected';
  }
  try {
    return await recordOutcome(rt, { ...called, outcome: called.outcome }, log, baseLog);
  } catch (err) {
    await releaseLease(rt, job.id, holding);
    throw err;
  }
}

/** Finds the message's job and decides whether this delivery works on it; otherwise why not. */
async function assignJob(rt: JobContext, message: EditMessage, baseLog: Logger): Promise<Assigned | EditResult> {
  let current = await rt.ledger.get(message.jobId);
  // Intake sends the message just before it writes the record: give it a moment to land (10 ms, then
  // doubling, about 2.5 s in all).
  for (let wait = 10; !current && wait <= 1280; wait *= 2) {
    await sleep(wait);
    current = await rt.ledger.get(message.jobId);
  }
  if (!current) {
    // The intake that sent this message died before writing the record: assess the drop again.
    await intakeDrop(rt, message.drop, baseLog, { settled: true });
    current = await rt.ledger.get(message.jobId);
    if (!current) return 'missing';
  }
  const job = current.value;
  const log = jobLogger(baseLog, job);
  if (job.ticket !== message.ticket || isTerminal(job.state) || job.state === 'edited' || job.state === 'publishing')
    return 'stale';
  if (job.state === 'editing' && !leaseExpired(job, rt.now())) return 'busy';
  const mine = (j: JobRecord) =>
    j.ticket === message.ticket && (j.state === 'queued' || (j.state === 'editing' && leaseExpired(j, rt.now())));
  if (job.state === 'editing') {
    // The lost attempt may have written its output before dying: that is published, not paid for again.
    if (await existingOutput(rt, job)) {
      log.info('the lost attempt left its output in edited/; the publish step (or the sweep) records it');
      return 'stale';
    }
    log.warn(`attempt ${job.attempts} was lost with its worker (lease ran out); taking over`);
  }
  return { current, mine, log };
}

/**
 * Pacing: uses the slot reserved for this job if it is still fresh, of its deployment's current epoch
 * (the service has not throttled since) and the deployment is not taken out (circuit breaker),
 * otherwise reserves the next one in the pool, with another deployment when this one is out (unless it is back
 * by the slot's time), giving the old slot back. A slot close ahead is waited for in place; a later one puts the
 * job back on the queue. Either way the worker also re-balances the pool (./rebalance-pool.ts).
 */
async function waitForSlot(
  rt: JobContext,
  { current, mine, log }: Assigned,
  ticket: number,
): Promise<PoolSlot | 'deferred' | 'busy'> {
  const job = current.value;
  const now = rt.now().getTime();
  const key = `${job.id}:${ticket}`;
  const member = rt.pool.member(job.deployment).id;
  const reserved = job.notBefore
    ? { at: Date.parse(job.notBefore), epoch: job.slotEpoch ?? 0, deployment: member }
    : undefined;
  const fresh =
    reserved && reserved.at >= now - SLOT_GRACE_MS && reserved.epoch >= (await rt.pool.pacer(member).epoch());
  // The breaker is asked only when the call is close: a half-open probe claimed now must not wait in the queue.
  let admitted = fresh && (reserved.at - now > MAX_INLINE_WAIT_MS || (await rt.pool.admit(member, key)));
  const backAt = fresh && !admitted ? await rt.pool.backAt(member) : undefined;
  if (reserved && backAt !== undefined && backAt <= reserved.at) {
    // Out now but back by the slot's time: waiting keeps the job's place, and makes it the probe that lets the
    // member back (moved away, its place would be idle while the job waits at another member's tail).
    await sleep(Math.max(0, backAt - rt.now().getTime()));
    admitted = await rt.pool.admit(member, key);
  }
  const slot: PoolSlot =
    admitted && reserved
      ? reserved
      : await rt.pool.reserve(key, { ...dropRequirement(rt.config), ...(fresh ? { avoid: member } : {}) });
  if (fresh && !admitted) {
    log.warn(`deployment ${member} is taken out (circuit open); the job moves to ${slot.deployment}`);
    // The member's schedule must not count the slot once the member is back (./rebalance.ts fills it).
    if (!sameSlotTime(slot.at, reserved.at)) await rt.pool.releaseHeld(job.id, reserved);
  }
  const wait = slot.at - rt.now().getTime();
  if (wait > MAX_INLINE_WAIT_MS) {
    const note = `waiting ${formatDuration(wait)} for a model slot with ${slot.deployment}`;
    const options = { known: current, epoch: slot.epoch, deployment: slot.deployment };
    const requeued = await requeue(rt, job, mine, slot.at, log, { note }, options);
    await rebalancePool(rt, log);
    return requeued ? 'deferred' : 'busy';
  }
  // Meanwhile jobs reserved far ahead may move to a member with room (./rebalance-pool.ts). The look never fails
  // and never holds the job up by more than REBALANCE_BUDGET_MS, within the PREPARE_MS the call has in hand;
  // a job already late does not wait for it at all.
  const looking = rebalancePool(rt, log);
  if (wait > PREPARE_MS) {
    await sleep(wait - PREPARE_MS);
    await Promise.race([looking, sleep(REBALANCE_BUDGET_MS)]);
  }
  return slot;
}

/**
 * Claims the job and calls the model; run inside the concurrency bound, so a job waiting for its turn
 * holds no lease and no image in memory. The call leaves at the slot time, through the deployment's send
 * gate; an image that goes as it is streams from storage to the socket. `undefined` when another worker
 * claimed the job first.
 */
async function claimAndCall(
  rt: JobContext,
  { current, mine, log }: Assigned,
  slot: PoolSlot,
): Promise<Called | undefined> {
  const { deployment } = slot;
  const { config } = rt;
  const startedAt = rt.now();
  const leaseUntil = new Date(
    startedAt.getTime() + config.model.timeoutMs + leaseMarginMs(config.model.timeoutMs),
  ).toISOString();
  // After waiting for the slot the version read above may be stale; the write then fails and re-reads.
  const claimed = await advance(
    rt,
    current.value.id,
    mine,
    'editing',
    log,
    {},
    (j) => ({
      attempts: j.attempts + 1,
      modelCalls: j.modelCalls + 1,
      lease: { owner: rt.workerId, until: leaseUntil },
      edit: {
        startedAt: startedAt.toISOString(),
        firstStartedAt: j.edit?.firstStartedAt ?? j.edit?.startedAt ?? startedAt.toISOString(),
        deployment,
      },
      deployment,
      notBefore: undefined,
    }),
    current,
  );
  if (!claimed) return undefined;
  const job = claimed.value;
  try {
    // Asked for beside the inputs: one round trip fewer before the call, which a late job cannot make up.
    const priorOutput = handled(rt.blobs.findOutput(outputName(job)));
    let inputs: ModelInputsToSend;
    try {
      inputs = await modelInputs(rt, job, maskLimits(config.drop));
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err)) throw err;
      return { claimed, startedAt, outcome: 'superseded', priorOutput: null, slot };
    }
    if (!inputs.ok) return { claimed, startedAt, outcome: { unusable: inputs.problem }, priorOutput: null, slot };
    for (const note of inputs.notes) log.info(note);
    const priorEtag = (await priorOutput)?.etag ?? null;
    const clientRequestId = `${job.id}-${job.attempts}`;
    const member = rt.pool.member(deployment);
    const where = member.region ? ` in ${member.region}` : '';
    log.info(
      `calling ${member.deployment}${where} images/edits (attempt ${job.attempts}, client request ${clientRequestId})`,
    );
    const model = await rt.pool.model(deployment);
    const early = slot.at - rt.now().getTime();
    if (early > 0) await sleep(early);
    await rt.pool.turn(deployment);
    const edit = {
      image: inputs.image,
      imageName: inputs.imageName,
      mask: inputs.mask,
      request: job.request!,
      clientRequestId,
      // The answer's image goes into edited/ as it arrives, uncommitted until recordOutcome commits it.
      output: (image: AsyncIterable<Buffer>) => rt.blobs.stageOutput(outputName(job), image),
    };
    const site = { jobId: job.id, drop: job.drop.key, deployment, model: member.model, attempt: job.attempts };
    const outcome = await tracedModelCall(site, () => model.edit(edit));
    if (outcome.kind === 'transient' && outcome.notSent) rt.pool.unsentTurn(deployment);
    return { claimed, startedAt, priorOutput: priorEtag, slot, outcome };
  } catch (err) {
    await releaseLease(rt, job.id, holdsEditLease(rt, job.attempts));
    throw err;
  }
}

type ModelInputsToSend =
  | { ok: true; image: Blob | UploadPart; imageName: string; mask: Blob | UploadPart; notes: string[] }
  | { ok: false; problem: string };

/**
 * What the model is sent. Parts that go as they are (an upright image, a mask that fits) are streamed from
 * `inbox/` into the request; otherwise both are read and prepared in memory (turned upright, the mask
 * re-encoded to fit). Intake has checked the mask's pixels already. Reads are under the parts' ETags.
 */
async function modelInputs(rt: JobContext, job: JobRecord, limits: MaskLimits): Promise<ModelInputsToSend> {
  const [imagePart, maskPart] = [job.inputs.image!, job.inputs.mask!];
  const files = { image: fileName(imagePart), mask: fileName(maskPart) };
  const [imageSample, maskSample] = await Promise.all(
    [imagePart, maskPart].map((p) => rt.blobs.samplePart(p, rt.config.drop.maxImageBytes)),
  );
  const imageHeader = readImageHeader({
    head: imageSample!.head,
    tail: imageSample!.tail,
    totalBytes: imagePart.bytes,
  });
  const maskHeader = readImageHeader({ head: maskSample!.head, tail: maskSample!.tail, totalBytes: maskPart.bytes });
  const asIs =
    imageHeader.ok &&
    maskHeader.ok &&
    imageHeader.header.orientation === 1 &&
    maskHeader.header.orientation === 1 &&
    maskPart.bytes < limits.maxBytesExclusive;
  if (asIs) {
    const format: ImageFormat = imageHeader.header.format;
    return {
      ok: true,
      image: sampledOrStreamed(rt, imagePart, imageSample!.head, IMAGE_MIME[format]),
      imageName: files.image,
      mask: sampledOrStreamed(rt, maskPart, maskSample!.head, 'image/png'),
      notes: [],
    };
  }
  const [image, mask] = await Promise.all([rt.blobs.readPart(imagePart), rt.blobs.readPart(maskPart)]);
  const prepared = await rt.imaging.prepareModelInputs(files, image, mask, limits);
  if (!prepared.ok) return prepared;
  return {
    ok: true,
    image: new Blob([new Uint8Array(prepared.image)], { type: IMAGE_MIME[prepared.format] }),
    imageName: files.image,
    mask: new Blob([new Uint8Array(prepared.mask)], { type: 'image/png' }),
    notes: prepared.notes,
  };
}

function fileName(part: PartRef): string {
  return part.name.slice(part.name.lastIndexOf('/') + 1);
}

/** A part the sample read whole (up to 128 KiB: most masks) goes from those bytes; a larger one is streamed. */
function sampledOrStreamed(rt: JobContext, part: PartRef, head: Uint8Array, type: string): Blob | UploadPart {
  return head.length === part.bytes ? new Blob([new Uint8Array(head)], { type }) : uploadPart(rt, part, type);
}

/** A part of the drop, streamed from `inbox/` when the model call's body gets to it. */
function uploadPart(rt: JobContext, part: PartRef, type: string): UploadPart {
  return { name: fileName(part), type, size: part.bytes, open: () => rt.blobs.streamPart(part) };
}

/**
 * Writes the model's answer down: the output and `edited`, a requeue, or the end of the job. `log` is
 * the job's logger; `baseLog` the function's (publish tags its own lines). One handler per outcome kind.
 */
async function recordOutcome(
  rt: JobContext,
  called: Called & { outcome: ModelOutcome },
  log: Logger,
  baseLog: Logger,
): Promise<EditResult> {
  const { outcome } = called;
  const deployment = rt.pool.member(called.claimed.value.deployment).id;
  await reportToPool(rt, deployment, outcome, log);
  const rec = recording(rt, called, deployment, log, baseLog);
  switch (outcome.kind) {
    case 'ok':
      return recordEdited(rec, outcome);
    case 'throttled':
      return requeueThrottled(rec, outcome);
    case 'blocked':
      return waitOutBlock(rec, outcome.message);
    case 'refused':
    case 'invalid':
      return rejectRequest(rec, outcome);
    case 'misconfigured':
    case 'transient':
      return retryFailedCall(rec, outcome);
  }
}

type OutcomeOf<K extends ModelOutcome['kind']> = Extract<ModelOutcome, { kind: K }>;

/** One model answer being written down: what every outcome's handler needs. */
interface Recording {
  rt: JobContext;
  called: Called & { outcome: ModelOutcome };
  log: Logger;
  baseLog: Logger;
  claimedVersion: Versioned<JobRecord>;
  claimed: JobRecord;
  attempt: number;
  holding: (j: JobRecord) => boolean;
  /** The pool member the call was made with. */
  deployment: string;
  /** The call as the job's `edit` records it. */
  call: {
    startedAt: string;
    endedAt: string;
    clientRequestId: string;
    deployment: string;
    requestId?: string;
  };
  withRequest: { requestId?: string };
}

/** Tells the pool how the member answered: its breaker, and its schedule when the quota ran out. */
async function reportToPool(rt: JobContext, deployment: string, outcome: ModelOutcome, log: Logger): Promise<void> {
  // Advisory, like the quota signal below: a breaker that cannot be updated must not cost the job its result.
  const failed = outcome.kind === 'transient' || outcome.kind === 'misconfigured';
  await rt.pool
    .report(deployment, outcome.kind === 'blocked' ? 'blocked' : failed ? 'failed' : 'answered')
    .catch((err: unknown) => log.warn(`could not record ${deployment}'s health: ${(err as Error).message}`));
  if (outcome.remaining === 0 || outcome.kind === 'throttled') {
    // Advisory: a schedule that cannot be updated under contention must not cost the job its result.
    await rt.pool
      .pacer(deployment)
      .observe({
        remaining: outcome.remaining,
        retryAfterMs: outcome.kind === 'throttled' ? outcome.retryAfterMs : undefined,
      })
      .catch((err: unknown) => log.warn(`could not record the quota signal: ${(err as Error).message}`));
  }
}

/** The claim, the guard and the call's record every handler writes with; the call ends now. */
function recording(
  rt: JobContext,
  called: Called & { outcome: ModelOutcome },
  deployment: string,
  log: Logger,
  baseLog: Logger,
): Recording {
  const { claimed: claimedVersion, outcome } = called;
  const claimed = claimedVersion.value;
  const attempt = claimed.attempts;
  const holding = holdsEditLease(rt, attempt);
  const requestId = outcome.requestId;
  const call = {
    startedAt: called.startedAt.toISOString(),
    endedAt: rt.now().toISOString(),
    clientRequestId: `${claimed.id}-${attempt}`,
    deployment,
    ...(requestId ? { requestId } : {}),
  };
  const withRequest = requestId ? { requestId } : {};
  return { rt, called, log, baseLog, claimedVersion, claimed, attempt, holding, deployment, call, withRequest };
}

/** The model answered with an image: commit it, record `edited`, and publish if the event came first. */
async function recordEdited(rec: Recording, outcome: OutcomeOf<'ok'>): Promise<EditResult> {
  const { rt, called, log, baseLog, claimedVersion, claimed, holding, deployment, call, withRequest } = rec;
  const stored = await storeOutput(claimed, outcome, called.priorOutput);
  if (stored.kind === 'discarded') {
    const name = outputName(claimed);
    const message = `another write to edited/${name} discarded this attempt's output before it was committed`;
    return retryOrFail(rec, { code: JOB_ERROR.outputDiscarded, message });
  }
  if (stored.kind === 'superseded') {
    const error = {
      code: JOB_ERROR.superseded,
      message: 'a newer upload of this drop was edited first; its output stands',
    };
    await endWithoutEdit(rt, claimed.id, holding, 'rejected', error, [error.message], log, claimedVersion);
    return 'rejected';
  }
  const { output, note } = stored;
  const model = rt.pool.member(deployment).model;
  const changes = (j: JobRecord) => ({
    edit: { ...j.edit!, ...call, output },
    ...withCallCost(j, model, outcome.usage),
  });
  const after = await advance(
    rt,
    claimed.id,
    holding,
    'edited',
    log,
    { ...withRequest, ...(note ? { note } : {}) },
    changes,
    claimedVersion,
  );
  if (!after) log.warn('the job was taken over while this attempt ran; the attempt holding it records the output');
  else if (outputEventSpent(after.value)) await publishHandedOff(rt, after.value, log, baseLog);
  return 'edited';
}

/** A 429: the job goes back in the schedule after Retry-After, the attempt not counted. */
async function requeueThrottled(rec: Recording, outcome: OutcomeOf<'throttled'>): Promise<EditResult> {
  const { rt, log, claimedVersion, claimed, attempt, holding, call, withRequest } = rec;
  const note = `throttled (429); retrying after at least ${formatDuration(outcome.retryAfterMs)}`;
  const changes = { attempts: attempt - 1, throttled: claimed.throttled + 1, edit: call };
  const ok = await requeue(
    rt,
    claimed,
    holding,
    rt.now().getTime() + outcome.retryAfterMs,
    log,
    { note, ...withRequest },
    { reserve: true, known: claimedVersion, changes },
  );
  return ok ? 'throttled' : 'busy';
}

/** The content filter refused the prompt, or the service rejected the request: the drop's fault, so the end. */
async function rejectRequest(rec: Recording, outcome: OutcomeOf<'refused' | 'invalid'>): Promise<EditResult> {
  const { rt, log, claimedVersion, claimed, holding } = rec;
  const problem =
    outcome.kind === 'refused'
      ? `the model's content filter refused the prompt: ${outcome.message}`
      : `the service rejected the request (HTTP ${outcome.status}): ${outcome.message}`;
  await endWithoutEdit(
    rt,
    claimed.id,
    holding,
    'rejected',
    { code: outcome.code, message: outcome.message },
    [problem],
    log,
    claimedVersion,
  );
  return 'rejected';
}

/** A transient failure or a misconfiguration: retried, keeping the slot when the call may not have happened. */
async function retryFailedCall(rec: Recording, outcome: OutcomeOf<'misconfigured' | 'transient'>): Promise<EditResult> {
  const { log, deployment } = rec;
  // A wrong endpoint, deployment or api-version is the app's fault, not the drop's: retried like a transient failure.
  if (outcome.kind === 'misconfigured')
    log.error(`the app is misconfigured: check ${outcome.setting} (${outcome.message})`);
  const error = { code: outcome.code, message: outcome.message };
  if (outcome.kind === 'transient' && outcome.notSent) return retryOrFail(rec, error, { notSent: true });
  if (outcome.kind === 'transient' && outcome.unanswered) return retryOrFail(rec, error, { unanswered: true });
  return retryOrFail(rec, error, { avoid: deployment });
}

/**
 * Azure blocked the deployment's resource: not the drop's fault and not an attempt of its own. The job
 * waits for another member, or for this one to answer a probe again (its breaker is open).
 */
async function waitOutBlock(rec: Recording, message: string): Promise<EditResult> {
  const { rt, log, claimedVersion, claimed, attempt, holding, deployment, call, withRequest } = rec;
  log.warn(
    `${deployment} is blocked by Azure content policy (HTTP 403: ${message}); it is out of the pool until a probe succeeds`,
  );
  const note = `${deployment} is blocked by Azure content policy; waiting for another deployment or its return`;
  const changes = { attempts: attempt - 1, edit: call };
  const details = { note, error: { code: JOB_ERROR.resourceBlocked, message }, ...withRequest };
  const options = { reserve: true, avoid: deployment, known: claimedVersion, changes } as const;
  const ok = await requeue(rt, claimed, holding, rt.now().getTime(), log, details, options);
  return ok ? 'retrying' : 'busy';
}

/**
 * A failed attempt: retried after a backoff (with another member than `avoid`) until the attempts run out.
 * `notSent`: the connection failed before the request left, so nothing reached the service: the call is
 * not counted, and the retry keeps the job's slot (moved by the backoff) instead of queueing behind
 * every job scheduled since.
 */
async function retryOrFail(
  rec: Recording,
  error: { code: JobErrorCode; message: string },
  how: { avoid?: string; notSent?: boolean; unanswered?: boolean } = {},
): Promise<EditResult> {
  const { rt, called, log, claimedVersion, claimed, attempt, holding, call, withRequest } = rec;
  const { config } = rt;
  const uncounted = how.notSent ? { modelCalls: claimed.modelCalls - 1 } : {};
  if (attempt < config.model.maxAttempts) {
    const delay = backoffMs(attempt);
    const details = { error, note: `retrying in ${formatDuration(delay)} or later${keptNote(how)}`, ...withRequest };
    const changes = { edit: call, ...uncounted };
    const slot =
      how.notSent || how.unanswered
        ? { epoch: called.slot.epoch, deployment: called.slot.deployment }
        : { reserve: true, ...(how.avoid ? { avoid: how.avoid } : {}) };
    const at = rt.now().getTime() + delay;
    const ok = await requeue(rt, claimed, holding, at, log, details, { ...slot, known: claimedVersion, changes });
    return ok ? 'retrying' : 'busy';
  }
  const problems = [`the model call failed ${attempt} times; last error: ${error.message}`];
  await endWithoutEdit(rt, claimed.id, holding, 'failed', error, problems, log, claimedVersion, uncounted);
  return 'failed';
}

/** Why a retry keeps the job's slot, for its history. */
function keptNote(how: { notSent?: boolean; unanswered?: boolean }): string {
  if (how.notSent) return ' (nothing reached the model: no call counted, the job keeps its slot)';
  // Azure's images API is synchronous and has no way to fetch a finished edit by its client request id.
  if (how.unanswered)
    return ' (no answer came: the job keeps its slot; Azure may have finished and billed the call it cannot hand back)';
  return '';
}

/**
 * Commits the model's output, staged in `edited/` while it arrived, only over the version seen when this
 * attempt started, so an attempt that ran late (its lease lost) never overwrites the output of the
 * attempt, or the newer job, that replaced it. `discarded`: another write to the blob dropped the
 * staged output before it could be committed.
 */
async function storeOutput(
  job: JobRecord,
  outcome: Extract<ModelOutcome, { kind: 'ok' }>,
  priorOutput: string | null,
): Promise<{ kind: 'stored'; output: EditOutput; note?: string } | { kind: 'superseded' } | { kind: 'discarded' }> {
  const name = outputName(job);
  const { sha256, bytes } = outcome.output;
  const requestId = outcome.requestId;
  const metadata = {
    jobid: job.id,
    jobcreated: job.createdAt,
    attempt: String(job.attempts),
    sha256,
    ...(requestId ? { requestid: requestId } : {}),
  };
  let over = priorOutput;
  for (let tries = 0; tries < 3; tries++) {
    const written = await outcome.output.commit(outcome.contentType, metadata, over);
    if (written.written)
      return { kind: 'stored', output: { name, etag: written.etag, sha256, bytes, contentType: outcome.contentType } };
    const there = written.existing;
    const meta = there?.metadata ?? {};
    if (there && meta.jobid === job.id) {
      // Another attempt of this job got there first: its output is as good as this one.
      const output = {
        name,
        etag: there.etag,
        sha256: meta.sha256 ?? '',
        bytes: there.bytes,
        contentType: there.contentType ?? outcome.contentType,
      };
      return { kind: 'stored', output, note: `kept the output attempt ${meta.attempt ?? '?'} wrote` };
    }
    if (meta.jobcreated && meta.jobcreated > job.createdAt) return { kind: 'superseded' };
    if ('discarded' in written) return { kind: 'discarded' };
    over = there?.etag || null; // an older job's output, or gone: write over what is there now
  }
  throw new Error(`edited/${name} kept changing while the output was written`);
}

/** The output's event came while this worker held the job (see ./handoff.ts): publish it here, now. */
async function publishHandedOff(rt: JobContext, job: JobRecord, log: Logger, baseLog: Logger): Promise<void> {
  const output = job.edit!.output!;
  try {
    await publishEditedBlob(rt, output.name, output.etag, baseLog, 'edit');
  } catch (err) {
    // The model's work is kept: the job stays `edited` (or `publishing` under a lease) for the sweep.
    log.warn(`publishing after the hand-off failed (${(err as Error).message}); the sweep publishes it`);
  }
}
