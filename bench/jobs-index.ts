/**
 * (h) The jobs index at 1,000, 10,000 and 100,000 jobs, beside today's listing (the ledger's blobs in name
 * order, as the console and `GET /api/jobs` read them before the index), in the same Azurite: the console's
 * overview and `/api/jobs?state=failed` (first page, newest first). Correct = the newest jobs first and the
 * counts exact. Jobs are written straight to storage (records as today's build writes them, index rows by the
 * upgrade's transactions, in parallel batches), 3 minutes apart, 90 s from creation to their last change; each
 * size grows the state the one before left, until BENCH_H_SETUP_MINUTES of writing are spent.
 */
import { createHash } from 'node:crypto';
import { startLocalStorage } from '../local/environment.js';
import type { Azurite } from '../local/storage/azurite.js';
import { seedJobs } from './azurite-seed.js';
import { Ledger } from '../shared/app/ledger.js';
import { containerRecords } from '../shared/adapters/azure/blob-records.js';
import type { StateCounts } from '../shared/app/jobs-index.js';
import { directClients } from './direct-storage.js';
import { loadConfig } from '../shared/core/config.js';
import { overview } from '../shared/app/console/views.js';
import { CONTAINERS, TABLES } from '../shared/core/containers.js';
import { newJob, type JobRecord, type JobState } from '../shared/core/job.js';
import { createRuntime } from '../shared/composition.js';
import { type Runtime } from '../shared/adapters/azure/runtime.js';
import { ms, percentile, table, timeEach, type Section } from './measure.js';
import { BENCH_REQUEST } from './job-request.js';

/** BENCH_H_SIZES=500,2000 for a quick look; each size grows the state the previous one left. */
const SIZES = process.env.BENCH_H_SIZES?.split(',').map(Number) ?? [1_000, 10_000, 100_000];
/**
 * Writing stops here (BENCH_H_SETUP_MINUTES, default 15) and the size then reached is measured: Azurite's
 * writes slow as its table grows (bench (h-lookups)), so 100,000 may be out of reach.
 */
const SETUP_MS = Number(process.env.BENCH_H_SETUP_MINUTES ?? 15) * 60_000;
/**
 * Past the first size, jobs are seeded straight into Azurite's stores (./azurite-seed.ts: its write path slows as
 * the table grows), unless BENCH_H_SEED=0: then every job goes through the services.
 */
const SEED = process.env.BENCH_H_SEED !== '0';
/** Jobs written per step: their blobs (32 at a time) and their index rows (`putNew`) side by side. */
const BATCH = 480;
const BLOBS_AT_ONCE = 32;
const RUNS = 20;
const DAY_MS = 86_400_000;
const FIRST_PAGE = 100;
/** Nine in ten jobs finished, one in ten failed. */
const STATE_OF = (n: number): JobState =>
  (
    [
      'published',
      'published',
      'published',
      'published',
      'published',
      'quarantined',
      'rejected',
      'failed',
      'failed',
      'queued',
    ] as const
  )[n % 10]!;

interface Truth {
  jobs: { id: string; state: JobState; updatedAt: string }[];
  counts: StateCounts;
}

export function jobAt(n: number, now: number): JobRecord {
  // 3 minutes apart, job 0 the newest: each size adds older jobs (100,000 span 208 days), 480 a day.
  const createdAt = new Date(now - (n + 1) * 3 * 60_000);
  const job = newJob(
    createHash('sha256').update(`bench job ${n}`).digest('hex').slice(0, 32), // names in random order, as real ids
    { path: `team-${n % 7}`, stem: `photo-${n}` },
    {},
    { state: 'queued', request: BENCH_REQUEST },
    createdAt,
  );
  const state = STATE_OF(n);
  const at = new Date(createdAt.getTime() + 90_000).toISOString();
  return { ...job, state, updatedAt: at, history: [...job.history, { at, state, attempt: 1 }] };
}

const spent = { blobs: 0, index: 0 };

