/**
 * Upgrade without loss: a ledger written before the jobs index (one blob per job, no index) is indexed by
 * walking its records once, in pages of 500. Its place is kept in the index (`m|upgrade`: the listing's token,
 * how many records are walked and how many there were when it began), written after each page under the row's
 * ETag: a walker whose write fails has met another walker (the sweep beside local start-up, a second
 * instance) and stops, and a walker that crashed is resumed from its last page by the next one. Redoing a
 * page is harmless: jobs already indexed are skipped (`JobsIndex.putNew`), so counts stay exact.
 * Local start-up runs it in the background (local/index-upgrade.ts); on Azure each sweep runs a part.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchPace, JobsIndex } from './jobs-index.js';
import type { Ledger } from './ledger.js';
import type { RecordStore } from '../ports/record-store.js';
import type { JobRecord } from '../core/job.js';

const PAGE = 500;
const READS_AT_ONCE = 16;
/** Blob Storage's largest listing page: counting the records at the start reads names only. */
const COUNT_PAGE = 5000;

/**
 * How hard the walk writes: `putNew`'s transactions, and a rest after each page of `restRatio` times as long
 * as the page took. A store that does the work in the serving process (Azurite in `npm start`) is walked
 * gently, so the host keeps answering while it runs; Azure's sweep walks at full speed.
 */
export interface WalkPace extends BatchPace {
  restRatio?: number;
  /** A walker that walks to the end (`npm start`'s in the background): written beside its place. */
  background?: boolean;
  /**
   * Leaves the walk to a background walker that wrote its place within this long (the sweep beside `npm
   * start`'s). Another sweep's place does not count: on Azure one sweep a minute goes on from the last.
   */
  yieldToWalkerMs?: number;
}

export interface UpgradeProgress {
  indexed: number;
  done: boolean;
}

/** Where the walk stands, for the console's and `/api/jobs`' banner while it runs. */
export interface UpgradeStatus {
  /** Records walked so far. */
  indexed: number;
  /** Records in the ledger when the walk began (`null`: not counted, a walk begun by an earlier build). */
  total: number | null;
  done: boolean;
}

async function indexPage(ledger: Ledger, names: string[], pace: WalkPace): Promise<number> {
  const jobs: JobRecord[] = [];
  let next = 0;
  const reader = async () => {
    while (next < names.length) {
      const found = await ledger.get(names[next++]!.slice(0, -'.json'.length));
      if (found) jobs.push(found.value); // else deleted since the listing
    }
  };
  await Promise.all(Array.from({ length: READS_AT_ONCE }, reader));
  await ledger.index!.putNew(jobs, pace);
  return jobs.length;
}

async function countRecords(store: RecordStore): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const page = await store.page(COUNT_PAGE, token);
    count += page.items.filter((i) => i.name.endsWith('.json')).length;
    token = page.token;
  } while (token);
  return count;
}

/** The walk's row, made (with the ledger's record count) when the walk begins; `undefined` once done. */
async function startOrResume(ledger: Ledger, index: JobsIndex) {
  const found = await index.readMeta('upgrade');
  if (found?.value.done === 'true') return undefined;
  if (found) return found;
  const total = await countRecords(ledger.store);
  // Nothing older to walk (a new state): done at once, so no banner flashes; later jobs index themselves.
  const row: Record<string, string> = { indexed: '0', total: String(total), ...(total ? {} : { done: 'true' }) };
  // `new`: of two walkers beginning together one makes the row; the other goes on from it.
  await index.writeMeta('upgrade', row, 'new');
  const made = await index.readMeta('upgrade');
  return made?.value.done === 'true' ? undefined : made;
}

const walkedWithin = (row: Record<string, string>, ms: number | undefined) =>
  ms !== undefined &&
  row.walker === 'background' &&
  row.walkedAt !== undefined &&
  Date.now() - Date.parse(row.walkedAt) < ms;

const rest = (ms: number, signal?: AbortSignal) =>
  ms > 0 ? sleep(ms, undefined, signal ? { signal } : {}).catch(() => undefined) : undefined;

/** Indexes whose walk was seen done: a walk never starts again, so every later listing skips the read. */
const seenDone = new WeakSet<JobsIndex>();

/** The walk's progress from the index, or `undefined` when it never began (a new ledger before its first sweep). */
export async function upgradeStatus(index: JobsIndex): Promise<UpgradeStatus | undefined> {
  if (seenDone.has(index)) return { indexed: 0, total: null, done: true };
  const found = await index.readMeta('upgrade');
  if (!found) return undefined;
  const { indexed, total, done } = found.value;
  if (done === 'true') seenDone.add(index);
  const walked = Number(indexed ?? 0);
  // The walk also passes records of jobs made after it began: the banner never reads past its total.
  const shown = total ? Math.min(walked, Number(total)) : walked;
  return { indexed: shown, total: total ? Number(total) : null, done: done === 'true' };
}

/**
 * Indexes up to `maxPages` pages of records not yet walked (all of them when unset), stopping early when
 * `signal` is aborted or another walker moves the row. `done` only when the whole ledger is walked.
 */
export async function upgradeIndex(
  ledger: Ledger,
  maxPages = Infinity,
  signal?: AbortSignal,
  pace: WalkPace = {},
): Promise<UpgradeProgress> {
  const index = ledger.index;
  if (!index) return { indexed: 0, done: true };
  let row = await startOrResume(ledger, index);
  if (!row) return { indexed: 0, done: true };
  if (walkedWithin(row.value, pace.yieldToWalkerMs)) return { indexed: 0, done: false };
  let indexed = 0;
  for (let pages = 0; pages < maxPages && row && !signal?.aborted; pages++) {
    const started = performance.now();
    const page = await ledger.store.page(PAGE, row.value.token || undefined);
    const names = page.items.map((i) => i.name).filter((n) => n.endsWith('.json'));
    const walked = await indexPage(ledger, names, pace);
    const { total = '', indexed: before = '0' } = row.value;
    const next = {
      total,
      indexed: String(Number(before) + walked),
      walkedAt: new Date().toISOString(),
      ...(pace.background ? { walker: 'background' } : {}),
    };
    const value = page.token ? { ...next, token: page.token } : { ...next, done: 'true', at: new Date().toISOString() };
    if (!(await index.writeMeta('upgrade', value, row.etag))) return { indexed: indexed + walked, done: false };
    indexed += walked;
    if (!page.token) return { indexed, done: true };
    await rest((performance.now() - started) * (pace.restRatio ?? 0), signal);
    row = await index.readMeta('upgrade');
  }
  return { indexed, done: false };
}
