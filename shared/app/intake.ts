/**
 * Intake: a blob landed in `inbox/`. Classify it, wait for the drop's last part, validate cheaply, check
 * the mask's pixels, tell a re-drop (./redrop.ts), claim the job exactly once and queue it. Bad input ends in `rejected/<path>/<stem>.json` and a rejected job,
 * without a model call. Safe to run any number of times for the same blob, in any order.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobInfo, DropParts } from '../ports/blob-store.js';
import { isConflict } from '../ports/errors.js';
import { formatDuration } from '../core/config.js';
import { handled } from '../core/concurrency/handled.js';
import { classifyBlobName, dropKey, type DropRef } from '../core/drop.js';
import { jobIdFor, newJob, type JobError, type JobRecord, type PartRef } from '../core/job.js';
import { JOB_ERROR } from '../core/job-errors.js';
import { jobLogger, settleLine, stateLine, type Logger } from '../core/log.js';
import { EARLY_RETURN_MS } from '../core/pacing.js';
import type { PoolSlot } from './deployment-pool.js';
import { dropRequirement } from '../core/pool/select.js';
import type { JobContext } from './job-context.js';
import { recordJobEnd } from './telemetry/job-trace.js';
import { traceOfStep } from './telemetry/trace.js';
import { MAX_SIDECAR_BYTES } from '../core/sidecar.js';
import { maskLimits } from '../core/mask-limits.js';
import type { ImageHeader } from '../core/image-header.js';
import { validateDrop, type DropSample } from '../core/validation.js';
import {
  checkRedrop,
  readKey,
  recordIdenticalRedrop,
  resultPath,
  withContentHashes,
  type RedropCheck,
} from './redrop.js';
import { announceOutcome, expectOutcomeEvent } from './outbox.js';
import { writeRejectionReport } from './steps.js';

export type IntakeOutcome = 'ignored' | 'waiting' | 'duplicate' | 'queued' | 'rejected';

const LAST_MODIFIED_RESOLUTION_MS = 1000;

const partRef = (b: BlobInfo): PartRef => ({ name: b.name, etag: b.etag, bytes: b.bytes });

/** Records a rejected job for a drop that will never reach the model, with its report. */
export async function rejectDrop(
  rt: JobContext,
  drop: DropRef,
  inputs: JobRecord['inputs'],
  problems: string[],
  error: JobError,
  log: Logger,
): Promise<IntakeOutcome> {
  const id = jobIdFor(drop, inputs);
  const job = { ...newJob(id, drop, inputs, { state: 'rejected', problems, error }, rt.now()), ...traceOfStep() };
  await writeRejectionReport(rt, job, jobLogger(log, job));
  await expectOutcomeEvent(rt, id);
  if (await rt.ledger.create(job)) {
    jobLogger(log, job).info(stateLine(job, 'new', rt.now()));
    recordJobEnd(job);
    await announceOutcome(rt, job, jobLogger(log, job));
  }
  await rt.ledger.removePending(dropKey(drop));
  return 'rejected';
}

/** Handles one `inbox/` blob name. `etag` is the event's, used only for names that cannot join a drop. */
export async function intakeBlob(
  rt: JobContext,
  name: string,
  etag: string | undefined,
  baseLog: Logger,
): Promise<IntakeOutcome> {
  const classified = classifyBlobName(name);
  if (!classified.ok) {
    const inputs = { image: { name, etag: etag ?? '', bytes: 0 } };
    const log = jobLogger(baseLog, {
      id: jobIdFor(classified.drop, inputs),
      drop: { ...classified.drop, key: dropKey(classified.drop) },
    });
    log.warn(`rejecting ${JSON.stringify(name)}: ${classified.problem}`);
    return rejectDrop(
      rt,
      classified.drop,
      inputs,
      [`${JSON.stringify(name)}: ${classified.problem}`],
      { code: JOB_ERROR.badName, message: classified.problem },
      baseLog,
    );
  }
  return intakeDrop(rt, classified.drop, baseLog);
}

/**
 * Assesses a drop as it is now; also what the sweep calls for drops whose events were lost. One at a time
 * per drop in this process: the events of a drop's parts usually arrive together, and the intakes after the
 * first then find the job and stop at the duplicate check instead of each reading, validating and reserving
 * a model slot (a slot reserved for a job that another intake created is a gap in the schedule). At most
 * INTAKE_CONCURRENCY drops at once are read and written, in the order their events came; a drop that is
 * given time to settle waits without holding a place.
 */
