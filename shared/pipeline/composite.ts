/**
 * Publish's composite step: after the model's output passed the gate, make the result the user asked
 * for (the photo at its own size with the edit composited into the mask), sign it as the publisher,
 * judge it with the composite gate, and store it in `published/` or `quarantine/` with its report. The
 * model's output stays in `edited/`. Without a configured publisher no composite is made.
 */
import { composeFullSize } from '../composite/compose.js';
import { signComposite } from '../composite/manifest.js';
import type { BlobInfo, ResultOwner, WriteResult } from '../adapters/blobs.js';
import { dropBlobName } from '../drop.js';
import type { JobRecord } from '../job.js';
import type { Logger } from '../log.js';
import type { ProvenanceReport } from '../provenance/gate.js';
import type { JobContext } from '../runtime.js';
import { resultClash } from './steps.js';

export interface CompositeOutcome {
  folder: 'published' | 'quarantine';
  copied: WriteResult;
  report: ProvenanceReport;
  destination: { blob: string; report: string; owner: ResultOwner };
}

/** The sidecar's `output`, else OUTPUT_MODE. */
export function wantsComposite(rt: JobContext, job: JobRecord): boolean {
  return (job.request?.output ?? rt.config.output.mode) === 'composite';
}

const EXTENSIONS: Record<string, '.png' | '.jpg' | '.webp'> = { png: '.png', jpeg: '.jpg', webp: '.webp' };

/** Makes, signs, judges and stores the composite; `undefined` when no publisher is configured. */
export async function publishComposite(
  rt: JobContext,
  job: JobRecord,
  source: BlobInfo,
  edit: ProvenanceReport,
  log: Logger,
): Promise<CompositeOutcome | undefined> {
  const publisher = await rt.publisher?.();
  if (!publisher) {
    log.warn(
      `job ${job.id}: a composite was asked for but no publisher is configured (PUBLISHER_CERT_CHAIN); ` +
        "publishing the model's output",
    );
    return undefined;
  }
  const { image: imagePart, mask: maskPart } = job.inputs;
  // Read at the version just judged; a newer version (412) makes this event stale, as for the model output.
  const edited = await rt.blobs.readOutput(source.name, source.etag);
  const owner = { key: job.drop.key, stamp: job.createdAt, jobId: job.id };
  let report: ProvenanceReport;
  let bytes: Uint8Array | undefined;
  let name = dropBlobName(job.drop, '.provenance.json');
  try {
    // The drop's parts at the versions the job was made from (a changed or deleted photo fails here).
    const [photo, mask] = await Promise.all([rt.blobs.readPart(imagePart!), rt.blobs.readPart(maskPart!)]);
    const image = await composeFullSize(photo, mask, edited);
    name = dropBlobName(job.drop, EXTENSIONS[image.format]!);
    const photoMime = `image/${image.format}`;
    bytes = await signComposite(
      publisher.signer,
      { bytes: image.bytes, mime: image.mime, title: name.slice(name.lastIndexOf('/') + 1) },
      { bytes: photo, mime: photoMime, title: imagePart!.name.slice(imagePart!.name.lastIndexOf('/') + 1) },
      {
        bytes: edited,
        mime: source.contentType ?? 'image/png',
        title: source.name.slice(source.name.lastIndexOf('/') + 1),
      },
      rt.now(),
    );
    const run = job.edit!;
    const window = run.endedAt
      ? { start: new Date(run.firstStartedAt ?? run.startedAt), end: new Date(run.endedAt) }
      : undefined;
    const file = `composite of edited/${source.name}`;
    report = await publisher.verifier.verify(bytes, { file, ...(window ? { editWindow: window } : {}) });
  } catch (err) {
    const detail = `the full-size composite could not be made: ${(err as Error).message}`;
    bytes = undefined;
    report = {
      ...edit,
      verdict: 'quarantine',
      reasons: [detail],
      checks: [...edit.checks, { name: 'Full-size composite made', ok: false, detail }],
    };
  }
  const folder = report.verdict === 'publish' ? 'published' : 'quarantine';
  const reportName = dropBlobName(job.drop, '.provenance.json');
  const [copied, reported] = await Promise.all([
    bytes ? rt.blobs.writeResultBytes(folder, name, bytes, mimeOf(name), owner) : undefined,
    rt.blobs.writeReport(
      folder,
      reportName,
      {
        ...report,
        decidedAt: rt.now().toISOString(),
        output: 'composite',
        signer: publisher.signer.describe,
        edit,
        job: {
          id: job.id,
          drop: job.drop.key,
          requestId: job.edit?.requestId ?? null,
          ...(job.replaces ? { replaces: job.replaces } : {}),
        },
        destination: `${folder}/${bytes ? name : reportName}`,
      },
      owner,
    ),
  ]);
  if (!reported.written) log.warn(resultClash(folder, reportName, reported.existing));
  const destination = { blob: bytes ? name : reportName, report: reportName, owner };
  return { folder, copied: copied ?? reported, report, destination };
}

function mimeOf(name: string): string {
  return name.endsWith('.jpg') ? 'image/jpeg' : name.endsWith('.webp') ? 'image/webp' : 'image/png';
}
