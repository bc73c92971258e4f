/** Blob operations the pipeline needs: finding a drop's parts, sampling them cheaply, writing reports and outputs. */
import type { ContainerClient } from '@azure/storage-blob';
import { classifyBlobName, dropListingPrefix, type DropRef, type PartKind } from '../drop.js';
import { HEAD_BYTES, MAX_HEAD_BYTES, readImageHeader, TAIL_BYTES } from '../image-header.js';
import type { PartRef } from '../job.js';
import type { PartSample } from '../validation.js';

export interface BlobInfo extends PartRef {
  lastModified: Date;
  metadata: Record<string, string>;
  contentType: string | undefined;
}

export type DropParts = Partial<Record<PartKind, BlobInfo>> & { images: BlobInfo[] };

/** The drop's parts as they are now (one listing, so their ETags are a consistent snapshot). */
export async function listDropParts(container: ContainerClient, drop: DropRef): Promise<DropParts> {
  const parts: DropParts = { images: [] };
  for await (const blob of container.listBlobsFlat({ prefix: dropListingPrefix(drop), includeMetadata: true })) {
    const c = classifyBlobName(blob.name);
    if (!c.ok || c.drop.stem !== drop.stem || c.drop.path !== drop.path) continue;
    const info: BlobInfo = {
      name: blob.name,
      etag: blob.properties.etag,
      bytes: blob.properties.contentLength ?? 0,
      lastModified: blob.properties.lastModified,
      metadata: blob.metadata ?? {},
      contentType: blob.properties.contentType,
    };
    if (c.kind === 'image') parts.images.push(info);
    else parts[c.kind] = info;
  }
  parts.image = parts.images[0];
  return parts;
}

async function range(container: ContainerClient, part: PartRef, offset: number, count: number): Promise<Buffer> {
  if (count <= 0) return Buffer.alloc(0);
  return container.getBlobClient(part.name).downloadToBuffer(offset, count, { conditions: { ifMatch: part.etag } });
}

/**
 * The first and last bytes of a part: enough for `validateDrop`, never the whole file unless it is small.
 * Reads are conditional on the ETag the drop was accepted with, so a re-upload mid-read fails with 412.
 */
export async function samplePart(container: ContainerClient, part: PartRef): Promise<PartSample> {
  if (part.bytes <= HEAD_BYTES + TAIL_BYTES) {
    const all = await range(container, part, 0, part.bytes);
    return { name: part.name, bytes: part.bytes, head: all, tail: all };
  }
  let head = await range(container, part, 0, HEAD_BYTES);
  const probe = readImageHeader(head);
  if (!probe.ok && probe.needMoreBytes) head = await range(container, part, 0, Math.min(part.bytes, MAX_HEAD_BYTES));
  const tail = await range(container, part, part.bytes - TAIL_BYTES, TAIL_BYTES);
  return { name: part.name, bytes: part.bytes, head, tail };
}

export async function readWhole(container: ContainerClient, part: PartRef): Promise<Buffer> {
  return range(container, part, 0, part.bytes);
}

export async function writeJsonBlob(container: ContainerClient, name: string, value: unknown): Promise<string> {
  const body = `${JSON.stringify(value, null, 2)}\n`;
  const res = await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
    blobHTTPHeaders: { blobContentType: 'application/json' },
  });
  return res.etag!;
}