export function intakeDrop(
  rt: JobContext,
  drop: DropRef,
  baseLog: Logger,
  options: { settled?: boolean } = {},
): Promise<IntakeOutcome> {
  return rt.dropIntakes.run(dropKey(drop), async () => {
    for (let settled = options.settled ?? false; ; settled = true) {
      const assessed = await rt.intakeSlots.run(() => assessDrop(rt, drop, baseLog, settled));
      if (typeof assessed === 'string') return assessed;
      await sleep(assessed.settleMs);
    }
  });
}

/** What intake did with the drop, or how long to give it before looking again (see unsettledFor). */
type Assessment = IntakeOutcome | { settleMs: number };

async function assessDrop(rt: JobContext, drop: DropRef, baseLog: Logger, settled: boolean): Promise<Assessment> {
  const key = dropKey(drop);
  const parts = await rt.blobs.listDropParts(drop);
  if (!parts.image || !parts.mask) {
    if (!parts.image && !parts.mask && !parts.sidecar) return 'ignored'; // deleted since the event
    await rt.ledger.markPending(key, rt.now());
    baseLog.info(
      `drop=${key} waiting for its ${parts.image ? 'mask' : 'image'} (the sweep rejects it after ${formatDuration(rt.config.drop.deadlineMs)})`,
    );
    return 'waiting';
  }
  const settleMs = settled ? 0 : unsettledFor(rt, parts);
  if (settleMs > 0) {
    baseLog.info(settleLine(key, drop.stem, rt.config.drop.settleMs, !!parts.sidecar));
    return { settleMs };
  }
  const image = parts.image;
  const mask = parts.mask;
  const inputs: JobRecord['inputs'] = {
    image: partRef(image),
    mask: partRef(mask),
    ...(parts.sidecar ? { sidecar: partRef(parts.sidecar) } : {}),
  };
  const id = jobIdFor(drop, inputs);
  const log = jobLogger(baseLog, { id, drop: { ...drop, key } });
  if (await rt.ledger.get(id)) {
    log.info('duplicate delivery: the job already exists');
    return 'duplicate';
  }
  if (parts.images.length > 1) {
    const names = parts.images.map((p) => p.name.slice(p.name.lastIndexOf('/') + 1)).join(' and ');
    return rejectDrop(
      rt,
      drop,
      inputs,
      [`the drop has more than one image (${names}); keep exactly one`],
      { code: JOB_ERROR.ambiguousDrop, message: `more than one image: ${names}` },
      baseLog,
    );
  }
  const at: DropAtHand = { drop, key, id, inputs, log, baseLog };
  const checked = await checkDrop(rt, at, image, mask, parts.sidecar);
  if (typeof checked === 'string') return checked;
  const { hashed, result, redrop } = checked;
  if (redrop.kind === 'identical') {
    await recordIdenticalRedrop(rt, drop, id, hashed, redrop, baseLog);
    return 'rejected';
  }
  return queueJob(rt, at, hashed, result, redrop);
}

/** A drop with both its parts, being assessed: the job it would make and the loggers. */
interface DropAtHand {
  drop: DropRef;
  key: string;
  id: string;
  inputs: JobRecord['inputs'];
  /** The job's logger; `baseLog` the function's. */
  log: Logger;
  baseLog: Logger;
}

type ValidDrop = Extract<ReturnType<typeof validateDrop>, { ok: true }>;

/** What the checks found in a drop that passed them: its parts' content hashes and its earlier results. */
interface CheckedDrop {
  hashed: JobRecord['inputs'];
  result: ValidDrop;
  redrop: RedropCheck;
}

/**
 * Reads and checks the drop: validation, the mask's pixels, the parts' content hashes and whether it is a
 * re-drop. Otherwise what intake did with it (rejected, or ignored because a part changed meanwhile).
 */
