/**
 * Azurite looks a table entity up as `{ PartitionKey, RowKey }` and a blob as `{ accountName, containerName, name,
 * snapshot }` (or without the snapshot). LokiJS answers a query object's first key from its binary index and
 * filters the rest by scanning, so with the partition (or the account) first every insert, read, update and delete
 * scans the whole partition (the jobs index is one) or every blob: a write cost the state's size, and a persisted
 * state's jobs cost N² to index. Leading with the key that names one document (the row key, the blob's name, both
 * indexed by Azurite) makes each lookup a binary search, with the same answer: the keys are AND-ed and the
 * index's range is filtered with the exact equality.
 *
 * Deleting a blob removes what its lookup found as a batch, and LokiJS rebuilds every binary index of the
 * collection after a batch removal (sorting every blob four times: half a second a delete at 100,000 blobs); one
 * document found is removed as one, which updates the indices in place, as a table entity's removal always does.
 *
 * Only these lookups are changed (a later Azurite that asks otherwise is left as it asks: slower, never wrong), and
 * only in the LokiJS that Azurite loads, which nothing else in this process uses.
 */
import { createRequire } from 'node:module';

type Query = Record<string, unknown>;

export interface LokiCollection {
  binaryIndices: Record<string, unknown>;
  data: unknown[];
  chain(): LokiResultset;
  remove(doc: unknown): void;
  findAndRemove(query?: Query): void;
}

export interface LokiResultset {
  collection: LokiCollection;
  filterInitialized: boolean;
  filteredrows: number[];
  find(query?: unknown, firstOnly?: boolean): LokiResultset;
  remove(): void;
}

export interface Loki {
  Collection: { prototype: LokiCollection & { [PATCHED]?: true } };
  Resultset: { prototype: LokiResultset };
}

/** Each lookup Azurite makes for one document, by its keys in order, and the key to lead with. */
const LOOKUPS: { keys: string[]; lead: string }[] = [
  { keys: ['PartitionKey', 'RowKey'], lead: 'RowKey' },
  { keys: ['accountName', 'containerName', 'name', 'snapshot'], lead: 'name' },
  { keys: ['accountName', 'containerName', 'name'], lead: 'name' },
];

const plain = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** `query` with its identifying key first when it is one of Azurite's lookups and that key is indexed; else as given. */
export function leadWithIdentifyingKey(query: Query, indexed: Record<string, unknown>): Query {
  const keys = Object.keys(query);
  const lookup = LOOKUPS.find((l) => l.keys.length === keys.length && l.keys.every((k, i) => keys[i] === k));
  if (!lookup || !indexed[lookup.lead] || !plain(query[lookup.lead])) return query;
  const { [lookup.lead]: leadValue, ...rest } = query;
  return { [lookup.lead]: leadValue, ...rest };
}

const PATCHED = Symbol.for('imagegen-pipeline.azurite-lookups');

/** Off: lookups as Azurite makes them (bench/azurite-lookups.ts measures both in one process, taking turns). */
export const azuriteLookups = { indexed: true };

const isQuery = (q: unknown): q is Query => typeof q === 'object' && q !== null && !Array.isArray(q);

/** The LokiJS module Azurite loads (resolved from Azurite's package, which may hold its own copy). */
export function azuriteLoki(): Loki {
  return createRequire(createRequire(import.meta.url).resolve('azurite/package.json'))('lokijs') as Loki;
}

/** Makes Azurite's one-document lookups use their binary index (once per process; later calls do nothing). */
export function indexAzuriteLookups(): void {
  const { Collection, Resultset } = azuriteLoki();
  if (Collection.prototype[PATCHED]) return;
  const find = Resultset.prototype.find;
  // The first filter of a result set is the one LokiJS answers from an index (findOne, count, findAndRemove).
  Resultset.prototype.find = function (this: LokiResultset, query?: unknown, firstOnly?: boolean) {
    const led =
      azuriteLookups.indexed && !this.filterInitialized && isQuery(query)
        ? leadWithIdentifyingKey(query, this.collection.binaryIndices)
        : query;
    return find.call(this, led, firstOnly);
  };
  const findAndRemove = Collection.prototype.findAndRemove;
  Collection.prototype.findAndRemove = function (this: LokiCollection, query?: Query) {
    if (!azuriteLookups.indexed) return findAndRemove.call(this, query);
    const found = this.chain().find(query);
    if (found.filteredrows.length === 1) this.remove(this.data[found.filteredrows[0]!]);
    else if (found.filteredrows.length > 1) found.remove();
  };
  Collection.prototype[PATCHED] = true;
}
