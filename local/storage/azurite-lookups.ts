/**
 * Azurite looks a table entity up as `findOne({ PartitionKey, RowKey })` and a blob as `findOne({ accountName,
 * containerName, name, snapshot })`. LokiJS answers a query object's first key from its binary index and filters
 * the rest by scanning, so with the partition (or the account) first every insert, read and update scans the
 * whole partition (the jobs index is one) or every blob: a write cost the state's size, and a persisted state's
 * jobs cost N² to index. Leading with the key that names one document (the row key, the blob's name, both
 * indexed by Azurite) makes each lookup a binary search, with the same answer: the keys are AND-ed and the
 * index's range is filtered with the exact equality. Only these two lookups are reordered, and only in the
 * LokiJS that Azurite loads, which nothing else in this process uses.
 */
import { createRequire } from 'node:module';

type Query = Record<string, unknown>;

interface LokiCollection {
  binaryIndices: Record<string, unknown>;
  findOne(query?: Query): unknown;
}

/** Each lookup Azurite makes for one document, by its keys in order, and the key to lead with. */
const LOOKUPS: { keys: string[]; lead: string }[] = [
  { keys: ['PartitionKey', 'RowKey'], lead: 'RowKey' },
  { keys: ['accountName', 'containerName', 'name', 'snapshot'], lead: 'name' },
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

/** Makes Azurite's one-document lookups use their binary index (once per process; later calls do nothing). */
export function indexAzuriteLookups(): void {
  const fromAzurite = createRequire(createRequire(import.meta.url).resolve('azurite/package.json'));
  const Loki = fromAzurite('lokijs') as { Collection: { prototype: LokiCollection & { [PATCHED]?: true } } };
  const proto = Loki.Collection.prototype;
  if (proto[PATCHED]) return;
  const findOne = proto.findOne;
  proto.findOne = function (this: LokiCollection, query?: Query) {
    return findOne.call(
      this,
      query && azuriteLookups.indexed ? leadWithIdentifyingKey(query, this.binaryIndices) : query,
    );
  };
  proto[PATCHED] = true;
}
