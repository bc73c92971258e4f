/**
 * Publish: a blob landed in `edited/`. Verify its Content Credentials, then server-side copy the exact
 * bytes to `published/` or `quarantine/` with `<stem>.provenance.json` beside them, and finish the job.
 * A job is published at most once; a blob with no job behind it is gated all the same.
 *
 * The output's event may arrive before its edit worker has recorded `edited` (see ./handoff.ts): then
 * publish leaves a mark on the job and the worker publishes when it records the output.
 */
import { createHash } from 'node:crypto';
import type { BlobInfo, ResultOwner, WriteResult } from '../ports/blob-store.js';
import type { Versioned } from './ledger.js';
import { isConflict, isNotFound } from '../ports/errors.js';
import { dropBlobName, orphanDestination } from '../core/drop.js';
import { isTerminal, leaseExpired, sameEtag, type EditOutput, type JobRecord, type Publisher } from '../core/job.js';
import { JOB_ERROR } from '../core/job-errors.js';
import { jobLogger, type Logger } from '../core/log.js';
import type { ProvenanceReport } from '../core/provenance/gate.js';
import type { JobContext } from './job-context.js';
import { recordGate } from './telemetry/job-trace.js';
import { publishComposite, readDropParts, wantsComposite } from './publish-composite.js';
import { markOutputEvent } from './handoff.js';
import { advance, resultClash, writeRejectionReport } from './steps.js';
import { announceOutcome } from './outbox.js';

export type PublishResult =
  'published' | 'quarantined' | 'duplicate' | 'stale' | 'busy' | 'gone' | 'handed-off' | 'name-taken';

/** Long enough for a 50 MB read, verify and copy (seconds each); a lost publisher's job is retried after it. */
const PUBLISH_LEASE_MS = 60_000;

/** What the claim step found: a job this worker now holds, a finished job's stray blob, no job, or an answer. */
type Claim =
  | { kind: 'claimed'; version: Versioned<JobRecord> }
  | { kind: 'late'; job: JobRecord }
  | { kind: 'orphan' }
  | { kind: 'done'; result: PublishResult };

/** Where a blob with no job behind it goes (named by drop.ts, never on another drop's result), and whose it is. */
function orphanResult(source: BlobInfo): { blob: string; report: string; owner: ResultOwner } {
  return {
    ...orphanDestination(source.name),
    owner: { key: `edited/${source.name}`, stamp: source.lastModified.toISOString() },
  };
}

/**
 * Publishes `edited/<name>` (at version `eventEtag`, when an event names one). `by` names the function
 * doing it, recorded on the job and in the log.
 */
export async function publishEditedBlob(
  rt: JobContext,
  name: string,
  eventEtag: string | undefined,
  baseLog: Logger,
  by: Publisher = 'publish',
): Promise<PublishResult> {
  const source = await rt.blobs.findOutput(name);
  if (!source) return 'gone';
  // A newer version of the blob raises its own event; judge only the version this event is about.
  if (eventEtag && !sameEtag(eventEtag, source.etag)) return 'stale';
  const found = source.metadata.jobid ? await rt.ledger.get(source.metadata.jobid) : undefined;
  const log = found ? jobLogger(baseLog, found.value) : baseLog;
  const claim = found ? await claimJob(rt, source, found, log) : ({ kind: 'orphan' } as const);
  if (claim.kind === 'done') return claim.result;
  const job = claim.kind === 'claimed' ? claim.version.value : undefined;

  let report: ProvenanceReport;
  let judged: { sha256: string; bytes: number };
  let edited: Uint8Array | undefined;
  // A composite needs the drop's photo and mask: read while the gate judges the output.
  const parts = claim.kind === 'claimed' && job && wantsComposite(rt, job) ? readDropParts(rt, job) : undefined;
  const judging = Date.now();
  try {
    ({ report, judged, bytes: edited } = await judge(rt, source, job));
  } catch (err) {
    if (isConflict(err) || isNotFound(err)) return 'stale';
    throw err;
  }
  recordGate(job, judging, report);
  if (claim.kind === 'late') {
    report.verdict = 'quarantine';
    report.reasons.push(
      `written to edited/ after job ${claim.job.id} had finished (${claim.job.state}) with other bytes; never published`,
    );
  }
  // The model's output passed: publish the full-size composite instead, when one is wanted and can be signed.
  if (claim.kind === 'claimed' && job && report.verdict === 'publish' && wantsComposite(rt, job)) {
    let composite;
    try {
      composite = await publishComposite(rt, job, source, report, log, { edited, parts });
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) return 'stale';
      throw err;
    }
    if (composite) return finishJob(rt, claim.version, { ...composite, source, by }, log);
  }
  const destination = job
    ? {
        blob: job.edit!.output!.name,
        report: dropBlobName(job.drop, '.provenance.json'),
        owner: { key: job.drop.key, stamp: job.createdAt, jobId: job.id },
      }
    : orphanResult(source);
  const stored = await storeVerdict(rt, source, report, judged, job, destination, log);
  const result = stored.copied.written ? (stored.folder === 'published' ? 'published' : 'quarantined') : 'name-taken';
  if (claim.kind !== 'claimed') {
    const line = stored.copied.written
      ? `${result} edited/${name}${report.reasons.length ? `: ${report.reasons.join('; ')}` : ''}`
      : resultClash(stored.folder, destination.blob, stored.copied.existing);
    log.warn(`no job behind edited/${name}: ${line}`);
    return result;
  }
  return finishJob(rt, claim.version, { ...stored, destination, report, source, by }, log);
}

