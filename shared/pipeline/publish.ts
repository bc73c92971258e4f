/**
 * Publish: a blob landed in `edited/`. Verify its Content Credentials, then server-side copy the exact
 * bytes to `published/` or `quarantine/` with `<stem>.provenance.json` beside them, and finish the job.
 * A job is published at most once; a blob with no job behind it is gated all the same.
 */
import { createHash } from 'node:crypto';
import { writeJsonBlob } from '../adapters/blobs.js';
import { isConflict, isNotFound } from '../adapters/storage.js';
import { dropBlobName, orphanDestination } from '../drop.js';
import { isTerminal, leaseExpired, sameEtag, type EditOutput, type JobRecord } from '../job.js';
import { jobLogger, type Logger } from '../log.js';
import type { ProvenanceReport } from '../provenance/gate.js';
import type { Runtime } from '../runtime.js';
import { advance } from './edit.js';

export type PublishResult = 'published' | 'quarantined' | 'duplicate' | 'stale' | 'busy' | 'gone';

/** Long enough for a 50 MB read, verify and copy (seconds each); a lost publisher's job is retried after it. */
const PUBLISH_LEASE_MS = 60_000;

export async function publishEditedBlob(rt: Runtime, name: string, eventEtag: string | undefined, baseLog: Logger): Promise<PublishResult> {
  const source = rt.containers.edited.getBlobClient(name);
  let props;
  try {
    props = await source.getProperties();
  } catch (err) {
    if (isNotFound(err)) return 'gone';
    throw err;
  }
  const etag = props.etag!;
  // A newer version of the blob raises its own event; judge only the version this event is about.
  if (eventEtag && !sameEtag(eventEtag, etag)) return 'stale';

  const jobId = props.metadata?.jobid;
  // The job as last read or written, so each step can write without reading it again.
  let version = jobId ? await rt.ledger.get(jobId) : undefined;
  const log = version ? jobLogger(baseLog, version.value) : baseLog;
  /** Set for a blob that names a finished job without being what it published: judged, never published. */
  let lateFor: JobRecord | undefined;
  /** This job's output, though not the one the ledger points at: recorded when the job is claimed. */
  let adopted: EditOutput | undefined;
  if (version) {
    const found = version.value;
    const ours = sameEtag(found.edit?.output?.etag, etag);
    if (isTerminal(found.state)) {
      if (found.publish?.sourceEtag === etag) return 'duplicate';
      lateFor = found;
      version = undefined;
    } else if (!ours) {
      // Output of this job that the ledger does not point at: written by a worker that died before
      // recording it, or by an attempt that ran past its lease. It is this job's model output either way.
      if (found.state === 'editing' && !leaseExpired(found, rt.now())) return 'busy'; // its worker records it
      adopted = { name, etag, sha256: props.metadata?.sha256 ?? '', bytes: props.contentLength ?? 0, contentType: props.contentType ?? '' };
      if (found.state === 'editing') {
        const output = adopted;
        const note = `output found in edited/ (attempt ${props.metadata?.attempt ?? '?'}); recording it`;
        version = await advance(rt, found.id, (j) => j.state === 'editing' && leaseExpired(j, rt.now()), 'edited', log, { note }, (j) => ({ edit: { ...j.edit!, output } }), version);
        if (!version) return 'busy';
      }
    }
  }

  if (version) {
    const claimable = (j: JobRecord) => j.state === 'edited' || (j.state === 'publishing' && leaseExpired(j, rt.now()));
    if (!claimable(version.value)) return version.value.state === 'publishing' ? 'busy' : 'duplicate';
    const until = new Date(rt.now().getTime() + PUBLISH_LEASE_MS).toISOString();
    const output = adopted;
    version = await advance(rt, version.value.id, claimable, 'publishing', log, {}, (j) => ({ lease: { owner: rt.workerId, until }, ...(output ? { edit: { ...j.edit!, output } } : {}) }), version);
    if (!version) return 'busy';
  }
  const job = version?.value;

  const verifier = await rt.verifier();
  // From the first attempt's start: the output kept may be an earlier attempt's.
  const window = job?.edit?.startedAt && job.edit.endedAt ? { start: new Date(job.edit.firstStartedAt ?? job.edit.startedAt), end: new Date(job.edit.endedAt) } : undefined;
  let judged = { sha256: '', bytes: 0 };
  let report: ProvenanceReport;
  try {
    // Downloaded when the verifier is ready for it, conditional on the version this event is about.
    const load = async () => {
      const bytes = await source.downloadToBuffer(0, undefined, { conditions: { ifMatch: etag } });
      judged = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
      return bytes;
    };
    report = await verifier.verify(load, { file: `edited/${name}`, ...(window ? { editWindow: window } : {}) });
  } catch (err) {
    if (isConflict(err) || isNotFound(err)) return 'stale';
    throw err;
  }
  if (lateFor) {
    report.verdict = 'quarantine';
    report.reasons.push(`written to edited/ after job ${lateFor.id} had finished (${lateFor.state}) with other bytes; never published`);
  }
  const publish = report.verdict === 'publish';
  const target = publish ? rt.containers.published : rt.containers.quarantine;
  const { blob, report: reportName } = job ? { blob: job.edit!.output!.name, report: dropBlobName(job.drop, '.provenance.json') } : orphanDestination(name);

  // Copy inside the account, conditional on the version just verified: what lands is what was judged.
  // The report goes beside it at the same time; the job is finished only once both exist.
  const copy = await rt.storage.copySource(source);
  await Promise.all([
    target.getBlockBlobClient(blob).syncCopyFromURL(copy.url, {
      sourceConditions: { ifMatch: etag },
      ...(copy.sourceAuthorization ? { sourceAuthorization: copy.sourceAuthorization } : {}),
    }),
    writeJsonBlob(target, reportName, {
      ...report,
      decidedAt: rt.now().toISOString(),
      source: { container: 'edited', name, etag, ...judged },
      job: job ? { id: job.id, drop: job.drop.key, requestId: job.edit?.requestId ?? null } : null,
      destination: `${publish ? 'published' : 'quarantine'}/${blob}`,
    }),
  ]);
  const verdictLine = `${publish ? 'published' : 'quarantined'} edited/${name}${report.reasons.length ? `: ${report.reasons.join('; ')}` : ''}`;
  if (!job) {
    log.warn(`no job behind edited/${name}: ${verdictLine}`);
    return publish ? 'published' : 'quarantined';
  }
  await advance(
    rt,
    job.id,
    (j) => j.state === 'publishing' && j.lease?.owner === rt.workerId,
    publish ? 'published' : 'quarantined',
    log,
    publish ? { note: `published/${blob}` } : { error: { code: 'provenance', message: report.reasons.join('; ') } },
    () => ({ publish: { verdict: report.verdict, blob: `${publish ? 'published' : 'quarantine'}/${blob}`, report: `${publish ? 'published' : 'quarantine'}/${reportName}`, reasons: report.reasons, sourceEtag: etag } }),
    version,
  );
  return publish ? 'published' : 'quarantined';
}
