/**
 * The jobs index: one Table Storage partition whose row keys sort the jobs the ways the console and
 * `GET /api/jobs` ask for, so a listing reads one key range instead of the whole ledger.
 *   j|<id>                          the job's head: its indexed version and the keys of its rows
 *   u|<newest-first updated>|<id>   by last change          c|<newest-first created>|<id>   by creation
 *   s|<state>|<newest-first updated>|<id>                    by state, newest change first
 *   n|<shard>                       how many jobs are in each state (16 shards, so writers rarely collide)
 *   m|<name>                        bookkeeping (the upgrade's progress)
 * A job's rows and counters change in one transaction under the head's ETag: the index never half-moves a
 * job, and an older version never overwrites a newer one.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { JOB_STATES, TERMINAL_STATES, type JobRecord, type JobState } from '../core/job.js';
import { prefixEnd, type Condition, type IndexOp, type IndexRow, type IndexTable } from '../ports/index-table.js';
import { AlreadyExists, ConditionFailed, NotFound } from '../ports/errors.js';

export interface IndexedJob {
  id: string;
  state: JobState;
  drop: string;
  deployment: string;
  createdAt: string;
  updatedAt: string;
}

export interface IndexQuery {
  /** `updated` (default): newest change first; `created`: newest job first. */
  order?: 'updated' | 'created';
  state?: JobState;
  dropPrefix?: string;
  deployment?: string;
  limit: number;
  continuationToken?: string;
}

export type StateCounts = Partial<Record<JobState, number>>;

/** How hard `putNew` writes: transactions in flight at once, and jobs in each (at most 24: 4 rows each and a counter). */
export interface BatchPace {
  atOnce?: number;
  perTransaction?: number;
}

const SHARDS = 16;
const MAX_RETRIES = 20;
/** Jobs per upgrade transaction, all of one counter shard: 4 rows each plus the shard, under the limit of 100. */
const NEW_PER_TRANSACTION = 24;
/** Upgrade transactions in flight at once, each on its own counter shard so they never collide. */
const NEW_AT_ONCE = 4;
const LATEST = 9_999_999_999_999;
const DAY_MS = 86_400_000;
/** A listing's windows: the first spans a day (or what filled the last page), each next one eight times more. */
const WINDOW_GROWTH = 8;
const MIN_SPAN_MS = 60_000;
/** Past this reach (about 30 years back) the last window runs to the end of the key range. */
const MAX_REACH_MS = 30 * 365 * DAY_MS;

/** Milliseconds counted down from the year 2286, zero-padded: ascending keys list the newest first. */
const keyStamp = (ms: number) => String(LATEST - ms).padStart(13, '0');
const newestFirst = (iso: string) => keyStamp(Date.parse(iso));
/** The time in a listing row's key (`<prefix><stamp>|<id>`). */
const keyTime = (key: string, prefix: string) => LATEST - Number(key.slice(prefix.length, prefix.length + 13));

/** A listing's continuation token: the key of the last row it gave, for the next page to start after. */
const cursorOf = (key: string) => Buffer.from(key).toString('base64url');

/** The key a continuation token resumes after; InvalidContinuationToken when this listing did not give it. */
function cursorKey(token: string, prefix: string): string {
  const key = Buffer.from(token, 'base64url').toString();
  if (!key.startsWith(prefix) || !/^\d{13}\|./.test(key.slice(prefix.length)))
    throw new InvalidContinuationToken('continuationToken is not one this listing gave (with these filters)');
  return key;
}

/** A continuation token from another listing, another build or nowhere: the caller's mistake, not the store's. */
export class InvalidContinuationToken extends Error {
  override name = 'InvalidContinuationToken';
}
const shardOf = (id: string) => createHash('sha256').update(id).digest()[0]! % SHARDS;
const counterKey = (shard: number) => `n|${String(shard).padStart(2, '0')}`;

/** Orders a job's versions: the last change, then how many changes it has had. */
export const versionOf = (job: JobRecord) => `${job.updatedAt}|${String(job.history.length).padStart(6, '0')}`;

export function indexedJob(job: JobRecord): IndexedJob {
  return {
    id: job.id,
    state: job.state,
    drop: job.drop.key,
    deployment: job.deployment ?? job.edit?.deployment ?? '',
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
  };
}

