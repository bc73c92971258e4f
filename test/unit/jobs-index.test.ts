/**
 * The jobs index in memory: listings newest first with filters and continuation, exact counts, a newer
 * version never overwritten by an older one, and the sweep repairing an index write lost to a crash.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { memoryIndexTable } from '../../shared/adapters/memory/index-table.js';
import { InvalidContinuationToken, JobsIndex, type IndexQuery } from '../../shared/app/jobs-index.js';
import type { IndexTable } from '../../shared/ports/index-table.js';
import { processEditMessage } from '../../shared/app/edit.js';
import { intakeBlob } from '../../shared/app/intake.js';
import { publishEditedBlob } from '../../shared/app/publish.js';
import { sweep } from '../../shared/app/sweep.js';
import type { JobState } from '../../shared/core/job.js';
import { gradientImage, rectMask } from '../helpers/images.js';
import { jobAt, jobIdOf } from '../helpers/indexed-jobs.js';
import { memoryLogger, memoryRuntime, type MemoryRuntime } from './memory-runtime.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');
const HOUR = 3_600_000;
const STATES: JobState[] = ['published', 'quarantined', 'failed', 'queued'];

async function listAll(index: JobsIndex, query: Omit<IndexQuery, 'limit'>, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await index.list({ ...query, limit, ...(token ? { continuationToken: token } : {}) });
    expect(page.jobs.length).toBeLessThanOrEqual(limit);
    ids.push(...page.jobs.map((j) => j.id));
    token = page.continuationToken;
  } while (token);
  return ids;
}

describe('the jobs index', () => {
  let index: JobsIndex;
  // Job n is created at hour n and last changed 100 - n hours after: creation order and change order differ.
  const jobs = Array.from({ length: 40 }, (_, n) =>
    jobAt(n, {
      state: STATES[n % 4]!,
      createdAt: new Date(T0 + n * HOUR),
      changedAfterMs: (100 - 2 * n) * HOUR,
      deployment: n % 2 ? 'east' : 'west',
      dropPath: n < 10 ? 'team-a' : 'team-b',
    }),
  );
  const newest = (key: 'updatedAt' | 'createdAt', keep = (_: (typeof jobs)[number]) => true) =>
    jobs
      .filter(keep)
      .sort((a, b) => b[key].localeCompare(a[key]))
      .map((j) => j.id);

  beforeEach(async () => {
    index = new JobsIndex(memoryIndexTable());
    for (const job of jobs) await index.put(job);
  });

  it('lists newest first by last change or by creation, filtered, page after page', async () => {
    expect(await listAll(index, {}, 7)).toEqual(newest('updatedAt'));
    expect(await listAll(index, { order: 'created' }, 7)).toEqual(newest('createdAt'));
    expect(await listAll(index, { state: 'failed' }, 3)).toEqual(newest('updatedAt', (j) => j.state === 'failed'));
    expect(await listAll(index, { order: 'created', state: 'queued' }, 3)).toEqual(
      newest('createdAt', (j) => j.state === 'queued'),
    );
    expect(await listAll(index, { dropPrefix: 'team-a/' }, 4)).toEqual(
      newest('updatedAt', (j) => j.drop.key.startsWith('team-a/')),
    );
    expect(await listAll(index, { deployment: 'east' }, 4)).toEqual(
      newest('updatedAt', (j) => j.deployment === 'east'),
    );
  });

  it('counts every state exactly, all time and since a moment, and follows a job as it moves', async () => {
    expect(await index.counts()).toEqual({ published: 10, quarantined: 10, failed: 10, queued: 10 });
    const since = new Date(T0 + 100 * HOUR); // job n last changed at hour 100 - n: only job 0 qualifies
    expect(await index.countsSince(since)).toEqual({ published: 1 });
    const moved = { ...jobs[3]!, state: 'failed' as const, updatedAt: new Date(T0 + 200 * HOUR).toISOString() };
    moved.history = [...moved.history, { at: moved.updatedAt, state: 'failed', attempt: 2 }];
    await index.put(moved);
    expect(await index.counts()).toEqual({ published: 10, quarantined: 10, failed: 11, queued: 9 });
    expect((await index.list({ limit: 1 })).jobs[0]).toMatchObject({ id: moved.id, state: 'failed' });
    expect(await listAll(index, { state: 'queued' }, 100)).not.toContain(moved.id);
  });

  it('never lets an older version overwrite a newer one, however the writes interleave', async () => {
    const versions = Array.from({ length: 6 }, (_, i) => {
      const at = new Date(T0 + (300 + i) * HOUR).toISOString();
      const job = jobs[5]!;
      return {
        ...job,
        state: STATES[i % 4]!,
        updatedAt: at,
        history: [...job.history, { at, state: STATES[i % 4]!, attempt: i }],
      };
    });
    await Promise.all([...versions].reverse().map((v) => index.put(v)));
    await index.put(versions[0]!);
    const head = (await index.list({ limit: 1 })).jobs[0]!;
    expect(head).toMatchObject({ id: jobs[5]!.id, updatedAt: versions[5]!.updatedAt, state: versions[5]!.state });
    const counts = await index.counts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(40);
  });

  it('drops a removed job from listings and counts', async () => {
    await index.remove(jobIdOf(0));
    await index.remove(jobIdOf(0));
    expect(await listAll(index, {}, 50)).toHaveLength(39);
    expect((await index.counts()).published).toBe(9);
  });
});

describe('the jobs index over a long history', () => {
  const MINUTE = 60_000;
  const DAY = 24 * HOUR;
  // From a clock running five minutes ahead to 31 years back: every window of a listing, and past the last.
  const agesMs = [-5 * MINUTE, MINUTE, 2 * HOUR, 2 * HOUR + 1, 3 * DAY, 9 * DAY, 40 * DAY, 400 * DAY, 3650 * DAY];
  // One reading of the clock: ages 1 ms apart must stay 1 ms apart (a clock read per job made them tie).
  const now = Date.now();
  const history = [...agesMs, 31 * 365 * DAY].flatMap((age, i) =>
    [0, 1, 2].map((k) =>
      jobAt(100 + 3 * i + k, {
        state: STATES[(i + k) % 4]!,
        createdAt: new Date(now - age - k * MINUTE),
        dropPath: k === 2 ? 'team-z' : 'team-y',
      }),
    ),
  );
  const newest = (keep = (_: (typeof history)[number]) => true) =>
    history
      .filter(keep)
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .map((j) => j.id);

  /** The index over a table that counts the range reads it is asked for. */
  async function countingIndex() {
    const table = memoryIndexTable();
    const range = table.range.bind(table);
    const reads = { n: 0 };
    table.range = (...args) => (reads.n++, range(...args));
    const index = new JobsIndex(table);
    for (const job of history) await index.put(job);
    return { index, reads };
  }

  it('gives every job once, newest first, whatever the page size and filter', async () => {
    const { index } = await countingIndex();
    for (const limit of [1, 2, 5, 29, 30, 500]) expect(await listAll(index, {}, limit)).toEqual(newest());
    expect(await listAll(index, { order: 'created' }, 4)).toEqual(
      [...history].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).map((j) => j.id),
    );
    expect(await listAll(index, { state: 'failed' }, 2)).toEqual(newest((j) => j.state === 'failed'));
    expect(await listAll(index, { dropPrefix: 'team-z/' }, 3)).toEqual(newest((j) => j.drop.key.startsWith('team-z/')));
  });

  it('pages through jobs from the first years after 1970 without reading any twice', async () => {
    const index = new JobsIndex(memoryIndexTable());
    const old = ['1970-03-01', '1971-06-01', '1972-01-01', '2026-11-01'].map((day, n) =>
      jobAt(200 + n, { state: 'published', createdAt: new Date(`${day}T00:00:00Z`) }),
    );
    for (const job of old) await index.put(job);
    expect(await listAll(index, {}, 1)).toEqual([...old].reverse().map((j) => j.id));
  });

  it('reads the newest page in one range once it has learned how far back a page reaches', async () => {
    const { index, reads } = await countingIndex();
    expect((await index.list({ limit: 14 })).jobs.map((j) => j.id)).toEqual(newest().slice(0, 14));
    const first = reads.n;
    expect(first).toBe(2); // the 12 jobs of the last day, then 8 days more
    reads.n = 0;
    expect((await index.list({ limit: 14 })).jobs.map((j) => j.id)).toEqual(newest().slice(0, 14));
    expect(reads.n).toBe(1);
  });

  it('refuses a continuation token it did not give, or one from a listing with other filters', async () => {
    const { index } = await countingIndex();
    const failed = await index.list({ state: 'failed', limit: 1 });
    expect(failed.continuationToken).toBeDefined();
    await expect(index.list({ limit: 5, continuationToken: failed.continuationToken! })).rejects.toThrow(
      InvalidContinuationToken,
    );
    for (const token of ['', 'not-a-token', Buffer.from('u|123|x').toString('base64url')])
      await expect(index.list({ limit: 5, continuationToken: token })).rejects.toThrow(/continuationToken/);
  });
});

