/**
 * The few Table Storage operations the jobs index needs, on one partition: read a row, commit a group of
 * changes atomically (an entity group transaction), and read a key range in order. `tableClientIndex` is
 * Azure Table Storage (Azurite locally); `memoryIndexTable` serves the unit tests.
 */
import { TableClient, type TransactionAction } from '@azure/data-tables';
import { isSdkNotFound, toPortError, translated } from './storage-errors.js';

export type IndexValue = string | number;
export type IndexRow = Record<string, IndexValue> & { rowKey: string };

/**
 * `update` fails (ConditionFailed) if the row changed since `etag`, `create` (AlreadyExists) if it exists,
 * `delete` (NotFound) if it is gone (a transaction cannot make a delete conditional on an ETag).
 */
export type IndexOp =
  | { kind: 'create' | 'upsert'; row: IndexRow }
  | { kind: 'update'; row: IndexRow; etag: string }
  | { kind: 'delete'; rowKey: string };

export interface IndexPage {
  rows: IndexRow[];
  token?: string;
}

export interface IndexTable {
  get(rowKey: string): Promise<{ row: IndexRow; etag: string } | undefined>;
  /** All or nothing (at most 100 operations, each row once). */
  commit(ops: IndexOp[]): Promise<void>;
  /** Rows with `from <= rowKey < to` that meet every condition in `where`, ascending. */
  range(from: string, to: string, options: { limit: number; token?: string; where?: Condition[] }): Promise<IndexPage>;
}

/** A row property equal to a value, or starting with a prefix. */
export type Condition = { field: string; equals: string } | { field: string; prefix: string };

/** The smallest string after every string that starts with `prefix`. */
export const prefixEnd = (prefix: string) => prefix + '\uffff';

export function meets(row: IndexRow, where: Condition[] = []): boolean {
  return where.every((c) => {
    const v = row[c.field];
    return typeof v === 'string' && ('equals' in c ? v === c.equals : v.startsWith(c.prefix));
  });
}

function odataCondition(c: Condition): string {
  if ('equals' in c) return `${c.field} eq ${odata(c.equals)}`;
  return `${c.field} ge ${odata(c.prefix)} and ${c.field} lt ${odata(prefixEnd(c.prefix))}`;
}

export const PARTITION = 'jobs';

/** An OData string literal. */
export const odata = (text: string) => `'${text.replace(/'/g, "''")}'`;

function toRow(entity: Record<string, unknown>): IndexRow {
  const row: Record<string, IndexValue> = {};
  for (const [k, v] of Object.entries(entity)) {
    if (k === 'partitionKey' || k === 'etag' || k === 'timestamp' || k.startsWith('odata')) continue;
    if (typeof v === 'string' || typeof v === 'number') row[k] = v;
  }
  return row as IndexRow;
}

function action(op: IndexOp): TransactionAction {
  switch (op.kind) {
    case 'create':
      return ['create', { partitionKey: PARTITION, ...op.row }];
    case 'upsert':
      return ['upsert', { partitionKey: PARTITION, ...op.row }, 'Replace'];
    case 'update':
      return ['update', { partitionKey: PARTITION, ...op.row }, 'Replace', { etag: op.etag }];
    case 'delete':
      return ['delete', { partitionKey: PARTITION, rowKey: op.rowKey }];
  }
}

export function tableClientIndex(client: TableClient): IndexTable {
  return {
    async get(rowKey) {
      try {
        const entity = await client.getEntity(PARTITION, rowKey);
        return { row: toRow(entity), etag: entity.etag };
      } catch (err) {
        if (isSdkNotFound(err)) return undefined;
        throw toPortError(err, `read row ${rowKey}`);
      }
    },
    async commit(ops) {
      // A transaction fails whole with the status of the operation that failed (409, 412 or 404).
      if (ops.length > 0)
        await translated(`commit ${ops.length} index rows`, () => client.submitTransaction(ops.map(action)));
    },
    async range(from, to, { limit, token, where = [] }) {
      const keys = `PartitionKey eq ${odata(PARTITION)} and RowKey ge ${odata(from)} and RowKey lt ${odata(to)}`;
      const filter = [keys, ...where.map(odataCondition)].join(' and ');
      const page = await translated(`read index rows from ${from}`, () =>
        client
          .listEntities({ queryOptions: { filter } })
          .byPage({ maxPageSize: limit, ...(token ? { continuationToken: token } : {}) })
          .next(),
      );
      if (page.done) return { rows: [] };
      const rows = page.value.map((e) => toRow(e as Record<string, unknown>));
      return { rows, ...(page.value.continuationToken ? { token: page.value.continuationToken } : {}) };
    },
  };
}
