/**
 * A drop submitted from the console's New edit form: checked with the same code intake runs (the
 * names with `classifyBlobName`, the parts and sidecar with `validateDrop`), so the form refuses what
 * intake would refuse with the same words, then uploaded into `inbox/` the way the drop folder uploads
 * (content type and `dropsha256` metadata), to flow through the same intake.
 */
import { createHash, randomBytes } from 'node:crypto';
import { classifyBlobName, dropKey, type DropRef } from '../../core/drop.js';
import { TAIL_BYTES } from '../../core/image-header.js';
import { maskLimits } from '../../core/mask-limits.js';
import { jobIdFor } from '../../core/job.js';
import type { JobContext } from '../job-context.js';
import { terminalSafe } from '../../core/provenance/terminal-text.js';
import type { PartSample } from '../../core/validation.js';
import { validateDrop } from '../../core/validation.js';
import type { SubmitAnswer } from './types.js';

/** The sidecar fields the form offers; each is sent only when the person chose a value. */
const SIDECAR_FIELDS = ['prompt', 'size', 'quality', 'output_format'] as const;
const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
};

export interface SubmittedDrop {
  imageName: string;
  image: Buffer;
  mask: Buffer;
  fields: Partial<Record<(typeof SIDECAR_FIELDS)[number], string>>;
}

/** Reads the form: `image` and `mask` files, and the sidecar fields. */
export async function readSubmission(form: FormData): Promise<SubmittedDrop | { problems: string[] }> {
  const image = form.get('image');
  const mask = form.get('mask');
  const problems: string[] = [];
  if (!(image instanceof Blob)) problems.push('choose an image');
  if (!(mask instanceof Blob)) problems.push('paint a mask: the area to edit');
  if (problems.length) return { problems };
  const fields: SubmittedDrop['fields'] = {};
  for (const f of SIDECAR_FIELDS) {
    const v = form.get(f);
    if (typeof v === 'string' && v !== '') fields[f] = v;
  }
  return {
    imageName: (image as File).name || 'image.png',
    image: Buffer.from(await (image as Blob).arrayBuffer()),
    mask: Buffer.from(await (mask as Blob).arrayBuffer()),
    fields,
  };
}

/** A stem from the picked file's name that the drop contract accepts, made unique per submission. */
export function consoleDrop(imageName: string, now: Date): { drop: DropRef; extension: string } {
  const dot = imageName.lastIndexOf('.');
  const extension = dot > 0 ? imageName.slice(dot + 1).toLowerCase() : '';
  const readable =
    (dot > 0 ? imageName.slice(0, dot) : imageName)
      .replace(/[^A-Za-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'image';
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  return { drop: { path: 'console', stem: `${readable}-${stamp}-${randomBytes(3).toString('hex')}` }, extension };
}

function sample(name: string, bytes: Buffer): PartSample {
  return {
    name,
    bytes: bytes.length,
    // The whole upload is in memory, so validation may read as much of the header as it needs.
    head: bytes,
    tail: bytes.subarray(Math.max(0, bytes.length - TAIL_BYTES)),
  };
}

interface PlannedDrop {
  drop: DropRef;
  parts: { name: string; bytes: Buffer; contentType: string }[];
}

/** The blobs the drop becomes, or the problems intake would report for them (its header and mask checks). */
export async function planDrop(
  rt: JobContext,
  submitted: SubmittedDrop,
): Promise<{ ok: true; plan: PlannedDrop } | { ok: false; problems: string[] }> {
  const { drop, extension } = consoleDrop(submitted.imageName, rt.now());
  const key = dropKey(drop);
  const imageName = `${key}.${extension}`;
  const maskName = `${key}.mask.png`;
  const sidecar = Object.keys(submitted.fields).length ? JSON.stringify(submitted.fields) : undefined;
  const named = classifyBlobName(imageName);
  // The picked file's own name decides its extension, as in a drop folder: a .gif is refused by name.
  if (!named.ok)
    return { ok: false, problems: [`${JSON.stringify(terminalSafe(submitted.imageName))}: ${named.problem}`] };
  const result = validateDrop(
    {
      image: sample(imageName, submitted.image),
      mask: sample(maskName, submitted.mask),
      sidecarText: sidecar,
      metadataPrompt: undefined,
    },
    rt.config.drop,
  );
  if (!result.ok) return { ok: false, problems: result.problems };
  const mask = await rt.imaging
    .prepareMask('mask.png', submitted.mask, result.mask, maskLimits(rt.config.drop))
    .catch((err: Error) => ({
      ok: false as const,
      problem: `mask.png: the mask's pixels could not be decoded (${err.message.trim()})`,
    }));
  if (!mask.ok) return { ok: false, problems: [mask.problem] };
  const parts = [
    ...(sidecar ? [{ name: `${key}.json`, bytes: Buffer.from(sidecar), contentType: 'application/json' }] : []),
    { name: maskName, bytes: submitted.mask, contentType: 'image/png' },
    { name: imageName, bytes: submitted.image, contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream' },
  ];
  return { ok: true, plan: { drop, parts } };
}

/**
 * Uploads the drop, sidecar and mask first: the image completes it, so intake finds every part at once.
 * Answers the job id intake will give it (it depends only on the parts' names and ETags).
 */
export async function uploadDrop(rt: JobContext, plan: PlannedDrop): Promise<SubmitAnswer> {
  const uploaded: { name: string; etag: string }[] = [];
  for (const part of plan.parts) {
    const etag = await rt.blobs.uploadDropPart(part.name, part.bytes, part.contentType, {
      dropsha256: createHash('sha256').update(part.bytes).digest('hex'),
    });
    uploaded.push({ name: part.name, etag });
  }
  const byKind = (suffix: (n: string) => boolean) => uploaded.find((u) => suffix(u.name));
  const image = byKind((n) => !n.endsWith('.json') && !n.endsWith('.mask.png'))!;
  const mask = byKind((n) => n.endsWith('.mask.png'))!;
  const sidecar = byKind((n) => n.endsWith('.json'));
  const jobId = jobIdFor(plan.drop, [image, mask, ...(sidecar ? [sidecar] : [])]);
  return { ok: true, drop: dropKey(plan.drop), jobId };
}
