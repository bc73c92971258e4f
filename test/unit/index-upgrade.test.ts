/**
 * The upgrade of a ledger written before the jobs index, in memory: a walk that dies midway through a page is
 * resumed by the next one with every job indexed once and counts exact, and two walkers at once (local
 * start-up beside the sweep) leave one walking and the same exact result.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { memoryIndexTable } from '../../shared/adapters/memory/index-table.js';
import { JobsIndex } from '../../shared/app/jobs-index.js';
import { Ledger } from '../../shared/app/ledger.js';
import type { JobState } from '../../shared/core/job.js';
import { upgradeIndex, upgradeStatus } from '../../shared/app/index-upgrade.js';
import { jobAt } from '../helpers/indexed-jobs.js';
import { MemoryRecords } from '../../shared/adapters/memory/record-store.js';

const OLD = 1_234; // two full pages of 500 and a part
const STATES: JobState[] = ['published', 'quarantined', 'rejected', 'failed', 'queued'];
const T0 = Date.parse('2026-10-01T00:00:00Z');
const EXPECTED = Object.fromEntries(STATES.map((s, i) => [s, Math.floor((OLD - i - 1) / 5) + 1]));

async function everyIndexedId(index: JobsIndex): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await index.list({ limit: 500, ...(token ? { continuationToken: token } : {}) });
    ids.push(...page.jobs.map((j) => j.id));
    token = page.continuationToken;
  } while (token);
  return ids;
}

describe('upgrading a ledger written before the jobs index', () => {
  let table: ReturnType<typeof memoryIndexTable>;
  let ledger: Ledger;

  beforeEach(async () => {
    const records = new MemoryRecords();
    const old = new Ledger(records); // the build before the index
    for (let n = 0; n < OLD; n++)
      await old.create(jobAt(n, { state: STATES[n % 5]!, createdAt: new Date(T0 + n * 60_000), changedAfterMs: 1 }));
    table = memoryIndexTable();
    ledger = new Ledger(records, () => new Date(), new JobsIndex(table));
  });

  it('resumes a walk that died midway through a page: every job once, counts exact', async () => {
    const commit = table.commit.bind(table);
    let commits = 0;
    // Page 1 lands; the process dies partway through page 2's transactions.
    table.commit = (ops) => (++commits === 40 ? Promise.reject(new Error('the process died here')) : commit(ops));
    await expect(upgradeIndex(ledger)).rejects.toThrow('the process died here');
    table.commit = commit;
    const index = ledger.index!;
    expect(await upgradeStatus(index)).toEqual({ indexed: 500, total: OLD, done: false });
    expect(Object.values(await index.counts()).reduce((a, b) => a + b, 0)).toBeGreaterThan(500);

    expect(await upgradeIndex(ledger)).toEqual({ indexed: OLD - 500, done: true });
    expect(await index.counts()).toEqual(EXPECTED);
    const ids = await everyIndexedId(index);
    expect(ids).toHaveLength(OLD);
    expect(new Set(ids).size).toBe(OLD);
    expect(await upgradeStatus(index)).toEqual({ indexed: OLD, total: OLD, done: true });
    expect(await upgradeIndex(ledger)).toEqual({ indexed: 0, done: true });
  });

  it('a new state (no records) is done at once, so the console shows no banner', async () => {
    const index = new JobsIndex(memoryIndexTable());
    expect(await upgradeIndex(new Ledger(new MemoryRecords(), () => new Date(), index))).toEqual({
      indexed: 0,
      done: true,
    });
    expect(await upgradeStatus(index)).toEqual({ indexed: 0, total: 0, done: true });
  });

  it('two walkers at once: one stops on meeting the other, the other finishes; counts exact', async () => {
    const [a, b] = await Promise.all([upgradeIndex(ledger), upgradeIndex(ledger)]);
    expect([a.done, b.done].sort()).toEqual([false, true]);
    const index = ledger.index!;
    expect(await index.counts()).toEqual(EXPECTED);
    expect(await everyIndexedId(index)).toHaveLength(OLD);
    expect(await upgradeStatus(index)).toEqual({ indexed: OLD, total: OLD, done: true });
  });
  it('a paced walk writes small transactions one at a time; a sweep leaves a background walker be, not another sweep', async () => {
    const commit = table.commit.bind(table);
    let inFlight = 0;
    let most = 0;
    let largest = 0;
    table.commit = async (ops) => {
      most = Math.max(most, ++inFlight);
      largest = Math.max(largest, ops.length);
      try {
        return await commit(ops);
      } finally {
        inFlight--;
      }
    };
    const sweep = { yieldToWalkerMs: 120_000 };
    // A sweep's own place does not hold the next sweep back (on Azure one runs a minute after the other).
    expect(await upgradeIndex(ledger, 1, undefined, sweep)).toEqual({ indexed: 500, done: false });
    [most, largest] = [0, 0];
    expect(await upgradeIndex(ledger, 1, undefined, { atOnce: 1, perTransaction: 4, background: true })).toEqual({
      indexed: 500,
      done: false,
    });
    expect(most).toBe(1);
    expect(largest).toBeLessThanOrEqual(4 * 4 + 1); // 4 rows a job and the counter shard
    // A background walker wrote its place just now: a sweep leaves the walk to it.
    expect(await upgradeIndex(ledger, 20, undefined, sweep)).toEqual({
      indexed: 0,
      done: false,
    });
    expect(await upgradeIndex(ledger)).toEqual({ indexed: OLD - 1000, done: true });
    expect(await ledger.index!.counts()).toEqual(EXPECTED);
  });

  it('the banner never reads past its total, though the walk also passes jobs made after it began', async () => {
    const index = ledger.index!;
    await upgradeIndex(ledger, 1);
    await new Ledger(ledger.store).create(
      jobAt(OLD, { state: 'queued', createdAt: new Date(T0 - 60_000) }), // its name (a hash) falls in a page not walked yet
    );
    await upgradeIndex(ledger);
    expect(await upgradeStatus(index)).toEqual({ indexed: OLD, total: OLD, done: true });
  });
});
