/**
 * The jobs index on Azurite's Table Storage: a ledger written the old way (one blob per job, no index) is
 * indexed without loss, in parts as the sweep does it or at once as local start-up does; writers racing on
 * the same jobs leave exact counts (Azurite's transactions and ETags, not the in-memory table).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPipeline, startLocalStorage, type LocalStorage } from '../../local/environment.js';
import { tableClientIndex } from '../../shared/adapters/azure/index-table.js';
import { JobsIndex } from '../../shared/app/jobs-index.js';
import { Ledger } from '../../shared/app/ledger.js';
import { containerRecords } from '../../shared/adapters/azure/blob-records.js';
import { createStorageClients, ensureStorageLayout, type StorageClients } from '../../shared/adapters/azure/storage.js';
import { CONTAINERS } from '../../shared/core/containers.js';
import type { JobState } from '../../shared/core/job.js';
import { upgradeIndex } from '../../shared/app/index-upgrade.js';
import { jobAt } from '../helpers/indexed-jobs.js';

const OLD_JOBS = 1_100; // more than two of the upgrade's pages
const STATES: JobState[] = ['published', 'quarantined', 'rejected', 'failed', 'queued'];
const T0 = Date.parse('2026-10-01T00:00:00Z');

describe('the jobs index on Table Storage', () => {
  let storage: LocalStorage;
  let clients: StorageClients;
  const records = () => containerRecords(clients.container(CONTAINERS.jobs));

  beforeAll(async () => {
    storage = await startLocalStorage();
    clients = await createStorageClients({ kind: 'connectionString', connectionString: storage.connectionString });
    await ensureStorageLayout(clients);
    const old = new Ledger(records()); // today's build: no index
    const jobs = Array.from({ length: OLD_JOBS }, (_, n) =>
      jobAt(n, { state: STATES[n % 5]!, createdAt: new Date(T0 + n * 60_000), changedAfterMs: 30_000 }),
    );
    for (let i = 0; i < jobs.length; i += 50) await Promise.all(jobs.slice(i, i + 50).map((j) => old.create(j)));
  }, 120_000);
  afterAll(async () => storage?.close());

  it('indexes a ledger written before the index: in parts across sweeps, every job once, counts exact', async () => {
    const ledger = new Ledger(records(), () => new Date(), new JobsIndex(tableClientIndex(clients.jobsIndexTable)));
    expect(await upgradeIndex(ledger, 1)).toEqual({ indexed: 500, done: false });
    const rest = await upgradeIndex(ledger, 10);
    expect(rest).toEqual({ indexed: OLD_JOBS - 500, done: true });
    expect(await upgradeIndex(ledger)).toEqual({ indexed: 0, done: true });
    const index = ledger.index!;
    expect(await index.counts()).toEqual({ published: 220, quarantined: 220, rejected: 220, failed: 220, queued: 220 });
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await index.list({ limit: 400, ...(token ? { continuationToken: token } : {}) });
      seen.push(...page.jobs.map((j) => j.updatedAt));
      token = page.continuationToken;
    } while (token);
    expect(seen).toHaveLength(OLD_JOBS);
    expect(seen).toEqual([...seen].sort().reverse());
    // A job the new build writes heads the list at once.
    const fresh = jobAt(OLD_JOBS, { state: 'queued', createdAt: new Date() });
    await ledger.create(fresh);
    expect((await index.list({ limit: 1 })).jobs[0]!.id).toBe(fresh.id);
    expect((await index.list({ limit: 5, state: 'queued' })).jobs[0]!.id).toBe(fresh.id);
  }, 120_000);

  it('keeps counts exact when writers race on the same jobs and counter shards', async () => {
    await clients.jobsIndexTable.deleteTable();
    await clients.jobsIndexTable.createTable();
    const index = new JobsIndex(tableClientIndex(clients.jobsIndexTable));
    const steps: JobState[] = ['queued', 'editing', 'edited', 'publishing', 'published'];
    const versions = (n: number) =>
      steps.map((state, i) => jobAt(5000 + n, { state, createdAt: new Date(T0), changedAfterMs: i * 1000 }));
    // Each job's five versions are written at once, in scrambled order, beside 30 other jobs doing the same.
    await Promise.all(
      Array.from({ length: 30 }, (_, n) => Promise.all([3, 0, 4, 1, 2].map((i) => index.put(versions(n)[i]!)))),
    );
    // Upgrade walkers sharing counter shards: each transaction of 20 retries on a moved counter.
    const walkers = Array.from({ length: 4 }, (_, w) =>
      Array.from({ length: 60 }, (_, i) => jobAt(7000 + w * 100 + i, { state: 'failed', createdAt: new Date(T0) })),
    );
    await Promise.all(walkers.map((jobs) => index.putNew(jobs)));
    expect(await index.counts()).toEqual({ published: 30, failed: 240 });
    expect((await index.list({ limit: 100, state: 'published' })).jobs).toHaveLength(30);
    expect((await index.list({ limit: 500 })).jobs).toHaveLength(270);
  }, 120_000);
});

describe('a state persisted by the build before the index', () => {
  const OLDER = 3_000;
  const start = (location: string) =>
    startLocalPipeline({ storage: { azurite: { location } }, timers: false, outcomeTopic: false });
  const timedJson = async <T>(url: string): Promise<{ ms: number; body: T }> => {
    const t0 = performance.now();
    const body = (await (await fetch(url)).json()) as T;
    return { ms: performance.now() - t0, body };
  };
  type Listing = { jobs: { id: string }[]; indexing?: { indexed: number; total: number } };
  type Overview = { jobs: { id: string }[]; counts: Record<string, number>; indexing: unknown };

  it('is indexed in the background while the host serves; a stop midway is resumed; counts exact', async () => {
    const location = mkdtempSync(path.join(tmpdir(), 'before-index-'));
    const before = await startLocalStorage({ azurite: { location } });
    const clients = await createStorageClients({ kind: 'connectionString', connectionString: before.connectionString });
    await ensureStorageLayout(clients);
    const old = new Ledger(containerRecords(clients.container(CONTAINERS.jobs)));
    const jobs = Array.from({ length: OLDER }, (_, n) =>
      jobAt(n, { state: STATES[n % 5]!, createdAt: new Date(T0 + n * 60_000), changedAfterMs: 30_000 }),
    );
    for (let i = 0; i < jobs.length; i += 100) await Promise.all(jobs.slice(i, i + 100).map((j) => old.create(j)));
    await before.close();

    const t0 = performance.now();
    const first = await start(location);
    console.log(`started with ${OLDER} older jobs to index in ${Math.round(performance.now() - t0)} ms`);
    const latencies: number[] = [];
    const fresh = jobAt(OLDER, { state: 'queued', createdAt: new Date() });
    try {
      const during = await timedJson<Overview>(`${first.host.url}/api/console/api/overview`);
      latencies.push(during.ms);
      expect(during.body.indexing).toMatchObject({ total: OLDER });
      // A new job is indexed by its own write: it heads the list before the older jobs are all indexed.
      await first.runtime.ledger.create(fresh);
      const listed = await timedJson<Listing>(`${first.host.url}/api/jobs?limit=5`);
      expect(listed.body.jobs[0]!.id).toBe(fresh.id);
      expect(listed.body.indexing?.total).toBe(OLDER);
      for (let o = during; o.body.indexing && (o.body.indexing as { indexed: number }).indexed < 1000;) {
        o = await timedJson<Overview>(`${first.host.url}/api/console/api/overview`);
        latencies.push(o.ms);
      }
      console.log(`1,000 of ${OLDER} indexed ${Math.round(performance.now() - t0)} ms after the start`);
    } finally {
      await first.close(); // midway: the next start goes on from the last page walked
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    console.log(
      `overview during the upgrade: ${sorted.length} answers, p50 ${at(0.5)} ms, p95 ${at(0.95)}, max ${at(1)}`,
    );
    // How fast is bench (h)'s to say (timings are not asserted here); that it answered mid-walk is asserted above.
    expect(sorted.length).toBeGreaterThan(0);

    const second = await start(location);
    try {
      const t1 = performance.now();
      await second.indexUpgrade.finished;
      console.log(`the rest of the upgrade took ${Math.round(performance.now() - t1)} ms after the restart`);
      const index = second.runtime.ledger.index!;
      expect(await index.counts()).toEqual({
        published: 600,
        quarantined: 600,
        rejected: 600,
        failed: 600,
        queued: 601,
      });
      const answer = (await (await fetch(`${second.host.url}/api/jobs?limit=500`)).json()) as Listing;
      const newest = [fresh, ...jobs].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt)).map((j) => j.id);
      expect(answer.jobs.map((j) => j.id)).toEqual(newest.slice(0, 500));
      expect(answer.indexing).toBeUndefined();
      const after = await timedJson<Overview>(`${second.host.url}/api/console/api/overview`);
      expect(after.body.indexing).toBeNull();
      expect(after.body.counts).toEqual(await index.counts());
    } finally {
      await second.close();
    }
  }, 600_000);
});
