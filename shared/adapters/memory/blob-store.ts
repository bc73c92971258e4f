/**
 * The blob store (shared/adapters/azure/blob-store.ts `BlobStore`) in memory: containers of blobs with
 * Blob Storage's conditional-write rules, failing with the port's errors (shared/ports/errors.ts) where
 * Azure answers 404, 409 or 412, so the use cases' races play out as on Azure. For unit tests and bench.
 */
import { Readable } from 'node:stream';
import { CONTAINERS } from '../../core/containers.js';
import { createHash } from 'node:crypto';
import type { BlobInfo, BlobStore, DropParts, ResultOwner, StagedOutput, WriteResult } from '../../ports/blob-store.js';
import { isDropResult, mayReplace, newestFirst, ownerMetadata } from '../../ports/blob-store.js';
import { classifyBlobName, dropListingPrefix, type DropRef } from '../../core/drop.js';
import type { PartRef } from '../../core/job.js';
import { AlreadyExists, ConditionFailed, isConflict, NotFound } from '../../ports/errors.js';

export interface StoredBlob {
  bytes: Buffer;
  etag: string;
  metadata: Record<string, string>;
  contentType: string | undefined;
  lastModified: Date;
}

/** Containers of blobs, with Blob Storage's conditional-write rules. */
export class MemoryBlobs {
  readonly containers = new Map<string, Map<string, StoredBlob>>();
  /** Output staged but not committed, by blob name: one token per writer. */
  private readonly staged = new Map<string, object[]>();
  private version = 0;
  /** Called after every blob write, like a BlobCreated event (the test decides what it does). */
  onBlobCreated: (container: string, name: string, etag: string) => Promise<void> | void = () => {};

  constructor(private readonly clock: { now(): Date }) {}

  container(name: string): Map<string, StoredBlob> {
    let c = this.containers.get(name);
    if (!c) this.containers.set(name, (c = new Map()));
    return c;
  }

  get(container: string, name: string): StoredBlob | undefined {
    return this.container(container).get(name);
  }

  async put(
    container: string,
    name: string,
    bytes: Buffer,
    options: { ifMatch?: string; ifNoneMatch?: '*'; metadata?: Record<string, string>; contentType?: string } = {},
  ): Promise<string> {
    const existing = this.get(container, name);
    if (options.ifNoneMatch === '*' && existing) throw new AlreadyExists(`write ${container}/${name}: it exists`);
    if (options.ifMatch !== undefined && existing?.etag !== options.ifMatch)
      throw new ConditionFailed(`write ${container}/${name}: it changed`);
    const etag = `"0x${(++this.version).toString(16)}"`;
    this.container(container).set(name, {
      bytes,
      etag,
      metadata: options.metadata ?? {},
      contentType: options.contentType,
      lastModified: this.clock.now(),
    });
    await this.onBlobCreated(container, name, etag);
    return etag;
  }

  info(container: string, name: string): BlobInfo | undefined {
    const b = this.get(container, name);
    return (
      b && {
        name,
        etag: b.etag,
        bytes: b.bytes.length,
        metadata: b.metadata,
        contentType: b.contentType,
        lastModified: b.lastModified,
      }
    );
  }

  read(container: string, part: { name: string; etag: string }): Buffer {
    const b = this.get(container, part.name);
    if (!b) throw new NotFound(`read ${container}/${part.name}: not there`);
    if (b.etag !== part.etag) throw new ConditionFailed(`read ${container}/${part.name}: it changed`);
    return b.bytes;
  }

  json(container: string, name: string): Record<string, unknown> | undefined {
    const b = this.get(container, name);
    return b && (JSON.parse(b.bytes.toString('utf8')) as Record<string, unknown>);
  }

  private async writeResult(
    container: string,
    name: string,
    bytes: Buffer,
    metadata: Record<string, string>,
    owner: ResultOwner,
  ): Promise<WriteResult> {
    const existing = this.info(container, name);
    if (existing && !mayReplace(existing, owner)) return { written: false, existing };
    const etag = await this.put(container, name, bytes, {
      ...(existing ? { ifMatch: existing.etag } : { ifNoneMatch: '*' }),
      metadata: { ...metadata, ...ownerMetadata(owner) },
    });
    return { written: true, etag };
  }

