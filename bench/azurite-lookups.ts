/**
 * (h-lookups) What one write and one read cost in `npm start`'s Azurite as the state grows, with its
 * one-document lookups as Azurite makes them (the partition or the account first: LokiJS scans every row of the
 * index's one partition, or every blob; a blob delete rebuilds every index) against led by the row key or the
 * blob's name and one document removed as one (local/storage/azurite-lookups.ts). Both in one process on one
 * state, taking turns round by round, at the done-when's 20,000 jobs and at 100,000: a job's five record writes
 * (each with its index transaction; the last deletes the job's active marker), a record read, and one
 * transaction of the upgrade's walk (8 jobs, as `npm start`'s walk writes them).
 */
import { randomUUID } from 'node:crypto';
import { startLocalStorage } from '../local/environment.js';
import { azuriteLookups } from '../local/storage/azurite-lookups.js';
import { containerRecords } from '../shared/adapters/azure/blob-records.js';
import { tableClientIndex } from '../shared/adapters/azure/index-table.js';
import { directClients } from './direct-storage.js';
import { JobsIndex } from '../shared/app/jobs-index.js';
import { Ledger } from '../shared/app/ledger.js';
import { CONTAINERS, TABLES } from '../shared/core/containers.js';
import { newJob, transition, type JobState } from '../shared/core/job.js';
import { seedJobs } from './azurite-seed.js';
import { jobAt } from './jobs-index.js';
import { BENCH_REQUEST } from './job-request.js';
import { ms, percentile, table, type Section } from './measure.js';

const SIZES = [20_000, 100_000];
const ROUNDS = 30;
const STEPS: JobState[] = ['editing', 'edited', 'publishing', 'published'];
const WALK_TRANSACTION = 8;

interface Times {
  job: number[];
  read: number[];
  walk: number[];
}
const noTimes = (): Times => ({ job: [], read: [], walk: [] });

async function timed(into: number[], work: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  await work();
  into.push(performance.now() - t0);
}

/** One round: a new job through its states, a read of an older job's record, a walk transaction of new jobs. */
async function round(ledger: Ledger, olderId: string, n: number, into: Times, now: number): Promise<void> {
  const job = newJob(
    randomUUID().replaceAll('-', ''),
    { path: 'bench', stem: `l${n}` },
    {},
    {
      state: 'queued',
      request: BENCH_REQUEST,
    },
    new Date(),
  );
  await timed(into.job, async () => {
    if (!(await ledger.create(job))) throw new Error(`job ${job.id} was not created`);
    for (const to of STEPS) await ledger.update(job.id, (j) => transition(j, to, new Date()));
  });
  await timed(into.read, async () => {
    if (!(await ledger.get(olderId))) throw new Error(`record ${olderId} not read`);
  });
  const walked = Array.from({ length: WALK_TRANSACTION }, (_, i) => jobAt(10_000_000 + n * WALK_TRANSACTION + i, now));
  await timed(into.walk, () => ledger.index!.putNew(walked, { atOnce: 1, perTransaction: WALK_TRANSACTION }));
}

export const azuriteLookupsSection: Section = {
  id: 'h-lookups',
  title:
    "(h-lookups) npm start's Azurite at 20,000 and 100,000 jobs: a write and a read with its lookups as Azurite makes them, beside led by the row key / blob name",
  async run() {
    const storage = await startLocalStorage();
    try {
      const { clients } = await directClients(storage.azurite);
      const index = new JobsIndex(tableClientIndex(clients.jobsIndexTable));
      const ledger = new Ledger(containerRecords(clients.container(CONTAINERS.jobs)), () => new Date(), index);
      const now = Date.now();
      // The seed copies rows, counters and a listing entry the services wrote: the first jobs go through them.
      const first = Array.from({ length: 100 }, (_, i) => jobAt(i, now)); // every counter shard among them
      for (const j of first) await ledger.create(j);
      const rows = [['case (N=30 rounds each)', 'as Azurite p50', 'p95', 'led by the key p50', 'p95']];
      let seeded = first.length;
      for (const size of SIZES) {
        for (; seeded < size; seeded += 10_000) {
          const jobs = Array.from({ length: Math.min(10_000, size - seeded) }, (_, i) => jobAt(seeded + i, now));
          await seedJobs(storage.azurite.stores, { table: TABLES.jobsIndex, container: CONTAINERS.jobs }, jobs);
        }
        const times = { azurite: noTimes(), led: noTimes() };
        for (let n = 0; n < ROUNDS; n++) {
          for (const led of n % 2 ? [true, false] : [false, true]) {
            azuriteLookups.indexed = led;
            await round(
              ledger,
              first[n % first.length]!.id,
              size * 1000 + n * 2 + Number(led),
              times[led ? 'led' : 'azurite'],
              now,
            );
          }
        }
        azuriteLookups.indexed = true;
        const cells = (v: number[]) => [ms(percentile(v, 50)), ms(percentile(v, 95))];
        const at = size.toLocaleString('en');
        rows.push(
          [`${at} jobs: a job's 5 record writes, with the index`, ...cells(times.azurite.job), ...cells(times.led.job)],
          [`${at} jobs: a record read`, ...cells(times.azurite.read), ...cells(times.led.read)],
          [`${at} jobs: a walk transaction (8 jobs)`, ...cells(times.azurite.walk), ...cells(times.led.walk)],
        );
        console.log(table(rows));
      }
      return table(rows);
    } finally {
      azuriteLookups.indexed = true;
      await storage.close();
    }
  },
};
