/**
 * The few Table Storage operations the jobs index needs, on one partition: read a row, commit a group of
 * changes atomically (an entity group transaction), and read a key range in order.
 */
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

export interface RangeOptions {
  limit: number;
  token?: string;
  where?: Condition[];
  /** Starts after this key instead of at `from` (a listing resumed after the last row it gave). */
  after?: string;
}

export interface IndexTable {
  get(rowKey: string): Promise<{ row: IndexRow; etag: string } | undefined>;
  /** All or nothing (at most 100 operations, each row once). */
  commit(ops: IndexOp[]): Promise<void>;
  /**
   * Rows with `from <= rowKey < to` (`after < rowKey < to` when `after` is given) that meet every condition in
   * `where`, ascending. A page may hold fewer than `limit` rows and still have a `token` for the rest.
   */
  range(from: string, to: string, options: RangeOptions): Promise<IndexPage>;
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

export const PARTITION = 'jobs';