  /** Output held aside until committed (the blob store's `stageOutput`). */
  private async stage(name: string, image: AsyncIterable<Uint8Array>): Promise<StagedOutput> {
    const pieces: Buffer[] = [];
    for await (const piece of image) pieces.push(Buffer.from(piece));
    const bytes = Buffer.concat(pieces);
    // Like Put Block List: a commit to the blob drops what other writers staged for it.
    const draft = {};
    this.staged.set(name, [...(this.staged.get(name) ?? []), draft]);
    return {
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      commit: async (contentType, metadata, over) => {
        if (!this.staged.get(name)?.includes(draft))
          return { written: false, discarded: true, existing: this.info('edited', name) };
        try {
          const conditions = over ? { ifMatch: over } : { ifNoneMatch: '*' as const };
          const etag = await this.put('edited', name, bytes, { ...conditions, metadata, contentType });
          this.staged.delete(name);
          return { written: true, etag };
        } catch (err) {
          if (!isConflict(err)) throw err;
          const gone = {
            name,
            etag: '',
            bytes: 0,
            metadata: {},
            contentType: undefined,
            lastModified: new Date(0),
          };
          return { written: false, existing: this.info('edited', name) ?? gone };
        }
      },
    };
  }

  /** The drop's parts in `inbox/`, in name order (the blob store's `listDropParts`). */
  private dropParts(drop: DropRef): DropParts {
    const parts: DropParts = { images: [] };
    const prefix = dropListingPrefix(drop);
    for (const name of [...this.container('inbox').keys()].sort()) {
      const c = classifyBlobName(name);
      if (!name.startsWith(prefix) || !c.ok || c.drop.stem !== drop.stem || c.drop.path !== drop.path) continue;
      const info = this.info('inbox', name)!;
      if (c.kind === 'image') parts.images.push(info);
      else parts[c.kind] = info;
    }
    parts.image = parts.images[0];
    return parts;
  }

  store(): BlobStore {
    return {
      listDropParts: async (drop) => this.dropParts(drop),
      samplePart: async (part: PartRef) => {
        const bytes = this.read('inbox', part);
        return { name: part.name, bytes: bytes.length, head: bytes, tail: bytes };
      },
      readPart: async (part) => this.read('inbox', part),
      hashPart: async (part) => createHash('sha256').update(this.read('inbox', part)).digest('hex'),
      findResults: async (drop) =>
        newestFirst(
          (['published', 'quarantine'] as const).flatMap((container) =>
            [...this.container(container).keys()]
              .filter((name) => isDropResult(drop, name))
              .map((name) => ({ ...this.info(container, name)!, container })),
          ),
        ),
      streamPart: async (part) => [this.read('inbox', part)][Symbol.iterator]() as never,
      findOutput: async (name) => this.info('edited', name),
      stageOutput: (name, image) => this.stage(name, image),
      readOutput: async (name, etag) => this.read('edited', { name, etag }),
      copyVerified: async (source, target, owner) =>
        this.writeResult(target.container, target.name, this.read('edited', source), source.metadata, owner),
      writeReport: async (container, name, value, owner) =>
        this.writeResult(container, name, Buffer.from(JSON.stringify(value)), {}, owner),
      writeResultBytes: async (container, name, bytes, _type, owner) =>
        this.writeResult(container, name, Buffer.from(bytes), {}, owner),
      deadLetters: async function* (this: MemoryBlobs) {
        for (const [name, b] of [...this.container('eventgrid-deadletter')])
          yield { name, text: async () => b.bytes.toString('utf8') };
      }.bind(this),
      // The console's reads and writes
      readJson: async (container, name) => {
        const b = this.get(CONTAINERS[container], name);
        try {
          return b && JSON.parse(b.bytes.toString('utf8'));
        } catch {
          return undefined;
        }
      },
      uploadDropPart: async (name, bytes, contentType, metadata, conditions) =>
        this.put('inbox', name, Buffer.from(bytes), { ...conditions, metadata, contentType }),
      downloadBlob: async (container, name) => {
        const b = this.get(CONTAINERS[container], name);
        if (!b) throw new NotFound(`${container}/${name} is gone`);
        return { body: Readable.from([b.bytes]), bytes: b.bytes.length };
      },
      removeDeadLetter: async (name) => void this.container('eventgrid-deadletter').delete(name),
      rewriteDeadLetter: async (name, text) => void (await this.put('eventgrid-deadletter', name, Buffer.from(text))),
    };
  }
}