function rowKeys(job: IndexedJob): { u: string; c: string; s: string } {
  return {
    u: `u|${newestFirst(job.updatedAt)}|${job.id}`,
    c: `c|${newestFirst(job.createdAt)}|${job.id}`,
    s: `s|${job.state}|${newestFirst(job.updatedAt)}|${job.id}`,
  };
}

function fromRow(row: IndexRow): IndexedJob {
  const text = (k: string) => String(row[k] ?? '');
  return {
    id: text('id'),
    state: text('state') as JobState,
    drop: text('drop'),
    deployment: text('deployment'),
    createdAt: text('createdAt'),
    updatedAt: text('updatedAt'),
  };
}

/** Another writer changed a row first (NotFound: a row the transaction deletes is already gone). */
const isConflict = (err: unknown) => err instanceof ConditionFailed || err instanceof NotFound;
/** A row changed since it was read (not one created or deleted by another writer): read again and retry. */
const rowMoved = (err: unknown) => err instanceof ConditionFailed && !(err instanceof AlreadyExists);

type CounterRead = { row: IndexRow; etag: string } | undefined;

export class JobsIndex {
  /** For listings without filters: how far back a full page of each key range reached last time. */
  private readonly spans = new Map<string, number>();

  constructor(readonly table: IndexTable) {}

  /** Makes the index show this version of the job, unless it already shows this one or a later one. */
  async put(job: JobRecord): Promise<void> {
    const version = versionOf(job);
    await this.retrying(job.id, async () => {
      // The counter shard is read beside the head (one round trip, not two): a new state nearly always moves it.
      const [head, counter] = await Promise.all([
        this.table.get(`j|${job.id}`),
        this.table.get(counterKey(shardOf(job.id))),
      ]);
      if (head && String(head.row.version) >= version) return;
      const next = indexedJob(job);
      const keys = rowKeys(next);
      const ops: IndexOp[] = [];
      const oldKeys = head ? [head.row.u, head.row.c, head.row.s].map(String) : [];
      for (const k of oldKeys) if (!Object.values(keys).includes(k)) ops.push({ kind: 'delete', rowKey: k });
      for (const k of Object.values(keys)) ops.push({ kind: 'upsert', row: { rowKey: k, ...next } });
      const headRow = { rowKey: `j|${job.id}`, version, ...keys, state: next.state };
      ops.push(head ? { kind: 'update', row: headRow, etag: head.etag } : { kind: 'create', row: headRow });
      const before = head ? (String(head.row.state) as JobState) : undefined;
      if (before !== next.state) ops.push(await this.countChange(job.id, before, next.state, Promise.resolve(counter)));
      await this.table.commit(ops);
    });
  }

  /**
   * Indexes jobs not in the index yet (the upgrade's walk): grouped by counter shard, `perTransaction` to a
   * transaction with their shard, `atOnce` shards in parallel and each shard's transactions in turn, so the walk
   * never races itself on a counter. A transaction that meets a job indexed meanwhile (another walker, a crash's
   * half-done page) fails whole; its jobs then go one by one through `put`, which skips what is indexed.
   */
  async putNew(jobs: JobRecord[], pace: BatchPace = {}): Promise<void> {
    const { atOnce = NEW_AT_ONCE, perTransaction: asked = NEW_PER_TRANSACTION } = pace;
    const perTransaction = Math.max(1, Math.min(asked, NEW_PER_TRANSACTION));
    const byShard = new Map<number, JobRecord[]>();
    for (const job of jobs) {
      const group = byShard.get(shardOf(job.id));
      if (group) group.push(job);
      else byShard.set(shardOf(job.id), [job]);
    }
    const shards = [...byShard.values()];
    let failure: { err: unknown } | undefined;
    const worker = async () => {
      // After a failure the others finish the transaction in hand and stop: nothing runs on after the throw.
      for (let group = shards.pop(); group && !failure; group = shards.pop()) {
        await this.putShard(group, perTransaction).catch((err: unknown) => void (failure ??= { err }));
      }
    };
    await Promise.all(Array.from({ length: atOnce }, worker));
    if (failure) throw failure.err;
  }

  private async putShard(jobs: JobRecord[], perTransaction: number): Promise<void> {
    for (let i = 0; i < jobs.length; i += perTransaction) {
      const chunk = jobs.slice(i, i + perTransaction);
      if (!(await this.commitNew(chunk))) for (const job of chunk) await this.put(job);
    }
  }