type Destination = { blob: string; report: string; owner: ResultOwner };

/**
 * Copies the verified bytes to `published/` or `quarantine/` inside the account, conditional on the
 * version just verified (what lands is what was judged), with the report beside it. Neither write
 * replaces another drop's result.
 */
async function storeVerdict(
  rt: JobContext,
  source: BlobInfo,
  report: ProvenanceReport,
  judged: { sha256: string; bytes: number },
  job: JobRecord | undefined,
  destination: Destination,
  log: Logger,
): Promise<{ folder: 'published' | 'quarantine'; copied: WriteResult }> {
  const folder = report.verdict === 'publish' ? 'published' : 'quarantine';
  // The image first, then its report: whoever sees a report (a BlobCreated subscriber, the drop-folder
  // mirror, a script polling ./out/) finds the image it describes already there.
  const copied = await rt.blobs.copyVerified(source, { container: folder, name: destination.blob }, destination.owner);
  const reported = await rt.blobs.writeReport(
    folder,
    destination.report,
    {
      ...report,
      decidedAt: rt.now().toISOString(),
      source: { container: 'edited', name: source.name, etag: source.etag, ...judged },
      job: job
        ? {
            id: job.id,
            drop: job.drop.key,
            requestId: job.edit?.requestId ?? null,
            ...(job.replaces ? { replaces: job.replaces } : {}),
          }
        : null,
      destination: `${folder}/${destination.blob}`,
    },
    destination.owner,
  );
  if (!reported.written) log.warn(resultClash(folder, destination.report, reported.existing));
  return { folder, copied };
}

/** Ends the claimed job: published or quarantined, or rejected when its output's name holds another drop's result. */
async function finishJob(
  rt: JobContext,
  claimed: Versioned<JobRecord>,
  verdict: {
    destination: Destination;
    folder: 'published' | 'quarantine';
    copied: WriteResult;
    report: ProvenanceReport;
    source: BlobInfo;
    by: Publisher;
  },
  log: Logger,
): Promise<PublishResult> {
  const { destination, folder, copied, report, by } = verdict;
  const holding = (j: JobRecord) => j.state === 'publishing' && j.lease?.owner === rt.workerId;
  if (!copied.written) {
    const message = resultClash(folder, destination.blob, copied.existing);
    const problems = () => ({ problems: [message] });
    const after = await advance(
      rt,
      claimed.value.id,
      holding,
      'rejected',
      log,
      { error: { code: JOB_ERROR.nameTaken, message } },
      problems,
      claimed,
    );
    if (after) await writeRejectionReport(rt, after.value, log);
    if (after) await announceOutcome(rt, after.value, log);
    return 'name-taken';
  }
  const publish = folder === 'published';
  const details = publish
    ? { note: `published/${destination.blob} by ${by}` }
    : { error: { code: JOB_ERROR.provenance, message: report.reasons.join('; ') }, note: `quarantined by ${by}` };
  const record = {
    verdict: report.verdict,
    blob: `${folder}/${destination.blob}`,
    report: `${folder}/${destination.report}`,
    reasons: report.reasons,
    sourceEtag: verdict.source.etag,
    by,
  };
  await advance(
    rt,
    claimed.value.id,
    holding,
    publish ? 'published' : 'quarantined',
    log,
    details,
    () => ({ publish: record }),
    claimed,
  );
  return publish ? 'published' : 'quarantined';
}

