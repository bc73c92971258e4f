/**
 * Bench (h)'s jobs past what Azurite's write path reaches in a bench's time: Azurite keeps a table in one LokiJS
 * collection with binary indices on PartitionKey and RowKey, and as shipped every insert looked its key up by
 * scanning the rows of its partition (all of the index's, one partition), so writing N jobs cost N² (10,000 jobs
 * took a minute under load, the next 10,000 many). `npm start`'s Azurite now leads that lookup with the row key
 * (local/storage/azurite-lookups.ts), but a job's writes still cost more as the table grows (bench (h-lookups)).
 * Here the rows are made by the index's own code (`JobsIndex.putNew` on an in-memory table) and the ledger's
 * blobs' listing entries by copying one Azurite wrote, then put straight into Azurite's collections, their
 * indices rebuilt once. Every query still goes through Azurite's services.
 */
import type { JobRecord } from '../shared/core/job.js';
import { memoryIndexTable } from '../shared/adapters/memory/index-table.js';
import { JobsIndex } from '../shared/app/jobs-index.js';
import { PARTITION, type IndexRow } from '../shared/ports/index-table.js';
import { DEV_ACCOUNT } from '../local/storage/azurite.js';

type Doc = Record<string, unknown> & { properties: Record<string, unknown> };
interface Collection {
  binaryIndices: Record<string, unknown>;
  findOne(query: Record<string, unknown>): Doc | null;
  find(query: Record<string, unknown>): Doc[];
  insert(docs: Doc[]): void;
  update(doc: Doc): void;
  ensureIndex(field: string, force: boolean): void;
}
interface LokiDb {
  getCollection(name: string): Collection | null;
}

/** A copy of `doc` as a new document: without LokiJS's own id and bookkeeping. */
function fresh(doc: Doc): Doc {
  const { $loki: _id, meta: _meta, ...rest } = doc;
  return structuredClone(rest) as Doc;
}

/** Inserts many documents with the indices off, then rebuilds each once (sorting instead of n inserts of n). */
function insertMany(coll: Collection, docs: Doc[]): void {
  const fields = Object.keys(coll.binaryIndices);
  coll.binaryIndices = {};
  coll.insert(docs);
  for (const field of fields) coll.ensureIndex(field, true);
}

/** The index's rows for `jobs`, as its upgrade would write them; counter rows hold these jobs' counts alone. */
async function indexRows(jobs: JobRecord[]): Promise<IndexRow[]> {
  const table = memoryIndexTable();
  await new JobsIndex(table).putNew(jobs);
  return [...table.rows.values()].map((r) => r.row);
}

function tableDoc(template: Doc, row: IndexRow): Doc {
  const doc = fresh(template);
  const { rowKey, ...values } = row;
  doc.RowKey = rowKey;
  doc.properties = { ...doc.properties, ...values, PartitionKey: PARTITION, RowKey: rowKey };
  for (const k of ['id', 'state', 'drop', 'deployment', 'createdAt', 'updatedAt'])
    if (!(k in values)) delete doc.properties[k];
  return doc;
}

/** Adds the new jobs' counts to the counter rows Azurite holds (written by the service for the first jobs). */
function addCounts(coll: Collection, counters: IndexRow[]): void {
  for (const { rowKey, ...delta } of counters) {
    const doc = coll.findOne({ PartitionKey: PARTITION, RowKey: rowKey });
    if (!doc) throw new Error(`seed: counter ${rowKey} not written by the service first`);
    // A plain JSON number, as the service received the first jobs' counts.
    for (const [state, n] of Object.entries(delta))
      doc.properties[state] = Number(doc.properties[state] ?? 0) + Number(n);
    coll.update(doc);
  }
}

/** Seeds `jobs` into the index's table `table` and their records' listing entries into container `container`. */
export async function seedJobs(
  stores: { blob: unknown; table: unknown },
  names: { table: string; container: string },
  jobs: JobRecord[],
): Promise<void> {
  const table = (stores.table as LokiDb).getCollection(`${DEV_ACCOUNT}$${names.table}`);
  const blobs = (stores.blob as LokiDb).getCollection('$BLOBS_COLLECTION$');
  if (!table || !blobs) throw new Error('seed: Azurite holds no such table or no blobs');
  const rows = await indexRows(jobs);
  const template = table.findOne({ PartitionKey: PARTITION, RowKey: { $regex: /^u\|/ } });
  const blob = blobs.find({ containerName: names.container }).find((b) => String(b.name).endsWith('.json'));
  if (!template || !blob) throw new Error('seed: write some jobs through the services first');
  addCounts(
    table,
    rows.filter((r) => r.rowKey.startsWith('n|')),
  );
  insertMany(
    table,
    rows.filter((r) => !r.rowKey.startsWith('n|')).map((r) => tableDoc(template, r)),
  );
  insertMany(
    blobs,
    jobs.map((j) => {
      const doc = fresh(blob);
      doc.name = `${j.id}.json`;
      doc.metadata = { state: j.state, drop: j.drop.key, updated: j.updatedAt };
      return doc;
    }),
  );
}
