/**
 * What the jobs index adds to each record write, for (a): one job at a time through its states (created
 * queued, then editing, edited, publishing, published), in two ledgers on one Azurite, one with the index
 * and one without, taking turns job by job so a machine whose load drifts weighs on both alike.
 */
import { randomUUID } from 'node:crypto';
import { startLocalStorage } from '../local/environment.js';
import { tableClientIndex } from '../shared/adapters/azure/index-table.js';
import { containerRecords } from '../shared/adapters/azure/blob-records.js';
import { directClients } from './direct-storage.js';
import { JobsIndex } from '../shared/app/jobs-index.js';
import { Ledger } from '../shared/app/ledger.js';
import { CONTAINERS } from '../shared/core/containers.js';
import { newJob, transition, type JobState } from '../shared/core/job.js';
import { ms, percentile, table } from './measure.js';
import { BENCH_REQUEST } from './job-request.js';

const JOBS = 100;
const WARM_UP = 5;
const STEPS: JobState[] = ['editing', 'edited', 'publishing', 'published'];

interface Times {
  create: number[];
  update: number[];
  job: number[];
}

async function oneJob(ledger: Ledger, n: number, into?: Times): Promise<void> {
  const job = newJob(
    randomUUID().replaceAll('-', ''),
    { path: 'bench', stem: `w${n}` },
    {},
    { state: 'queued', request: BENCH_REQUEST },
    new Date(),
  );
  const started = performance.now();
  let t = performance.now();
  if (!(await ledger.create(job))) throw new Error(`job ${job.id} was not created`);
  into?.create.push(performance.now() - t);
  for (const to of STEPS) {
    t = performance.now();
    await ledger.update(job.id, (j) => transition(j, to, new Date()));
    into?.update.push(performance.now() - t);
  }
  into?.job.push(performance.now() - started);
}

export async function recordWrites(): Promise<string> {
  const storage = await startLocalStorage();
  try {
    // Straight to Azurite: no Event Grid proxy raising events for the records.
    const { clients } = await directClients(storage.azurite);
    const records = containerRecords(clients.container(CONTAINERS.jobs));
    const now = () => new Date();
    const indexed = new Ledger(records, now, new JobsIndex(tableClientIndex(clients.jobsIndexTable)));
    const plain = new Ledger(records, now);
    const times = {
      indexed: { create: [], update: [], job: [] } as Times,
      plain: { create: [], update: [], job: [] } as Times,
    };
    for (let i = -WARM_UP; i < JOBS; i++) {
      await oneJob(indexed, i, i < 0 ? undefined : times.indexed);
      await oneJob(plain, i, i < 0 ? undefined : times.plain);
    }
    const cells = (v: number[]) => [ms(percentile(v, 50)), ms(percentile(v, 95))];
    const rows = [
      [
        `record write through Azurite (N=${JOBS} jobs each, one at a time)`,
        'with index p50',
        'p95',
        'without p50',
        'p95',
      ],
      ['Ledger.create (record + active marker, + index)', ...cells(times.indexed.create), ...cells(times.plain.create)],
      [
        'Ledger.update (CAS write, + index; the last one drops the marker)',
        ...cells(times.indexed.update),
        ...cells(times.plain.update),
      ],
      ['a job: create + 4 updates (queued → published)', ...cells(times.indexed.job), ...cells(times.plain.job)],
    ];
    return table(rows);
  } finally {
    await storage.close();
  }
}
