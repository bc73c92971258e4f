/**
 * The storage port (shared/ports/blob-store.ts) on Azure Blob Storage, Azurite locally.
 *
 * Results are never overwritten blindly: outputs, copies and reports are written with If-None-Match: *,
 * or with If-Match on a version this write may replace (an earlier result of the same drop). A blob that
 * belongs to another drop is reported back, not overwritten.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { BlobClient, BlockBlobClient, ContainerClient, HttpAuthorization } from '@azure/storage-blob';
import type { ContainerName } from '../../core/containers.js';
import { classifyBlobName, dropListingPrefix, type DropRef } from '../../core/drop.js';
import { HEAD_BYTES, readImageHeader, TAIL_BYTES } from '../../core/image-header.js';
import type { PartRef } from '../../core/job.js';
import type { PartSample } from '../../core/validation.js';

import {
  type BlobInfo,
  type CommitResult,
  type DropParts,
  type FoundResult,
  isDropResult,
  newestFirst,
  type ResultContainer,
  type ResultOwner,
  type StagedOutput,
  type WriteResult,
  type BlobStore,
  ownerMetadata,
  mayReplace,
} from '../../ports/blob-store.js';
import { codeOf, isSdkConflict, isSdkNotFound, statusOf, translated, translatedIteration } from './storage-errors.js';

/**
 * Model output is staged in blocks of this size: what one call holds of its image at a time. A 1536x1024
 * PNG (at most ~4.7 MB) takes five; a block blob may have 50,000.
 */
const OUTPUT_BLOCK_BYTES = 1024 * 1024;

/** The commit named a block that is gone: another commit to the blob discarded it. */
const isInvalidBlockList = (err: unknown) => statusOf(err) === 400 && codeOf(err) === 'InvalidBlockList';

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
      if (!isSdkConflict(err)) throw err;
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
    if (isSdkNotFound(err)) return undefined;
    throw err;
  }
}

async function range(container: ContainerClient, part: PartRef, offset: number, count: number): Promise<Buffer> {
  if (count <= 0) return Buffer.alloc(0);
  return container.getBlobClient(part.name).downloadToBuffer(offset, count, { conditions: { ifMatch: part.etag } });
}

type Containers = Record<ContainerName, ContainerClient>;

/**
 * The store with every SDK failure a caller acts on thrown as the port's error (shared/ports/errors.ts):
 * the use cases tell a lost race or a vanished blob by class, never by HTTP status.
 */
function withPortErrors(store: BlobStore): BlobStore {
  const t = translated;
  return {
    listDropParts: (drop) => t(`list inbox/${dropListingPrefix(drop)}`, () => store.listDropParts(drop)),
    samplePart: (part, max) => t(`sample inbox/${part.name}`, () => store.samplePart(part, max)),
    readPart: (part) => t(`read inbox/${part.name}`, () => store.readPart(part)),
    hashPart: (part) => t(`hash inbox/${part.name}`, () => store.hashPart(part)),
    findResults: (drop) => t(`find results of ${dropListingPrefix(drop)}`, () => store.findResults(drop)),
    streamPart: (part) => t(`stream inbox/${part.name}`, () => store.streamPart(part)),
    findOutput: (name) => t(`find edited/${name}`, () => store.findOutput(name)),
    // Staging names no condition, so what fails there is a storage fault, passed on as it is; the commit's
    // condition is the port's.
    async stageOutput(name, image) {
      const staged = await store.stageOutput(name, image);
      return { ...staged, commit: (...args) => t(`commit edited/${name}`, () => staged.commit(...args)) };
    },
    readOutput: (name, etag) => t(`read edited/${name}`, () => store.readOutput(name, etag)),
    copyVerified: (source, target, owner) =>
      t(`copy edited/${source.name} to ${target.container}/${target.name}`, () =>
        store.copyVerified(source, target, owner),
      ),
    writeReport: (container, name, value, owner) =>
      t(`write ${container}/${name}`, () => store.writeReport(container, name, value, owner)),
    writeResultBytes: (container, name, bytes, type, owner) =>
      t(`write ${container}/${name}`, () => store.writeResultBytes(container, name, bytes, type, owner)),
    async *deadLetters() {
      const listing = translatedIteration('list dead letters', store.deadLetters());
      for await (const letter of listing)
        yield { name: letter.name, text: () => t(`read dead letter ${letter.name}`, () => letter.text()) };
    },
    removeDeadLetter: (name) => t(`remove dead letter ${name}`, () => store.removeDeadLetter(name)),
    rewriteDeadLetter: (name, text) => t(`rewrite dead letter ${name}`, () => store.rewriteDeadLetter(name, text)),
    readJson: (container, name) => t(`read ${container}/${name}`, () => store.readJson(container, name)),
    uploadDropPart: (name, bytes, type, metadata, conditions) =>
      t(`upload inbox/${name}`, () => store.uploadDropPart(name, bytes, type, metadata, conditions)),
    downloadBlob: (container, name) => t(`download ${container}/${name}`, () => store.downloadBlob(container, name)),
  };
}

