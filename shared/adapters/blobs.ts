/**
 * The storage port: every blob read and write the use cases make, so that they never touch the storage
 * SDK and can run against an in-memory store in unit tests. `createBlobStore` is the Azure Blob Storage
 * implementation (Azurite locally).
 *
 * Results are never overwritten blindly: outputs, copies and reports are written with If-None-Match: *,
 * or with If-Match on a version this write may replace (an earlier result of the same drop). A blob that
 * belongs to another drop is reported back, not overwritten.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobClient, ContainerClient, HttpAuthorization } from '@azure/storage-blob';
import type { CONTAINERS } from '../containers.js';
import { classifyBlobName, dropListingPrefix, IMAGE_EXTENSIONS, type DropRef, type PartKind } from '../drop.js';
import { HEAD_BYTES, readImageHeader, TAIL_BYTES } from '../image-header.js';
import type { PartRef } from '../job.js';
import type { PartSample } from '../validation.js';
import { isConflict, isNotFound, statusOf } from './storage.js';

/**
 * Model output is staged in blocks of this size: what one call holds of its image at a time. A 1536x1024
 * PNG (at most ~4.7 MB) takes five; a block blob may have 50,000.
 */
const OUTPUT_BLOCK_BYTES = 1024 * 1024;

/** The commit named a block that is gone: another commit to the blob discarded it. */
const isInvalidBlockList = (err: unknown) =>
  statusOf(err) === 400 && (err as { code?: unknown }).code === 'InvalidBlockList';

export interface BlobInfo extends PartRef {
  lastModified: Date;
  metadata: Record<string, string>;
  contentType: string | undefined;
}

export type DropParts = Partial<Record<PartKind, BlobInfo>> & { images: BlobInfo[] };

export type ResultContainer = 'published' | 'quarantine' | 'rejected';

export type FoundResult = BlobInfo & { container: 'published' | 'quarantine' };

const isImageName = (prefix: string, name: string) =>
  (IMAGE_EXTENSIONS as readonly string[]).includes(name.slice(prefix.length));

/**
 * Whether `name` is one of the drop's results: an image (`<key>.<image extension>`) or its report, which
 * stands alone when no image could be stored (a composite that could not be made).
 */
export function isDropResult(drop: DropRef, name: string): boolean {
  const prefix = dropListingPrefix(drop);
  return name.startsWith(prefix) && (isImageName(prefix, name) || name.slice(prefix.length) === 'provenance.json');
}

/** Newest job first; of one job's results, the image before its report. */
export function newestFirst(results: FoundResult[]): FoundResult[] {
  const rank = (r: FoundResult) => (/\.provenance\.json$/.test(r.name) ? 1 : 0);
  return results.sort(
    (a, b) => (b.metadata.ownerstamp ?? '').localeCompare(a.metadata.ownerstamp ?? '') || rank(a) - rank(b),
  );
}

/**
 * Who a result blob belongs to: `key` names the drop (or the orphan blob) it was written for, `stamp`
 * orders results of that owner (the job's creation time), so a newer job's result replaces an older
 * one's and never the other way round.
 */
export interface ResultOwner {
  key: string;
  stamp: string;
  /** The job that made the result: the re-drop check finds it by this, whatever wrote the blob. */
  jobId?: string;
}

/** A conditional write: done, or refused because the blob there belongs to someone else (or is newer). */
export type WriteResult = { written: true; etag: string } | { written: false; existing: BlobInfo };

/**
 * A commit of staged output: done, refused (the blob there belongs to someone else, or is newer), or
 * `discarded`: another write to the blob committed first, and that drops every block it did not list
 * (https://learn.microsoft.com/rest/api/storageservices/put-block-list), so this output is gone.
 */
export type CommitResult = WriteResult | { written: false; discarded: true; existing: BlobInfo | undefined };

/** Model output staged in `edited/`, not yet a blob. */
export interface StagedOutput {
  bytes: number;
  sha256: string;
  /** Makes it `edited/<name>`, with one write, only over version `over` (`null`: only where none exists). */
  commit(contentType: string, metadata: Record<string, string>, over: string | null): Promise<CommitResult>;
}

