/** The jobs index's table in memory, for unit tests: the same atomic commits and ordered ranges. */
import { meets, type IndexOp, type IndexRow, type IndexTable } from '../../ports/index-table.js';

import { AlreadyExists, ConditionFailed, NotFound } from '../../ports/errors.js';

export function memoryIndexTable(): IndexTable & { rows: Map<string, { row: IndexRow; etag: string }> } {
  const rows = new Map<string, { row: IndexRow; etag: string }>();
  let version = 0;
  const check = (op: IndexOp) => {
    const key = op.kind === 'delete' ? op.rowKey : op.row.rowKey;
    const current = rows.get(key);
    if (op.kind === 'create' && current) throw new AlreadyExists(`create row ${key}: it exists`);
    if (op.kind === 'update' && current?.etag !== op.etag) throw new ConditionFailed(`update row ${key}: it changed`);
    if (op.kind === 'delete' && !current) throw new NotFound(`delete row ${key}: it is gone`);
  };
  return {
    rows,
    async get(rowKey) {
      const found = rows.get(rowKey);
      return found && { row: { ...found.row }, etag: found.etag };
    },
    async commit(ops) {
      ops.forEach(check);
      for (const op of ops) {
        if (op.kind === 'delete') rows.delete(op.rowKey);
        else rows.set(op.row.rowKey, { row: { ...op.row }, etag: `"${++version}"` });
      }
    },
    async range(from, to, { limit, token, where, after }) {
      const lower = (k: string) => (token ? k >= token : after === undefined ? k >= from : k > after);
      const keys = [...rows.keys()].filter((k) => lower(k) && k < to).sort();
      const matching = keys.map((k) => rows.get(k)!.row).filter((r) => meets(r, where));
      const page = matching.slice(0, limit);
      const next = matching[limit]?.rowKey;
      return { rows: page.map((r) => ({ ...r })), ...(next ? { token: next } : {}) };
    },
  };
}