type CopySource = (blob: BlobClient) => Promise<{ url: string; sourceAuthorization?: HttpAuthorization }>;

export function createBlobStore(containers: Containers, copySource: CopySource): BlobStore {
  return withPortErrors(new SdkBlobStore(containers, copySource));
}

/** Output staged as uncommitted blocks: their IDs in order, and the output's length and SHA-256 (hex). */
interface StagedBlocks {
  blockIds: string[];
  bytes: number;
  sha256: string;
}

/** Stages `image` as blocks of `blob`, OUTPUT_BLOCK_BYTES at a time, hashing it as it goes. */
async function stageBlocks(blob: BlockBlobClient, image: AsyncIterable<Uint8Array>): Promise<StagedBlocks> {
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
  return { blockIds, bytes, sha256: hash.digest('hex') };
}

/** The port on the SDK's clients, SDK errors as they come (createBlobStore translates them). */
class SdkBlobStore implements BlobStore {
  private readonly inbox: ContainerClient;
  private readonly edited: ContainerClient;

  constructor(
    private readonly containers: Containers,
    private readonly copySource: CopySource,
  ) {
    this.inbox = containers.inbox;
    this.edited = containers.edited;
  }

  async listDropParts(drop: DropRef): Promise<DropParts> {
    const parts: DropParts = { images: [] };
    for await (const blob of this.inbox.listBlobsFlat({ prefix: dropListingPrefix(drop), includeMetadata: true })) {
      const c = classifyBlobName(blob.name);
      if (!c.ok || c.drop.stem !== drop.stem || c.drop.path !== drop.path) continue;
      const info = infoOf(blob.name, { ...blob.properties, ...(blob.metadata ? { metadata: blob.metadata } : {}) });
      if (c.kind === 'image') parts.images.push(info);
      else parts[c.kind] = info;
    }
    parts.image = parts.images[0];
    return parts;
  }

  async samplePart(part: PartRef, maxHeadBytes: number): Promise<PartSample> {
    const inbox = this.inbox;
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
  }

  readPart(part: PartRef): Promise<Buffer> {
    return range(this.inbox, part, 0, part.bytes);
  }

  async hashPart(part: PartRef): Promise<string> {
    const res = await this.inbox
      .getBlobClient(part.name)
      .download(0, undefined, { conditions: { ifMatch: part.etag } });
    const hash = createHash('sha256');
    for await (const chunk of res.readableStreamBody as AsyncIterable<Buffer>) hash.update(chunk);
    return hash.digest('hex');
  }

  async findResults(drop: DropRef): Promise<FoundResult[]> {
    // Both listings at once: intake waits for them before it reserves the drop's model slot.
    const listed = await Promise.all(
      (['published', 'quarantine'] as const).map((container) => this.resultsIn(container, drop)),
    );
    return newestFirst(listed.flat());
  }