  /** `false` when a job of the chunk is indexed already; a counter moved by another writer is read again. */
  private async commitNew(jobs: JobRecord[]): Promise<boolean> {
    for (let i = 0; i < MAX_RETRIES; i++) {
      try {
        await this.table.commit(await this.newJobsOps(jobs));
        return true;
      } catch (err) {
        if (!rowMoved(err)) return isConflict(err) ? false : Promise.reject(err);
        await sleep(Math.random() * 10 * (i + 1));
      }
    }
    return false;
  }

  private async newJobsOps(jobs: JobRecord[]): Promise<IndexOp[]> {
    const ops: IndexOp[] = [];
    const deltas = new Map<number, StateCounts>();
    for (const job of jobs) {
      const next = indexedJob(job);
      const keys = rowKeys(next);
      for (const k of Object.values(keys)) ops.push({ kind: 'upsert', row: { rowKey: k, ...next } });
      ops.push({ kind: 'create', row: { rowKey: `j|${job.id}`, version: versionOf(job), ...keys, state: next.state } });
      const delta = deltas.get(shardOf(job.id)) ?? {};
      delta[next.state] = (delta[next.state] ?? 0) + 1;
      deltas.set(shardOf(job.id), delta);
    }
    const counters = await Promise.all([...deltas].map(([shard, delta]) => this.countersPlus(shard, delta)));
    return [...ops, ...counters];
  }

  /** Drops the job from the index (its record was deleted). */
  async remove(id: string): Promise<void> {
    await this.retrying(id, async () => {
      const head = await this.table.get(`j|${id}`);
      if (!head) return;
      const ops: IndexOp[] = [head.row.u, head.row.c, head.row.s].map((k) => ({ kind: 'delete', rowKey: String(k) }));
      // The counter's ETag guards the transaction: a second remover's commit fails and finds no head.
      ops.push({ kind: 'delete', rowKey: `j|${id}` });
      ops.push(await this.countChange(id, String(head.row.state) as JobState, undefined));
      await this.table.commit(ops);
    });
  }

  private async retrying(id: string, attempt: () => Promise<void>): Promise<void> {
    for (let i = 0; i < MAX_RETRIES; i++) {
      try {
        return await attempt();
      } catch (err) {
        if (!isConflict(err)) throw err;
        await sleep(Math.random() * 10 * (i + 1));
      }
    }
    throw new Error(`jobs index: gave up on job ${id} after ${MAX_RETRIES} conflicting writes`);
  }

  /** The counter shard's next value, conditional on the version just read (`read`: read already). */
  private async countChange(
    id: string,
    from: JobState | undefined,
    to: JobState | undefined,
    read?: Promise<CounterRead>,
  ): Promise<IndexOp> {
    const delta: StateCounts = {};
    if (from) delta[from] = -1;
    if (to) delta[to] = (delta[to] ?? 0) + 1;
    return this.countersPlus(shardOf(id), delta, read);
  }

  private async countersPlus(
    shard: number,
    delta: StateCounts,
    read: Promise<CounterRead> = this.table.get(counterKey(shard)),
  ): Promise<IndexOp> {
    const rowKey = counterKey(shard);
    const found = await read;
    const row: IndexRow = { ...(found?.row ?? {}), rowKey };
    for (const [state, n] of Object.entries(delta)) row[state] = Number(row[state] ?? 0) + n;
    return found ? { kind: 'update', row, etag: found.etag } : { kind: 'create', row };
  }