export interface BlobStore {
  /** The drop's parts in `inbox/` as they are now (one listing, so their ETags are a consistent snapshot). */
  listDropParts(drop: DropRef): Promise<DropParts>;
  /**
   * Head and tail of a part, read under its ETag (412 if it changed since). The head grows in ranged
   * reads while the image header goes on (metadata before the image data), up to `maxHeadBytes`.
   */
  samplePart(part: PartRef, maxHeadBytes: number): Promise<PartSample>;
  readPart(part: PartRef): Promise<Buffer>;
  /** SHA-256 (hex) of a part's content, streamed under its ETag (412 if it changed). */
  hashPart(part: PartRef): Promise<string>;
  /** The drop's result images in `published/` and `quarantine/` (not their reports), newest owner stamp first. */
  findResults(drop: DropRef): Promise<FoundResult[]>;
  /** A part's bytes as a stream, read under its ETag (412 if it changed since). */
  streamPart(part: PartRef): Promise<AsyncIterable<Uint8Array>>;
  /** The blob at `edited/<name>` as it is now, if any. */
  findOutput(name: string): Promise<BlobInfo | undefined>;
  /**
   * Stages model output for `edited/<name>` as it arrives, as uncommitted blocks: no blob, no event and
   * nothing a reader sees until it is committed (BlobCreated comes from Put Blob, Put Block List or Copy
   * Blob, https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage). If `image` fails,
   * what was staged is never committed; Azure drops uncommitted blocks after a week or at the blob's next
   * commit.
   */
  stageOutput(name: string, image: AsyncIterable<Uint8Array>): Promise<StagedOutput>;
  /** The exact bytes of `edited/<name>` at version `etag` (412 if it changed). */
  readOutput(name: string, etag: string): Promise<Buffer>;
  /**
   * Server-side copy of `edited/<source>` at version `etag` to `<container>/<name>`, conditional at both
   * ends; the copy keeps the source's metadata.
   */
  copyVerified(
    source: { name: string; etag: string; metadata: Record<string, string> },
    target: { container: ResultContainer; name: string },
    owner: ResultOwner,
  ): Promise<WriteResult>;
  writeReport(container: ResultContainer, name: string, value: unknown, owner: ResultOwner): Promise<WriteResult>;
  /** Writes a result the pipeline made itself (a signed composite) to `<container>/<name>`. */
  writeResultBytes(
    container: ResultContainer,
    name: string,
    bytes: Uint8Array,
    contentType: string,
    owner: ResultOwner,
  ): Promise<WriteResult>;
  /** Event batches Event Grid could not deliver, oldest first. */
  deadLetters(): AsyncIterable<{ name: string; text(): Promise<string> }>;
  removeDeadLetter(name: string): Promise<void>;
  /** Keeps only the events of a dead-letter blob that still fail. */
  rewriteDeadLetter(name: string, text: string): Promise<void>;
}

/** Result blobs carry their owner, so a later write can tell its own drop's result from another's. */
export function ownerMetadata(owner: ResultOwner): Record<string, string> {
  return {
    owner: encodeURIComponent(owner.key),
    ownerstamp: owner.stamp,
    ...(owner.jobId ? { jobid: owner.jobId } : {}),
  };
}

/** Whether `owner` may replace `existing`: same owner, and not older than what is there. */
export function mayReplace(existing: BlobInfo, owner: ResultOwner): boolean {
  return (
    existing.metadata.owner === encodeURIComponent(owner.key) && (existing.metadata.ownerstamp ?? '') <= owner.stamp
  );
}

/**
 * Runs `write` first with If-None-Match: *, then, if a blob is there that `owner` may replace, with
 * If-Match on that blob's version. Anything else there is returned untouched.
 */
