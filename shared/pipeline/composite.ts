/**
 * Publish's composite step: after the model's output passed the gate, make the result the user asked
 * for (the photo at its own size with the edit composited into the mask), sign it as the publisher,
 * judge it with the composite gate, and store it in `published/` or `quarantine/` with its report. The
 * model's output stays in `edited/`. Without a configured publisher no composite is made.
 */
import { composeFullSize } from '../composite/compose.js';
import { signComposite } from '../composite/manifest.js';
import type { BlobInfo, WriteResult } from '../adapters/blobs.js';
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
  destination: { blob: string; report: string; owner: { key: string; stamp: string } };
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
    log.warn(`job ${job.id}: a composite was asked for but no publisher is configured (PUBLISHER_CERT_CHAIN); publishing the model's output`);
    return undefined;
  }
  const { image: imagePart, mask: maskPart } = job.inputs;
  const [photo, mask, edited] = await Promise.all([
    rt.blobs.readPart(imagePart!),
    rt.blobs.readPart(maskPart!),
    rt.blobs.readOutput(source.name, source.etag),
  ]);
  const owner = { key: job.drop.key, stamp: job.createdAt };
  let report: ProvenanceReport;
  let bytes: Uint8Array | undefined;
  let name = dropBlobName(job.drop, '.provenance.json');
  try {
    const image = await composeFullSize(photo, mask, edited);
    name = dropBlobName(job.drop, EXTENSIONS[image.format]!);
    const photoMime = `image/${image.format}`;
    bytes = await signComposite(
      publisher.signer,
      { bytes: image.bytes, mime: image.mime, title: name.slice(name.lastIndexOf('/') + 1) },
      { bytes: photo, mime: photoMime, title: imagePart!.name.slice(imagePart!.name.lastIndexOf('/') + 1) },
      { bytes: edited, mime: source.contentType ?? 'image/png', title: source.name.slice(source.name.lastIndexOf('/') + 1) },
      rt.now(),
    );
    const edit = job.edit!;
    const window = edit.endedAt ? { start: new Date(edit.firstStartedAt ?? edit.startedAt), end: new Date(edit.endedAt) } : undefined;
    report = await publisher.verifier.verify(bytes, { file: `composite of edited/${source.name}`, ...(window ? { editWindow: window } : {}) });
  } catch (err) {
    report = { ...edit, verdict: 'quarantine', reasons: [`the full-size composite could not be made: ${(err as Error).message}`] };
  }
  const folder = report.verdict === 'publish' ? 'published' : 'quarantine';
  const reportName = dropBlobName(job.drop, '.provenance.json');
  const [copied, reported] = await Promise.all([
    bytes
      ? rt.blobs.writeResultBytes(folder, name, bytes, mimeOf(name), owner)
      : undefined,
    rt.blobs.writeReport(
      folder,
      reportName,
      { ...report, decidedAt: rt.now().toISOString(), output: 'composite', edit, signer: publisher.signer.describe,
        job: { id: job.id, drop: job.drop.key, requestId: job.edit?.requestId ?? null }, destination: `${folder}/${name}` },
      owner,
    ),
  ]);
  if (!reported.written) log.warn(resultClash(folder, reportName, reported.existing));
  return { folder, copied: copied ?? reported, report, destination: { blob: bytes ? name : reportName, report: reportName, owner } };
}

function mimeOf(name: string): string {
  return name.endsWith('.jpg') ? 'image/jpeg' : name.endsWith('.webp') ? 'image/webp' : 'image/png';
}
