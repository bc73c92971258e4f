/** The jobs index's table (shared/ports/index-table.ts) on Azure Table Storage, Azurite locally. */
import { TableClient, type TransactionAction } from '@azure/data-tables';
import {
  type IndexValue,
  type IndexRow,
  type IndexOp,
  type IndexTable,
  type Condition,
  prefixEnd,
  PARTITION,
} from '../../ports/index-table.js';
import { isSdkNotFound, toPortError, translated } from './storage-errors.js';

function odataCondition(c: Condition): string {
  if ('equals' in c) return `${c.field} eq ${odata(c.equals)}`;
  return `${c.field} ge ${odata(c.prefix)} and ${c.field} lt ${odata(prefixEnd(c.prefix))}`;
}

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
    async range(from, to, { limit, token, where = [], after }) {
      const lower = after === undefined ? `RowKey ge ${odata(from)}` : `RowKey gt ${odata(after)}`;
      const keys = `PartitionKey eq ${odata(PARTITION)} and ${lower} and RowKey lt ${odata(to)}`;
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