/**
 * Takes the job behind `source` for publishing, under a lease, or says why not. An output the ledger
 * does not point at yet is still this job's model output: written by a worker that died before
 * recording it, by an attempt that ran past its lease, or by a live worker about to record it (the
 * hand-off).
 */
async function claimJob(rt: JobContext, source: BlobInfo, found: Versioned<JobRecord>, log: Logger): Promise<Claim> {
  let version: Versioned<JobRecord> | undefined = found;
  for (let round = 0; version && round < 5; round++) {
    const job: JobRecord = version.value;
    if (isTerminal(job.state))
      return job.publish?.sourceEtag === source.etag ? { kind: 'done', result: 'duplicate' } : { kind: 'late', job };
    let adopted: EditOutput | undefined;
    if (!sameEtag(job.edit?.output?.etag, source.etag)) {
      if (job.state === 'editing' && !leaseExpired(job, rt.now())) {
        // Its worker is about to record this output: leave the mark, and whoever writes last publishes.
        const marked = await markOutputEvent(rt, job.id, source.etag, version, log);
        if (marked) return { kind: 'done', result: 'handed-off' };
        version = await rt.ledger.get(job.id); // the worker recorded `edited` first: claim it as usual
        continue;
      }
      adopted = {
        name: source.name,
        etag: source.etag,
        sha256: source.metadata.sha256 ?? '',
        bytes: source.bytes,
        contentType: source.contentType ?? '',
      };
      if (job.state === 'editing') {
        const output = adopted;
        const note = `output found in edited/ (attempt ${source.metadata.attempt ?? '?'}); recording it`;
        const lost = (j: JobRecord) => j.state === 'editing' && leaseExpired(j, rt.now());
        version = await advance(
          rt,
          job.id,
          lost,
          'edited',
          log,
          { note },
          (j) => ({ edit: { ...j.edit!, output } }),
          version,
        );
        if (!version) return { kind: 'done', result: 'busy' };
      }
    }
    const claimable = (j: JobRecord) => j.state === 'edited' || (j.state === 'publishing' && leaseExpired(j, rt.now()));
    if (!claimable(version.value))
      return { kind: 'done', result: version.value.state === 'publishing' ? 'busy' : 'duplicate' };
    const until = new Date(rt.now().getTime() + PUBLISH_LEASE_MS).toISOString();
    const output = adopted;
    const lease = { owner: rt.workerId, until };
    const claimed = await advance(
      rt,
      job.id,
      claimable,
      'publishing',
      log,
      {},
      (j) => ({ lease, ...(output ? { edit: { ...j.edit!, output } } : {}) }),
      version,
    );
    return claimed ? { kind: 'claimed', version: claimed } : { kind: 'done', result: 'busy' };
  }
  return { kind: 'done', result: version ? 'busy' : 'gone' };
}

/** Verifies the blob's credentials; the bytes are read when the verifier is ready for them, under the version's ETag. */
async function judge(
  rt: JobContext,
  source: BlobInfo,
  job: JobRecord | undefined,
): Promise<{ report: ProvenanceReport; judged: { sha256: string; bytes: number }; bytes?: Uint8Array }> {
  const verifier = await rt.verifier();
  // From the first attempt's start: the output kept may be an earlier attempt's.
  const edit = job?.edit;
  const window =
    edit?.startedAt && edit.endedAt
      ? { start: new Date(edit.firstStartedAt ?? edit.startedAt), end: new Date(edit.endedAt) }
      : undefined;
  let judged = { sha256: '', bytes: 0 };
  let read: Uint8Array | undefined; // kept for the composite, so the output is read once
  const load = async () => {
    const bytes = await rt.blobs.readOutput(source.name, source.etag);
    judged = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
    return (read = bytes);
  };
  const report = await verifier.verify(load, {
    file: `edited/${source.name}`,
    ...(window ? { editWindow: window } : {}),
  });
  return { report, judged, ...(read ? { bytes: read } : {}) };
}