async function checkDrop(
  rt: JobContext,
  at: DropAtHand,
  image: BlobInfo,
  mask: BlobInfo,
  sidecar: BlobInfo | undefined,
): Promise<IntakeOutcome | CheckedDrop> {
  const { drop, inputs, log, baseLog } = at;
  // Parts read whole on the way (the sidecar, the mask) are hashed from those bytes, not read again.
  const read = new Map<string, Buffer>();
  const result = await validateParts(rt, at, image, mask, sidecar, read);
  if (typeof result === 'string') return result;
  // The mask's pixels, the image's hash and the drop's earlier results are independent reads: asked for at
  // once they cost intake one round trip instead of three, which in a burst is what the first job's model
  // slot waits for (each behind every other drop's requests to storage). A rejected mask wastes two of them.
  const streaming = new Map([[readKey(image), handled(rt.blobs.hashPart(image))]]);
  const earlierResults = handled(rt.blobs.findResults(drop));
  let maskCheck: MaskCheck;
  try {
    maskCheck = await checkMaskPixels(rt, mask, result.mask, read);
  } catch (err) {
    if (!isConflict(err)) throw err;
    log.info('the mask changed while it was being read; the new version has its own event');
    return 'ignored';
  }
  if (!maskCheck.ok) {
    log.warn(`rejected: ${maskCheck.problem}`);
    const error = { code: JOB_ERROR.invalidMask, message: maskCheck.problem };
    return rejectDrop(rt, drop, inputs, [maskCheck.problem], error, baseLog);
  }
  if (maskCheck.note) log.info(maskCheck.note);
  let hashed: JobRecord['inputs'];
  let redrop: RedropCheck;
  try {
    hashed = await withContentHashes(rt, inputs, read, streaming);
    redrop = await checkRedrop(rt, drop, hashed, result.request, earlierResults);
  } catch (err) {
    if (!isConflict(err)) throw err;
    log.info('a part changed while it was being read; the new version has its own event');
    return 'ignored';
  }
  return { hashed, result, redrop };
}

/** Samples the drop's parts (keeping those read whole in `read`) and validates them; a bad drop is rejected. */
async function validateParts(
  rt: JobContext,
  { drop, inputs, log, baseLog }: DropAtHand,
  image: BlobInfo,
  mask: BlobInfo,
  sidecar: BlobInfo | undefined,
  read: Map<string, Buffer>,
): Promise<IntakeOutcome | ValidDrop> {
  let sample: DropSample;
  try {
    sample = await sampleDrop(rt, image, mask, sidecar, read);
  } catch (err) {
    if (!isConflict(err)) throw err;
    log.info('a part changed while it was being read; the new version has its own event');
    return 'ignored';
  }
  const result = validateDrop(sample, rt.config.drop);
  if (!result.ok) {
    log.warn(`rejected: ${result.problems.join('; ')}`);
    return rejectDrop(
      rt,
      drop,
      inputs,
      result.problems,
      { code: JOB_ERROR.invalidDrop, message: result.problems.join('; ') },
      baseLog,
    );
  }
  return result;
}

/** Reserves the job's model slot, sends its message and creates its record: the drop is queued. */
async function queueJob(
  rt: JobContext,
  { drop, key, id, log }: DropAtHand,
  hashed: JobRecord['inputs'],
  result: ValidDrop,
  redrop: RedropCheck,
): Promise<IntakeOutcome> {
  const replaces =
    redrop.kind === 'changed' ? { jobId: redrop.earlier.id, result: resultPath(redrop.result) } : undefined;
  if (replaces)
    log.info(`a changed re-drop: replaces job ${replaces.jobId} (${replaces.result}, kept as a blob version)`);
  // The job's model slot is reserved now (a duplicate intake gets the same one), so a burst of drops
  // fills the schedule at once and each message stays invisible until shortly before its slot.
  const slot = await rt.pool.reserve(`${id}:0`, dropRequirement(rt.config));
  // Loads the model SDK and client while the job waits for its slot, not when the call is due (a failure
  // here is the call's to report).
  rt.pool.model(slot.deployment).catch(() => undefined);
  const job = {
    ...newJob(id, drop, hashed, { state: 'queued', request: result.request, slot }, rt.now()),
    ...(replaces ? { replaces } : {}),
    ...traceOfStep(),
  };
  // Send first, then create: a job record always has its message. A duplicate message is harmless
  // (claims are conditional), and a worker rebuilds a record that was never written from the drop.
  await rt.queue.send(
    { jobId: id, ticket: job.ticket, drop, traceparent: job.traceparent },
    slot.at - rt.now().getTime() - EARLY_RETURN_MS,
  );
  const [created] = await Promise.all([rt.ledger.create(job), rt.ledger.removePending(key)]);
  if (created) log.info(stateLine(job, 'new', rt.now()));
  else await giveBackSlot(rt, id, slot, log);
  return 'queued';
}

