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

  async page(limit: number) {
    const items = [...this.docs]
      .filter(([n]) => !n.includes('/'))
      .sort(([a], [b]) => a.localeCompare(b))
      .slice(0, limit);
    return { items: items.map(([name, d]) => ({ name, metadata: d.metadata })) };
  }
}