async function writeBlobs(ledger: Ledger, jobs: JobRecord[]): Promise<void> {
  let next = 0;
  const writer = async () => {
    for (let j = jobs[next++]; j; j = jobs[next++]) {
      const metadata = { state: j.state, drop: j.drop.key, updated: j.updatedAt };
      await ledger.store.write(`${j.id}.json`, JSON.stringify(j), {}, metadata);
    }
  };
  await Promise.all(Array.from({ length: BLOBS_AT_ONCE }, writer));
}

const timed = async (into: 'blobs' | 'index', work: Promise<void>) => {
  const t0 = performance.now();
  await work;
  spent[into] += performance.now() - t0;
};

/**
 * Writes jobs `from..to-1` until `deadline`: records as today's build writes them (blob + metadata) and index
 * rows by the upgrade's transactions (24 jobs of one counter shard each, 4 shards at a time). Returns how
 * many jobs there are then.
 */
async function writeJobs(ledger: Ledger, from: number, to: number, now: number, truth: Truth, deadline: number) {
  let next = from;
  while (next < to && performance.now() < deadline) {
    const batch = Array.from({ length: Math.min(BATCH, to - next) }, (_, i) => jobAt(next + i, now));
    await Promise.all([timed('blobs', writeBlobs(ledger, batch)), timed('index', ledger.index!.putNew(batch))]);
    next += batch.length;
    for (const j of batch) {
      truth.jobs.push({ id: j.id, state: j.state, updatedAt: j.updatedAt });
      truth.counts[j.state] = (truth.counts[j.state] ?? 0) + 1;
    }
  }
  return next;
}

/** Jobs `from..to-1` seeded straight into Azurite's stores, 10,000 at a time; returns `to`. */
async function seedUpTo(stores: Azurite['stores'], from: number, to: number, now: number, truth: Truth) {
  for (let next = from; next < to; next += 10_000) {
    const jobs = Array.from({ length: Math.min(10_000, to - next) }, (_, i) => jobAt(next + i, now));
    await seedJobs(stores, { table: TABLES.jobsIndex, container: CONTAINERS.jobs }, jobs);
    for (const j of jobs) {
      truth.jobs.push({ id: j.id, state: j.state, updatedAt: j.updatedAt });
      truth.counts[j.state] = (truth.counts[j.state] ?? 0) + 1;
    }
  }
  return to;
}

/** Today's overview: the first 1,000 records in name order, sorted by time, counted. */
async function listingOverview(ledger: Ledger) {
  const rows = [];
  let token: string | undefined;
  do {
    const page = await ledger.list({ limit: 1000, ...(token ? { continuationToken: token } : {}) });
    rows.push(...page.jobs);
    token = page.continuationToken;
  } while (token && rows.length < 1000);
  rows.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  const jobs = rows.slice(0, 1000);
  const counts: StateCounts = {};
  for (const j of jobs) counts[j.state] = (counts[j.state] ?? 0) + 1;
  return { jobs, counts };
}

const newestIds = (truth: Truth, n: number, state?: JobState) =>
  truth.jobs
    .filter((j) => !state || j.state === state)
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
    .slice(0, n)
    .map((j) => j.id);
const sameIds = (rows: { id: string }[], ids: string[]) => ids.every((id, i) => rows[i]?.id === id);
const sameCounts = (a: StateCounts, b: StateCounts) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
const verdict = (ok: boolean) => (ok ? 'yes' : 'NO');
const summary = (times: number[]) => [ms(percentile(times, 50)), ms(percentile(times, 95))];