  /**
   * A page of jobs, newest first. The key range is read in time windows (a day, or the span that filled the
   * last such page, then eight times wider each step) rather than whole: a bounded range costs Azure the same
   * and spares a store that sorts every match before it pages (Azurite) from sorting the whole history.
   */
  async list(query: IndexQuery): Promise<{ jobs: IndexedJob[]; continuationToken?: string }> {
    const byState = query.state && query.order !== 'created';
    const prefix = byState ? `s|${query.state}|` : query.order === 'created' ? 'c|' : 'u|';
    const where: Condition[] = [
      ...(query.state && !byState ? [{ field: 'state', equals: query.state }] : []),
      ...(query.dropPrefix ? [{ field: 'drop', prefix: query.dropPrefix }] : []),
      ...(query.deployment ? [{ field: 'deployment', equals: query.deployment }] : []),
    ];
    const after = query.continuationToken === undefined ? undefined : cursorKey(query.continuationToken, prefix);
    const anchor = after === undefined ? Date.now() : keyTime(after, prefix);
    const learned = where.length === 0 ? this.spans.get(prefix) : undefined;
    const rows: IndexRow[] = [];
    let start: { from: string } | { after: string } = after === undefined ? { from: prefix } : { after };
    for (let span = learned ?? DAY_MS, reach = span; ; span *= WINDOW_GROWTH, reach += span) {
      // Past the reach, or before 1970 (a stamp no longer 13 digits): the rest of the key range.
      const last = reach >= MAX_REACH_MS || anchor - reach <= 0;
      const to = last ? prefixEnd(prefix) : prefix + keyStamp(anchor - reach);
      rows.push(...(await this.window(prefix, start, to, query.limit - rows.length, where)));
      if (rows.length >= query.limit) {
        if (where.length === 0)
          this.spans.set(prefix, Math.max(MIN_SPAN_MS, (anchor - keyTime(rows.at(-1)!.rowKey, prefix)) * 1.5));
        return { jobs: rows.map(fromRow), continuationToken: cursorOf(rows.at(-1)!.rowKey) };
      }
      if (last) return { jobs: rows.map(fromRow) };
      start = { from: to };
    }
  }

  /** Up to `limit` rows of one window, through as many of the service's pages as it takes. */
  private async window(
    prefix: string,
    start: { from: string } | { after: string },
    to: string,
    limit: number,
    where: Condition[],
  ): Promise<IndexRow[]> {
    const rows: IndexRow[] = [];
    let token: string | undefined;
    do {
      const page = await this.table.range('from' in start ? start.from : prefix, to, {
        limit: limit - rows.length,
        where,
        ...('after' in start ? { after: start.after } : {}),
        ...(token ? { token } : {}),
      });
      rows.push(...page.rows);
      token = page.token;
    } while (token && rows.length < limit);
    return rows;
  }

  /** How many jobs are in each state, all time. */
  async counts(): Promise<StateCounts> {
    const counts: StateCounts = {};
    const { rows } = await this.table.range('n|', prefixEnd('n|'), { limit: 1000 });
    for (const row of rows) for (const s of JOB_STATES) counts[s] = (counts[s] ?? 0) + Number(row[s] ?? 0);
    // Only states that hold a job, like the listing's own tally.
    return Object.fromEntries(Object.entries(counts).filter(([, n]) => n !== 0));
  }

  /** How many jobs whose last change was at `since` or later are in each state. */
  async countsSince(since: Date): Promise<StateCounts> {
    const counts: StateCounts = {};
    const end = `u|${newestFirst(since.toISOString())}|~`;
    let token: string | undefined;
    do {
      const page = await this.table.range('u|', end, { limit: 1000, ...(token ? { token } : {}) });
      for (const row of page.rows) counts[row.state as JobState] = (counts[row.state as JobState] ?? 0) + 1;
      token = page.token;
    } while (token);
    return counts;
  }

  /** Finished jobs whose last change was before `before` (up to `limit` of each final state). */
  async finishedBefore(before: Date, limit: number): Promise<IndexedJob[]> {
    const pages = await Promise.all(
      TERMINAL_STATES.map((state) => {
        const from = `s|${state}|${newestFirst(before.toISOString())}|~`;
        return this.table.range(from, prefixEnd(`s|${state}|`), { limit });
      }),
    );
    return pages.flatMap((p) => p.rows.map(fromRow));
  }

  async readMeta(name: string): Promise<{ value: Record<string, string>; etag: string } | undefined> {
    const found = await this.table.get(`m|${name}`);
    if (!found) return undefined;
    const { rowKey: _key, ...value } = found.row;
    return { value: Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)])), etag: found.etag };
  }

  /**
   * Writes a bookkeeping row: unconditionally, or only if it is still at `etag` (`'new'`: only if absent).
   * `false` when another writer changed it first.
   */
  async writeMeta(name: string, value: Record<string, string>, etag?: string): Promise<boolean> {
    const row = { rowKey: `m|${name}`, ...value };
    const op: IndexOp =
      etag === undefined
        ? { kind: 'upsert', row }
        : etag === 'new'
          ? { kind: 'create', row }
          : { kind: 'update', row, etag };
    try {
      await this.table.commit([op]);
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }
}
