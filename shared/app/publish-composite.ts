/**
 * Publish's composite step: after the model's output passed the gate, make the result the user asked
 * for (the photo at its own size with the edit composited into the mask), sign it as the publisher,
 * judge it with the composite gate, and store it in `published/` signed, or in `quarantine/` unsigned,
 * with its report: nothing signed as the publisher is stored unless it passed. The model's output stays
 * in `edited/`. Without a configured publisher no composite is made.
 */
import type { BlobInfo, ResultOwner, WriteResult } from '../ports/blob-store.js';
import { dropBlobName } from '../core/drop.js';
import type { JobRecord } from '../core/job.js';
import { compositeTimingLine, type Logger } from '../core/log.js';
import type { Publisher } from '../ports/publisher.js';
import { bindingFor } from '../core/provenance/composite-binding.js';
import type { ProvenanceReport } from '../core/provenance/gate.js';
import { knownEdit } from '../core/provenance/known-edit.js';
import type { JobContext } from './job-context.js';
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

/** The job's photo and mask, as read for the composite. */
export type DropParts = Promise<[Uint8Array, Uint8Array]>;

/**
 * Reads the drop's parts at the versions the job was made from (a changed or deleted photo fails here).
 * Publish starts it beside the gate so the reads overlap it; a failure surfaces where the composite awaits it.
 */
export function readDropParts(rt: JobContext, job: JobRecord): DropParts {
  const { image, mask } = job.inputs;
  const parts = (async () => Promise.all([rt.blobs.readPart(image!), rt.blobs.readPart(mask!)]))();
  parts.catch(() => undefined); // handled by whoever awaits it; not an unhandled rejection meanwhile
  return parts;
}

const EXTENSIONS: Record<string, '.png' | '.jpg' | '.webp'> = { png: '.png', jpeg: '.jpg', webp: '.webp' };

interface Made {
  name: string;
  report: ProvenanceReport;
  /** The composite before signing: what quarantine keeps when the signed one fails. */
  unsigned?: Uint8Array;
  signed?: Uint8Array;
  /** Milliseconds spent composing, signing and judging (the local runtime's benchmark reads them). */
  took?: { composed: number; signed: number; judged: number };
}

const fileName = (blob: string) => blob.slice(blob.lastIndexOf('/') + 1);

/**
 * Composes, signs and judges. The model output already passed the ordinary gate; the composite is
 * bound to those exact bytes (their hash, the mask's, the region, the blend), signed, and judged with
 * the Azure ingredient credited from that same verdict when its manifest is byte-identical.
 */
async function makeComposite(
  rt: JobContext,
  job: JobRecord,
  source: BlobInfo,
  edited: Uint8Array,
  edit: ProvenanceReport,
  publisher: Publisher,
  parts: () => DropParts,
): Promise<Made> {
  const { image: imagePart } = job.inputs;
  let name = dropBlobName(job.drop, '.provenance.json');
  let unsigned: Uint8Array | undefined;
  try {
    if (edit.verdict !== 'publish') throw new Error('the model output did not pass the gate, so it is not composited');
    const [photo, mask] = await parts();
    const started = performance.now();
    const image = await publisher.compose(photo, mask, edited, { stripGps: rt.config.output.stripGps });
    const composed = performance.now();
    name = dropBlobName(job.drop, EXTENSIONS[image.format]!);
    unsigned = image.bytes;
    const signed = await publisher.sign(
      { bytes: image.bytes, mime: image.mime, title: fileName(name) },
      { bytes: photo, mime: `image/${image.format}`, title: fileName(imagePart!.name) },
      { bytes: edited, mime: source.contentType ?? 'image/png', title: fileName(source.name) },
      rt.now(),
      bindingFor(image, { photo, mask, edit: edited }),
    );
    const signedAt = performance.now();
    const run = job.edit!;
    const window = run.endedAt
      ? { start: new Date(run.firstStartedAt ?? run.startedAt), end: new Date(run.endedAt) }
      : undefined;
    const known = knownEdit(edited, edit);
    const report = await publisher.verifier.verify(signed, {
      file: `composite of edited/${source.name}`,
      ...(window ? { editWindow: window } : {}),
      binding: { edit: edited, pixels: false },
      ...(known ? { knownEdit: known } : {}),
    });
    const took = { composed: composed - started, signed: signedAt - composed, judged: performance.now() - signedAt };
    return { name, report, unsigned, signed, took };
  } catch (err) {
    const detail = `the full-size composite could not be made: ${(err as Error).message}`;
    const report: ProvenanceReport = {
      ...edit,
      verdict: 'quarantine',
      reasons: [detail],
      checks: [...edit.checks, { name: 'Full-size composite made', ok: false, detail }],
    };
    return { name, report, ...(unsigned ? { unsigned } : {}) };
  }
}

/**
 * Makes, signs, judges and stores the composite; `undefined` when no publisher is configured. Only a
 * composite that passed is stored signed: a failing one goes to quarantine/ unsigned, with its report.
 */
export async function publishComposite(
  rt: JobContext,
  job: JobRecord,
  source: BlobInfo,
  edit: ProvenanceReport,
  log: Logger,
  /** What publish already holds: the output's bytes as the gate read them, the parts' reads it started. */
  held: { edited?: Uint8Array | undefined; parts?: DropParts | undefined } = {},
): Promise<CompositeOutcome | undefined> {
  const publisher = await rt.publisher?.();
  if (!publisher) {
    log.warn(
      `job ${job.id}: a composite was asked for but no publisher is configured (PUBLISHER_CERT_CHAIN); ` +
        "publishing the model's output",
    );
    return undefined;
  }
  // The bytes the gate judged (read under that version's ETag), or read at that version now; a newer version
  // (412) makes this event stale, as for the model output.
  const edited = held.edited ?? (await rt.blobs.readOutput(source.name, source.etag));
  const owner = { key: job.drop.key, stamp: job.createdAt, jobId: job.id };
  const parts = () => held.parts ?? readDropParts(rt, job);
  const { name, report, unsigned, signed, took } = await makeComposite(rt, job, source, edited, edit, publisher, parts);
  if (took) log.info(compositeTimingLine(took));
  const folder = report.verdict === 'publish' ? 'published' : 'quarantine';
  const bytes = folder === 'published' ? signed : unsigned;
  const reportName = dropBlobName(job.drop, '.provenance.json');
  // The image first, then its report, so a report someone sees always has its image beside it.
  const copied = bytes ? await rt.blobs.writeResultBytes(folder, name, bytes, mimeOf(name), owner) : undefined;
  const reported = await rt.blobs.writeReport(
    folder,
    reportName,
    {
      ...report,
      decidedAt: rt.now().toISOString(),
      output: 'composite',
      stored: bytes ? (folder === 'published' ? 'signed composite' : 'unsigned composite') : 'report only',
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
  );
  if (!reported.written) log.warn(resultClash(folder, reportName, reported.existing));
  const destination = { blob: bytes ? name : reportName, report: reportName, owner };
  return { folder, copied: copied ?? reported, report, destination };
}

function mimeOf(name: string): string {
  return name.endsWith('.jpg') ? 'image/jpeg' : name.endsWith('.webp') ? 'image/webp' : 'image/png';
}
