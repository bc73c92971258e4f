/**
 * Where the ledger keeps its documents: conditional writes by ETag, like Blob Storage (a failed
 * condition throws ConditionFailed, or AlreadyExists for If-None-Match: *; shared/ports/errors.ts).
 * `containerRecords` (shared/adapters/azure/blob-records.ts) is Blob Storage; unit tests use an in-memory one.
 */
export interface RecordStore {
  read(name: string): Promise<{ text: string; etag: string } | undefined>;
  write(
    name: string,
    text: string,
    condition: { ifMatch?: string; ifNoneMatch?: '*' },
    metadata?: Record<string, string>,
  ): Promise<string>;
  remove(name: string): Promise<void>;
  names(prefix: string): AsyncIterable<string>;
  /** One page of the top-level documents (no '/' in the name), with their metadata. */
  page(
    limit: number,
    token?: string,
  ): Promise<{ items: { name: string; metadata: Record<string, string> }[]; token?: string }>;
}
