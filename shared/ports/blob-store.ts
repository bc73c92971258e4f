/**
 * The storage port: every blob read and write the use cases make, so that they never touch the storage
 * SDK and run against an in-memory store in unit tests (adapters/azure/blob-store.ts is Blob Storage,
 * Azurite locally). Results are never overwritten blindly: a blob that belongs to another drop is
 * reported back, not overwritten.
 */
import { dropListingPrefix, IMAGE_EXTENSIONS, type DropRef, type PartKind } from '../core/drop.js';
import type { Readable } from 'node:stream';
import type { ContainerName } from '../core/containers.js';
import type { PartRef } from '../core/job.js';
import type { PartSample } from '../core/validation.js';

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
  // The console's reads and writes
  /** `<container>/<name>` parsed as JSON; undefined when it is missing or not JSON (a report being written). */
  readJson<T>(container: ContainerName, name: string): Promise<T | undefined>;
  /**
   * Uploads one part of a drop submitted from the console to `inbox/<name>`, as the drop folder uploads
   * (content type and metadata); answers its ETag, which the job id is made from.
   */
  uploadDropPart(
    name: string,
    bytes: Uint8Array,
    contentType: string,
    metadata: Record<string, string>,
    conditions?: { ifNoneMatch?: '*'; ifMatch?: string },
  ): Promise<string>;
  /** `<container>/<name>` as it is now, as a stream with its length; rejects when it is gone. */
  downloadBlob(container: ContainerName, name: string): Promise<{ body: Readable; bytes: number }>;
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