  /** The drop's results in one container, in listing order. */
  private async resultsIn(container: FoundResult['container'], drop: DropRef): Promise<FoundResult[]> {
    const found: FoundResult[] = [];
    const listing = this.containers[container].listBlobsFlat({
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
  }

  async streamPart(part: PartRef): Promise<AsyncIterable<Uint8Array>> {
    const res = await this.inbox
      .getBlobClient(part.name)
      .download(0, part.bytes, { conditions: { ifMatch: part.etag } });
    return res.readableStreamBody as AsyncIterable<Buffer>;
  }

  findOutput(name: string): Promise<BlobInfo | undefined> {
    return properties(this.edited.getBlobClient(name));
  }

  async stageOutput(name: string, image: AsyncIterable<Uint8Array>): Promise<StagedOutput> {
    const blob = this.edited.getBlockBlobClient(name);
    const { blockIds, bytes, sha256 } = await stageBlocks(blob, image);
    return {
      bytes,
      sha256,
      commit: (contentType, metadata, over) => this.commitBlocks(name, blob, blockIds, contentType, metadata, over),
    };
  }

  /** Commits staged blocks as `edited/<name>`, only over version `over` (`null`: only where none exists). */
  private async commitBlocks(
    name: string,
    blob: BlockBlobClient,
    blockIds: string[],
    contentType: string,
    metadata: Record<string, string>,
    over: string | null,
  ): Promise<CommitResult> {
    try {
      const written = await blob.commitBlockList(blockIds, {
        conditions: over ? { ifMatch: over } : { ifNoneMatch: '*' },
        blobHTTPHeaders: { blobContentType: contentType },
        metadata,
      });
      return { written: true, etag: written.etag! };
    } catch (err) {
      const discarded = isInvalidBlockList(err);
      if (!isSdkConflict(err) && !discarded) throw err;
      const existing = await properties(this.edited.getBlobClient(name));
      if (discarded) return { written: false, discarded, existing };
      // Gone between the write and the look: report an empty version so the caller writes afresh.
      return { written: false, existing: existing ?? infoOf(name, { etag: '' }) };
    }
  }

  readOutput(name: string, etag: string): Promise<Buffer> {
    return this.edited.getBlobClient(name).downloadToBuffer(0, undefined, { conditions: { ifMatch: etag } });
  }

  async copyVerified(
    source: { name: string; etag: string; metadata: Record<string, string> },
    target: { container: ResultContainer; name: string },
    owner: ResultOwner,
  ): Promise<WriteResult> {
    const from = this.edited.getBlobClient(source.name);
    const to = this.containers[target.container].getBlockBlobClient(target.name);
    const copy = await this.copySource(from);
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
  }

  async writeReport(
    container: ResultContainer,
    name: string,
    value: unknown,
    owner: ResultOwner,
  ): Promise<WriteResult> {
    const blob = this.containers[container].getBlockBlobClient(name);
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
  }

  async writeResultBytes(
    container: ResultContainer,
    name: string,
    bytes: Uint8Array,
    contentType: string,
    owner: ResultOwner,
  ): Promise<WriteResult> {
    const blob = this.containers[container].getBlockBlobClient(name);
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
  }

  async *deadLetters(): AsyncIterable<{ name: string; text(): Promise<string> }> {
    for await (const blob of this.containers.deadLetter.listBlobsFlat()) {
      yield {
        name: blob.name,
        text: async () =>
          (await this.containers.deadLetter.getBlobClient(blob.name).downloadToBuffer()).toString('utf8'),
      };
    }
  }

  async removeDeadLetter(name: string): Promise<void> {
    await this.containers.deadLetter.getBlobClient(name).deleteIfExists();
  }

  async rewriteDeadLetter(name: string, text: string): Promise<void> {
    await this.containers.deadLetter
      .getBlockBlobClient(name)
      .upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: 'application/json' } });
  }

  async readJson<T>(container: ContainerName, name: string): Promise<T | undefined> {
    try {
      return JSON.parse((await this.containers[container].getBlobClient(name).downloadToBuffer()).toString('utf8'));
    } catch (err) {
      if (isSdkNotFound(err) || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  async uploadDropPart(
    name: string,
    bytes: Uint8Array,
    contentType: string,
    metadata: Record<string, string>,
    conditions?: { ifNoneMatch?: '*'; ifMatch?: string },
  ): Promise<string> {
    const res = await this.inbox.getBlockBlobClient(name).uploadData(bytes, {
      blobHTTPHeaders: { blobContentType: contentType },
      metadata,
      ...(conditions ? { conditions } : {}),
    });
    return res.etag!;
  }

  async downloadBlob(container: ContainerName, name: string): Promise<{ body: Readable; bytes: number }> {
    const res = await this.containers[container].getBlobClient(name).download();
    const body = res.readableStreamBody as Readable | undefined;
    if (!body) throw new Error(`${container}/${name} has no body`);
    return { body, bytes: res.contentLength ?? 0 };
  }
}