/** Takes a drop through intake, the edit and publish. */
async function publishedDrop(rt: MemoryRuntime, stem: string, image: Buffer, mask: Buffer): Promise<void> {
  const log = memoryLogger(rt);
  await rt.upload(`${stem}.png`, image);
  await rt.upload(`${stem}.mask.png`, mask);
  expect(await intakeBlob(rt, `${stem}.mask.png`, undefined, log)).toBe('queued');
  expect(await processEditMessage(rt, rt.sent[0]!.message, log)).toBe('edited');
  const id = (await rt.ledger.list({ limit: 1 })).jobs[0]!.id;
  const output = (await rt.ledger.get(id))!.value.edit!.output!;
  await publishEditedBlob(rt, output.name, output.etag, log);
}

describe('the index beside the ledger', () => {
  let image: Buffer;
  let mask: Buffer;

  beforeEach(async () => {
    image ??= await gradientImage(64, 64);
    mask ??= await rectMask(64, 64, { x: 0, y: 0, width: 16, height: 16 });
  });

  it('a crash between the record write and the index write is repaired by the next sweep', async () => {
    const rt = memoryRuntime();
    const log = memoryLogger(rt);
    const table = rt.ledger.index!.table as IndexTable;
    const commit = table.commit.bind(table);
    let commits = 0;
    // The job's first index write (queued) lands; every later one is lost, as if the process died after each
    // record write.
    table.commit = (ops) => (commits++ === 0 ? commit(ops) : Promise.reject(new Error('the process died here')));
    await publishedDrop(rt, 'crash/beach', image, mask);
    const [job] = (await rt.ledger.list({ limit: 10 })).jobs;
    expect(job!.state).toBe('published');
    expect((await rt.ledger.index!.list({ limit: 10 })).jobs).toMatchObject([{ id: job!.id, state: 'queued' }]);
    table.commit = commit;
    await sweep(rt, log);
    expect((await rt.ledger.index!.list({ limit: 10 })).jobs).toMatchObject([{ id: job!.id, state: 'published' }]);
    expect(await rt.ledger.index!.counts()).toEqual({ published: 1 });
    expect(await rt.ledger.listActive()).toEqual([]);
  });

  it('deletes finished jobs older than JOB_RETENTION, record and index rows, and keeps the result', async () => {
    const rt = memoryRuntime({ JOB_RETENTION: '2h' });
    const log = memoryLogger(rt);
    await publishedDrop(rt, 'old/beach', image, mask);
    const [job] = (await rt.ledger.index!.list({ limit: 10 })).jobs;
    expect(job!.state).toBe('published');
    expect((await sweep(rt, log)).expired).toBe(0);
    rt.clock.advance(2 * HOUR + 1000);
    expect((await sweep(rt, log)).expired).toBe(1);
    expect(await rt.ledger.get(job!.id)).toBeUndefined();
    expect((await rt.ledger.index!.list({ limit: 10 })).jobs).toEqual([]);
    expect(await rt.ledger.index!.counts()).toEqual({});
    expect(rt.blobStore.json('published', 'old/beach.provenance.json')).toBeDefined();
  });
});