/**
 * Another intake (on another instance) created the job first. If it queued the job with another pool
 * member, the slot reserved here would be a gap in this member's schedule: give it back.
 */
async function giveBackSlot(rt: JobContext, id: string, slot: PoolSlot, log: Logger): Promise<void> {
  const queuedWith = (await rt.ledger.get(id))?.value.deployment;
  if (queuedWith !== undefined && queuedWith !== slot.deployment) await rt.pool.release(`${id}:0`, slot);
  log.info('duplicate delivery: another intake created the job first');
}

/**
 * A drop may still be changing: a sidecar on its way (none yet), or a re-upload in progress (its parts
 * are of very different ages). Then it gets DROP_SETTLE from its last write before intake looks again;
 * returns how long that is from now (0: settled). Last-Modified has one-second resolution, so that write may
 * have been up to a second later than it says.
 */
function unsettledFor(rt: JobContext, parts: DropParts): number {
  const { settleMs } = rt.config.drop;
  const times = [parts.image, parts.mask, parts.sidecar]
    .filter((p): p is BlobInfo => !!p)
    .map((p) => p.lastModified.getTime());
  const unsettled = !parts.sidecar || Math.max(...times) - Math.min(...times) > settleMs;
  if (!unsettled || settleMs <= 0) return 0;
  const wait = Math.max(...times) + LAST_MODIFIED_RESOLUTION_MS + settleMs - rt.now().getTime();
  return Math.max(0, Math.min(wait, settleMs + LAST_MODIFIED_RESOLUTION_MS));
}

type MaskCheck = { ok: true; note?: string } | { ok: false; problem: string };

/**
 * The mask's pixels, checked before any quota is spent: something to edit, and a size the service takes
 * (or a lossless re-encode that does; the edit step makes the same one). Bounded by MAX_IMAGE_BYTES and
 * MAX_IMAGE_DIMENSION, which validation has checked.
 */
async function checkMaskPixels(
  rt: JobContext,
  mask: BlobInfo,
  header: ImageHeader,
  read: Map<string, Buffer>,
): Promise<MaskCheck> {
  const file = mask.name.slice(mask.name.lastIndexOf('/') + 1);
  const bytes = await readWhole(rt, mask, read);
  try {
    const prepared = await rt.imaging.prepareMask(file, bytes, header, maskLimits(rt.config.drop));
    return prepared.ok ? { ok: true, ...(prepared.note ? { note: prepared.note } : {}) } : prepared;
  } catch (err) {
    // libvips' own words (a corrupt stream, too many pixels) are the most specific report there is.
    return { ok: false, problem: `${file}: the mask's pixels could not be decoded (${(err as Error).message.trim()})` };
  }
}

/** What validation needs: the parts' first and last bytes and the sidecar's text (412 if a part changed). */
async function sampleDrop(
  rt: JobContext,
  image: BlobInfo,
  mask: BlobInfo,
  sidecar: BlobInfo | undefined,
  read: Map<string, Buffer>,
): Promise<DropSample> {
  const [imageSample, maskSample, sidecarText] = await Promise.all([
    rt.blobs.samplePart(image, rt.config.drop.maxImageBytes),
    rt.blobs.samplePart(mask, rt.config.drop.maxImageBytes),
    sidecar === undefined
      ? undefined
      : sidecar.bytes > MAX_SIDECAR_BYTES
        ? 'x'.repeat(MAX_SIDECAR_BYTES + 1) // let validation word the size problem
        : readWhole(rt, sidecar, read).then((b) => b.toString('utf8')),
  ]);
  return { image: imageSample, mask: maskSample, sidecarText, metadataPrompt: image.metadata.prompt };
}

/** A part's whole content (under its ETag), kept in `read` for its hash. */
async function readWhole(rt: JobContext, part: BlobInfo, read: Map<string, Buffer>): Promise<Buffer> {
  const bytes = await rt.blobs.readPart(part);
  read.set(readKey(part), bytes);
  return bytes;
}
