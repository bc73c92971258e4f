/**
 * The ledger's record store (shared/app/ledger.ts `RecordStore`) in memory: conditional writes by ETag
 * failing with the port's errors (shared/ports/errors.ts), as Blob Storage's do. For unit tests and bench.
 */
import type { RecordStore } from '../../ports/record-store.js';
import { AlreadyExists, ConditionFailed } from '../../ports/errors.js';

/** The ledger's documents in memory. */
export class MemoryRecords implements RecordStore {
  readonly docs = new Map<string, { text: string; etag: string; metadata: Record<string, string> }>();
  private version = 0;
  /** Runs before every write: a test can interleave another worker's write here. */
  beforeWrite: (name: string) => Promise<void> | void = () => {};

  async read(name: string) {
    const d = this.docs.get(name);
    return d && { text: d.text, etag: d.etag };
  }

  async write(
    name: string,
    text: string,
    condition: { ifMatch?: string; ifNoneMatch?: '*' },
    metadata: Record<string, string> = {},
  ) {
    await this.beforeWrite(name);
    const existing = this.docs.get(name);
    if (condition.ifNoneMatch === '*' && existing) throw new AlreadyExists(`write ${name}: it exists`);
    if (condition.ifMatch !== undefined && existing?.etag !== condition.ifMatch)
      throw new ConditionFailed(`write ${name}: it changed`);
    const etag = `"r${++this.version}"`;
    this.docs.set(name, { text, etag, metadata });
    return etag;
  }

  async remove(name: string) {
    this.docs.delete(name);
  }

  async *names(prefix: string) {
    for (const name of [...this.docs.keys()].sort()) if (name.startsWith(prefix)) yield name;
  }

  /** In name order; the token is the last name of the page (Blob Storage's tokens are opaque). */
  async page(limit: number, token?: string) {
    const all = [...this.docs]
      .filter(([n]) => !n.includes('/') && (token === undefined || n > token))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const items = all.slice(0, limit);
    const next = all.length > limit ? { token: items.at(-1)![0] } : {};
    return { items: items.map(([name, d]) => ({ name, metadata: d.metadata })), ...next };
  }
}
