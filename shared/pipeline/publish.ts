/**
 * Publish: a blob landed in `edited/`. Verify its Content Credentials, then server-side copy the exact
 * bytes to `published/` or `quarantine/` with `<stem>.provenance.json` beside them, and finish the job.
 * A job is published at most once; a blob with no job behind it is gated all the same.
 */
import { createHash } from 'node:crypto';
import { writeJsonBlob } from '../adapters/blobs.js';
import { isConflict, isNotFound } from '../adapters/storage.js';
import { classifyBlobName, dropBlobName, dropKey, sanitizeName } from '../drop.js';
import { isTerminal, leaseExpired, type JobRecord } from '../job.js';
import { jobLogger, type Logger } from '../log.js';
import type { ProvenanceReport } from '../provenance/gate.js';
import type { Runtime } from '../runtime.js';
import { advance } from './edit.js';

export type PublishResult = 'published' | 'quarantined' | 'duplicate' | 'stale' | 'busy' | 'gone';

/** Long enough for a 50 MB read, verify and copy (seconds each); a lost publisher's job is retried after it. */
const PUBLISH_LEASE_MS = 60_000;

function destination(name: string): { blob: string; report: string } {
  const c = classifyBlobName(name);
  const base = c.ok ? dropKey(c.drop) : sanitizeName(name).replace(/\.[^./]*$/, '');
  const extension = name.slice(name.lastIndexOf('.'));
  return { blob: `${base}${extension}`, report: `${base}.provenance.json` };
}

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
  const strip = (e: string | undefined) => e?.replace(/"/g, '');
  // A newer version of the blob raises its own event; judge only the version this event is about.
  if (eventEtag && strip(eventEtag) !== strip(etag)) return 'stale';

  const jobId = props.metadata?.jobid;
  // The job as last read or written, so each step can write without reading it again.
  let version = jobId ? await rt.ledger.get(jobId) : undefined;
  const log = version ? jobLogger(baseLog, version.value) : baseLog;
  if (version) {
    const found = version.value;
    const ours = found.edit?.output?.etag && strip(found.edit.output.etag) === strip(etag);
    if (isTerminal(found.state) && found.publish?.sourceEtag === etag) return 'duplicate';
    // The edit worker wrote the output but died before recording it: the blob's metadata says it is ours.
    if (!ours && found.state === 'editing' && props.metadata?.attempt === String(found.attempts)) {
      const output = { name, etag, sha256: props.metadata?.sha256 ?? '', bytes: props.contentLength ?? 0, contentType: props.contentType ?? '' };
      version = await advance(rt, found.id, (j) => j.state === 'editing' && j.attempts === found.attempts, 'edited', log, { note: 'output found; recording it' }, (j) => ({ edit: { ...j.edit!, output } }), version);
    } else if (!ours) {
      log.warn(`edited/${name} names job ${jobId} but is not its recorded output; gating it as a blob without a job`);
      version = undefined;
    }
  }

  if (version) {
    const claimable = (j: JobRecord) => j.state === 'edited' || (j.state === 'publishing' && leaseExpired(j, rt.now()));
    if (!claimable(version.value)) return version.value.state === 'publishing' ? 'busy' : 'duplicate';
    const until = new Date(rt.now().getTime() + PUBLISH_LEASE_MS).toISOString();
    version = await advance(rt, version.value.id, claimable, 'publishing', log, {}, () => ({ lease: { owner: rt.workerId, until } }), version);
    if (!version) return 'busy';
  }
  const job = version?.value;

  const verifier = await rt.verifier();
  const window = job?.edit?.startedAt && job.edit.endedAt ? { start: new Date(job.edit.startedAt), end: new Date(job.edit.endedAt) } : undefined;
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
  const publish = report.verdict === 'publish';
  const target = publish ? rt.containers.published : rt.containers.quarantine;
  const { blob, report: reportName } = job ? { blob: job.edit!.output!.name, report: dropBlobName(job.drop, '.provenance.json') } : destination(name);

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