export async function writeResultOnce(
  find: () => Promise<BlobInfo | undefined>,
  write: (condition: { ifNoneMatch: '*' } | { ifMatch: string }) => Promise<string>,
  owner: ResultOwner,
): Promise<WriteResult> {
  for (let tries = 0; tries < 3; tries++) {
    const existing = tries === 0 ? undefined : await find();
    if (existing && !mayReplace(existing, owner)) return { written: false, existing };
    try {
      return { written: true, etag: await write(existing ? { ifMatch: existing.etag } : { ifNoneMatch: '*' }) };
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  throw new Error('the result blob kept changing while it was written');
}

function infoOf(
  name: string,
  p: {
    etag?: string;
    contentLength?: number;
    lastModified?: Date;
    metadata?: Record<string, string>;
    contentType?: string;
  },
): BlobInfo {
  return {
    name,
    etag: p.etag!,
    bytes: p.contentLength ?? 0,
    lastModified: p.lastModified ?? new Date(0),
    metadata: p.metadata ?? {},
    contentType: p.contentType,
  };
}

async function properties(blob: BlobClient): Promise<BlobInfo | undefined> {
  try {
    return infoOf(blob.name, await blob.getProperties());
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function range(container: ContainerClient, part: PartRef, offset: number, count: number): Promise<Buffer> {
  if (count <= 0) return Buffer.alloc(0);
  return container.getBlobClient(part.name).downloadToBuffer(offset, count, { conditions: { ifMatch: part.etag } });
}

type Containers = Record<keyof typeof CONTAINERS, ContainerClient>;

export function createBlobStore(
  containers: Containers,
  copySource: (blob: BlobClient) => Promise<{ url: string; sourceAuthorization?: HttpAuthorization }>,
): BlobStore {
  const { inbox, edited } = containers;
  return {
    async listDropParts(drop) {
      const parts: DropParts = { images: [] };
      for await (const blob of inbox.listBlobsFlat({ prefix: dropListingPrefix(drop), includeMetadata: true })) {
        const c = classifyBlobName(blob.name);
        if (!c.ok || c.drop.stem !== drop.stem || c.drop.path !== drop.path) continue;
        const info = infoOf(blob.name, { ...blob.properties, ...(blob.metadata ? { metadata: blob.metadata } : {}) });
        if (c.kind === 'image') parts.images.push(info);
        else parts[c.kind] = info;
      }
      parts.image = parts.images[0];
      return parts;
    },

    async samplePart(part, maxHeadBytes) {
      if (part.bytes <= HEAD_BYTES + TAIL_BYTES) {
        const all = await range(inbox, part, 0, part.bytes);
        return { name: part.name, bytes: part.bytes, head: all, tail: all };
      }
      const limit = Math.min(part.bytes, maxHeadBytes);
      const [first, tail] = await Promise.all([
        range(inbox, part, 0, HEAD_BYTES),
        range(inbox, part, part.bytes - TAIL_BYTES, TAIL_BYTES),
      ]);
      let head = first;
      for (;;) {
        const probe = readImageHeader({ head, tail, totalBytes: part.bytes });
        if (probe.ok || probe.needHeadBytes === undefined || head.length >= limit) break;
        const next = await range(inbox, part, head.length, Math.min(limit, probe.needHeadBytes) - head.length);
        head = Buffer.concat([head, next]);
      }
      return { name: part.name, bytes: part.bytes, head, tail };
    },

    readPart: (part) => range(inbox, part, 0, part.bytes),

    async hashPart(part) {
      const res = await inbox.getBlobClient(part.name).download(0, undefined, { conditions: { ifMatch: part.etag } });
      const hash = createHash('sha256');
      for await (const chunk of res.readableStreamBody as AsyncIterable<Buffer>) hash.update(chunk);
      return hash.digest('hex');
    },

    async findResults(drop) {
      // Both listings at once: intake waits for them before it reserves the drop's model slot.
      const listed = await Promise.all(
        (['published', 'quarantine'] as const).map(async (container) => {
          const found: FoundResult[] = [];
          const listing = containers[container].listBlobsFlat({
            prefix: dropListingPrefix(drop),
            includeMetadata: true,
          });
          for await (const blob of listing) {
            if (!isDropResult(drop, blob.name)) continue;
            const info = infoOf(blob.name, {
              ...blob.properties,
              ...(blob.metadata ? { metadata: blob.metadata } : {}),
            });
            found.push({ ...info, container });
          }
          return found;
        }),
      );
      return newestFirst(listed.flat());
    },

    async streamPart(part) {
      const res = await inbox.getBlobClient(part.name).download(0, part.bytes, { conditions: { ifMatch: part.etag } });
      return res.readableStreamBody as AsyncIterable<Buffer>;
    },

    findOutput: (name) => properties(edited.getBlobClient(name)),

    async stageOutput(name, image) {
      const blob = edited.getBlockBlobClient(name);
      // Every block ID of a blob must have the same length
      // (https://learn.microsoft.com/rest/api/storageservices/put-block); this output's are its own, so
      // another attempt staging the same blob at the same time never mixes blocks with it.
      const draft = randomUUID();
      const blockIds: string[] = [];
      const hash = createHash('sha256');
      let bytes = 0;
      let held: Uint8Array[] = [];
      let heldBytes = 0;
      const stage = async () => {
        const [pieces, length] = [held, heldBytes];
        [held, heldBytes] = [[], 0];
        const id = Buffer.from(`${draft}-${String(blockIds.length).padStart(6, '0')}`).toString('base64');
        // The pieces are sent as they are, not copied into one block first (a retry sends them again).
        await blob.stageBlock(id, () => Readable.from(pieces), length);
        blockIds.push(id);
      };
      // One block is staged while the next arrives (two blocks held at most), not after the answer pauses for it.
      let staging: Promise<void> = Promise.resolve();
      for await (const piece of image) {
        hash.update(piece);
        bytes += piece.length;
        held.push(piece);
        heldBytes += piece.length;
        if (heldBytes >= OUTPUT_BLOCK_BYTES) {
          await staging;
          staging = stage();
          staging.catch(() => undefined); // awaited below; a failed answer must not leave it unhandled
        }
      }
      await staging;
      if (heldBytes > 0) await stage();
      return {
        bytes,
        sha256: hash.digest('hex'),
        async commit(contentType, metadata, over) {
          try {
            const written = await blob.commitBlockList(blockIds, {
              conditions: over ? { ifMatch: over } : { ifNoneMatch: '*' },
              blobHTTPHeaders: { blobContentType: contentType },
              metadata,
            });
            return { written: true, etag: written.etag! };
          } catch (err) {
            const discarded = isInvalidBlockList(err);
            if (!isConflict(err) && !discarded) throw err;
            const existing = await properties(edited.getBlobClient(name));
            if (discarded) return { written: false, discarded, existing };
            // Gone between the write and the look: report an empty version so the caller writes afresh.
            return { written: false, existing: existing ?? infoOf(name, { etag: '' }) };
          }
        },
      };
    },

    readOutput: (name, etag) =>
      edited.getBlobClient(name).downloadToBuffer(0, undefined, { conditions: { ifMatch: etag } }),

    async copyVerified(source, target, owner) {
      const from = edited.getBlobClient(source.name);
      const to = containers[target.container].getBlockBlobClient(target.name);
      const copy = await copySource(from);
      return writeResultOnce(
        () => properties(to),
        async (conditions) => {
          const res = await to.syncCopyFromURL(copy.url, {
            conditions,
            sourceConditions: { ifMatch: source.etag },
            // Named metadata replaces the source's, so the source's is passed on explicitly.
            metadata: { ...source.metadata, ...ownerMetadata(owner) },
            ...(copy.sourceAuthorization ? { sourceAuthorization: copy.sourceAuthorization } : {}),
          });
          return res.etag!;
        },
        owner,
      );
    },

    async writeReport(container, name, value, owner) {
      const blob = containers[container].getBlockBlobClient(name);
      const body = `${JSON.stringify(value, null, 2)}\n`;
      return writeResultOnce(
        () => properties(blob),
        async (conditions) =>
          (
            await blob.upload(body, Buffer.byteLength(body), {
              conditions,
              blobHTTPHeaders: { blobContentType: 'application/json' },
              metadata: ownerMetadata(owner),
            })
          ).etag!,
        owner,
      );
    },

    async writeResultBytes(container, name, bytes, contentType, owner) {
      const blob = containers[container].getBlockBlobClient(name);
      return writeResultOnce(
        () => properties(blob),
        async (conditions) =>
          (
            await blob.uploadData(bytes, {
              conditions,
              blobHTTPHeaders: { blobContentType: contentType },
              metadata: ownerMetadata(owner),
            })
          ).etag!,
        owner,
      );
    },

    async *deadLetters() {
      for await (const blob of containers.deadLetter.listBlobsFlat()) {
        yield {
          name: blob.name,
          text: async () => (await containers.deadLetter.getBlobClient(blob.name).downloadToBuffer()).toString('utf8'),
        };
      }
    },

    async removeDeadLetter(name) {
      await containers.deadLetter.getBlobClient(name).deleteIfExists();
    },

    async rewriteDeadLetter(name, text) {
      await containers.deadLetter
        .getBlockBlobClient(name)
        .upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: 'application/json' } });
    },
  };
}