async function measure(rt: Runtime, truth: Truth, size: number): Promise<string[][]> {
  const ledger = rt.ledger;
  const index = ledger.index!;
  const viewer = { name: 'bench', role: 'view' as const };
  const since = new Date(Date.now() - DAY_MS);
  const last24h: StateCounts = {};
  for (const j of truth.jobs) if (j.updatedAt >= since.toISOString()) last24h[j.state] = (last24h[j.state] ?? 0) + 1;

  const before = await listingOverview(ledger);
  const after = await overview(rt, viewer);
  const oldApi = await ledger.list({ state: 'failed', limit: FIRST_PAGE });
  const newApi = await index.list({ state: 'failed', limit: FIRST_PAGE });
  const top = newestIds(truth, 50);
  const topFailed = newestIds(truth, FIRST_PAGE, 'failed');
  const times = {
    before: await timeEach(RUNS, () => listingOverview(ledger)),
    after: await timeEach(RUNS, () => overview(rt, viewer)),
    oldApi: await timeEach(RUNS, () => ledger.list({ state: 'failed', limit: FIRST_PAGE })),
    newApi: await timeEach(RUNS, () => index.list({ state: 'failed', limit: FIRST_PAGE })),
  };
  const label = size.toLocaleString('en');
  return [
    [
      `${label}: overview, today's listing`,
      ...summary(times.before),
      verdict(sameIds(before.jobs, top)),
      verdict(sameCounts(before.counts, truth.counts)),
      '-',
    ],
    [
      `${label}: overview, the index`,
      ...summary(times.after),
      verdict(sameIds(after.jobs, top)),
      verdict(sameCounts(after.counts, truth.counts)),
      verdict(sameCounts(after.countsLast24h, last24h)),
    ],
    [
      `${label}: /api/jobs?state=failed, today's`,
      ...summary(times.oldApi),
      verdict(sameIds(oldApi.jobs, topFailed)),
      '-',
      '-',
    ],
    [
      `${label}: /api/jobs?state=failed, the index`,
      ...summary(times.newApi),
      verdict(sameIds(newApi.jobs, topFailed)),
      '-',
      '-',
    ],
  ];
}

export const jobsIndexSection: Section = {
  id: 'h',
  title:
    "(h) jobs index: the console's overview and /api/jobs at 1,000 / 10,000 / 100,000 jobs, beside today's listing",
  async run() {
    const storage = await startLocalStorage();
    try {
      // Straight to Azurite: no Event Grid proxy raising events for a hundred thousand records.
      const { direct, clients } = await directClients(storage.azurite);
      const rt = await createRuntime(
        loadConfig({ AzureWebJobsStorage: direct, AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:9' }),
      );
      const ledger = new Ledger(
        containerRecords(clients.container(CONTAINERS.jobs)),
        () => new Date(),
        rt.ledger.index,
      );
      // As a state indexed from the start (or upgraded once) has it: the console then never asks again.
      await ledger.index!.writeMeta('upgrade', { done: 'true', indexed: '0', total: '0' });
      const now = Date.now();
      const truth: Truth = { jobs: [], counts: {} };
      const rows = [['case', 'p50', 'p95 (target ≤ 300 ms at 100,000)', 'newest first', 'counts exact', '24 h exact']];
      let written = 0;
      const deadline = performance.now() + SETUP_MS;
      const notes: string[] = [];
      for (const size of SIZES) {
        const started = performance.now();
        const seeding = SEED && written > 0;
        if (seeding) written = await seedUpTo(storage.azurite.stores, written, size, now, truth);
        else written = await writeJobs(ledger, written, size, now, truth, deadline);
        const how = seeding
          ? 'seeded into Azurite'
          : `written through the services (blobs ${ms(spent.blobs)}, index ${ms(spent.index)} so far, side by side)`;
        const note = `${written} jobs (${size} asked), ${how} in ${ms(performance.now() - started)}`;
        console.log(`  ${note}`);
        notes.push(note);
        const measured = await measure(rt, truth, written);
        rows.push(...measured);
        console.log(table([rows[0]!, ...measured])); // as it goes: a later size may take long
        if (written < size) break; // the setup's time is spent: what was reached is measured
      }
      return `${notes.map((n) => `  ${n}`).join('\n')}\n${table(rows)}`;
    } finally {
      await storage.close();
    }
  },
};
