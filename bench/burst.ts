/**
 * A burst of drops through the pipeline as it runs on Azure: the Functions host in its own process (an
 * instance), the storage (Azurite, Event Grid) in another (./storage-process.ts), and the bench process
 * playing the rest of the cloud (one emulator per deployment) and the uploader. Used by (a) burst goodput
 * and (f) the deployment pool. In one process, the emulators' work (decoding, painting and signing a
 * 1024x1024 image per call) and Azurite's competed with the host for one event loop, and on a busy
 * machine the runs measured that contention rather than the pipeline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerClient } from '@azure/storage-blob';
import { freePort, spawnHost } from '../local/host/child.js';
import { startEmulatorPool, type EmulatedRegion, type EmulatorPool } from '../local/pool.js';
import { Ledger } from '../shared/app/ledger.js';
import { containerRecords } from '../shared/adapters/azure/blob-records.js';
import { createStorageClients, ensureStorageLayout } from '../shared/adapters/azure/storage.js';
import { CONTAINERS } from '../shared/core/containers.js';
import { isTerminal, type JobRecord } from '../shared/core/job.js';
import { pair } from './drop-files.js';
import { spawnStorage } from './storage-process.js';
import { burstTimeline, type BurstTimeline } from './timeline.js';

export interface BurstOptions {
  /** One emulated deployment per region, each with its quota. */
  regions: EmulatedRegion[];
  drops: number;
  /** A process spinning on one core beside the pipeline for the whole run. */
  busy: boolean;
  /** The pipeline is told each deployment allows this many times its quota (1: the truth). */
  toldQuota?: number;
  /** Calls in flight the host allows (IMAGE_MODEL_CONCURRENCY). */
  concurrency: number;
  /** `false`: the host without the jobs index (`host --no-jobs-index`), to measure what the index costs. */
  jobsIndex?: boolean;
  /** One region answers every call with a 500 for `ms`, from when a third of the drops are done. */
  outage?: { region: string; ms: number };
}

export interface BurstResult {
  /** First upload to the last job's terminal state. */
  seconds: number;
  calls: number;
  share429: number;
  /** Drops not published. */
  failed: number;
  /** Edits made, by pool member id. */
  edits: Map<string, number>;
  /** Where the time went, in seconds after the first upload (./timeline.ts). */
  timeline: BurstTimeline;
}

/** Uploads a drop's parts, each retried on a 5xx (a loaded machine's storage answers 502 now and then). */
async function upload(inbox: ContainerClient, key: string, files: { image: Buffer; mask: Buffer }): Promise<void> {
  const parts: [string, Buffer][] = [
    // One prompt for every drop: the emulator then paints the edit once (it still signs every answer).
    [`${key}.json`, Buffer.from(JSON.stringify({ prompt: 'replace the masked area with a summer sky' }))],
    [`${key}.png`, files.image],
    [`${key}.mask.png`, files.mask],
  ];
  for (const [name, bytes] of parts) {
    for (let attempt = 1; ; attempt++) {
      try {
        await inbox.getBlockBlobClient(name).uploadData(bytes);
        break;
      } catch (err) {
        if (attempt >= 5 || ((err as { statusCode?: number }).statusCode ?? 0) < 500) throw err;
        await sleep(500 * attempt);
      }
    }
  }
}

function cpuHog(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

/** A region answering every call with a 500 for a while, once begun. */
class Outage {
  private started = false;
  private end!: () => void;
  private readonly over = new Promise<void>((resolve) => (this.end = resolve));

  constructor(
    private readonly pool: EmulatorPool,
    private readonly spec: { region: string; ms: number },
  ) {}

  /** Resolves when the outage is over (at once if it never began). */
  get ended(): Promise<void> {
    return this.started ? this.over : Promise.resolve();
  }

  begin(): void {
    if (this.started) return;
    this.started = true;
    const down = this.pool.emulators.get(this.spec.region)!;
    down.setFaults({ http500: 1 });
    setTimeout(() => {
      down.setFaults({});
      this.end();
    }, this.spec.ms);
  }
}

/** Polls the ledger until `drops` jobs are terminal (or ten minutes pass); the jobs as recorded. */
async function settledJobs(ledger: Ledger, drops: number, onProgress: (done: number) => void): Promise<JobRecord[]> {
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const { jobs } = await ledger.list({ limit: 10 * drops }).catch(() => ({ jobs: [] }));
    const done = jobs.filter((j) => isTerminal(j.state));
    onProgress(done.length);
    if (done.length >= drops || Date.now() > deadline) {
      const records = await Promise.all(done.map(async (j) => (await ledger.get(j.id))?.value));
      return records.filter((j): j is JobRecord => j !== undefined);
    }
    await sleep(250);
  }
}

/** The pool setting with every member's quota multiplied by `factor`. */
function toldPool(pool: EmulatorPool, factor: number): string {
  const members = JSON.parse(pool.settings.IMAGE_MODEL_POOL!) as { rpm: number }[];
  return JSON.stringify(members.map((m) => ({ ...m, rpm: Math.round(m.rpm * factor) })));
}

export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const files = await pair(256);
  const caDir = path.join(mkdtempSync(path.join(tmpdir(), 'bench-ca-')), 'ca');
  const port = await freePort();
  const storage = await spawnStorage(`http://127.0.0.1:${port}`);
  const pool = await startEmulatorPool(options.regions, { caDir, latency: { min: 500, max: 1500 } });
  let host: ChildProcess | undefined;
  let hog: ChildProcess | undefined;
  try {
    const clients = await createStorageClients({
      kind: 'connectionString',
      connectionString: storage.connectionString,
    });
    await ensureStorageLayout(clients);
    const env = {
      ...process.env,
      AzureWebJobsStorage: storage.connectionString,
      ...pool.settings,
      IMAGE_MODEL_POOL: toldPool(pool, options.toldQuota ?? 1),
      IMAGE_MODEL_CONCURRENCY: String(options.concurrency),
    };
    const args = ['--no-timers', ...(options.jobsIndex === false ? ['--no-jobs-index'] : [])];
    host = await spawnHost({ port, env, args });
    hog = options.busy ? cpuHog() : undefined;
    const ledger = new Ledger(containerRecords(clients.container(CONTAINERS.jobs)));
    const inbox = clients.container(CONTAINERS.inbox);
    // One drop first, untimed, as an instance that has been serving: the first call loads the pipeline's
    // modules and the model SDK (cold start is (e)'s subject), and this run measures throughput.
    await upload(inbox, 'warm-up', files);
    await settledJobs(ledger, 1, () => {});
    for (const emulator of pool.emulators.values()) emulator.clearRequests();
    const keys = Array.from({ length: options.drops }, (_, i) => `burst/${i}`);
    const start = Date.now();
    // Sixteen uploads at a time: hundreds at once overrun the local storage on a loaded machine.
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < keys.length) await upload(inbox, keys[next++]!, files);
      }),
    );
    const uploaded = Date.now();
    const outage = options.outage ? new Outage(pool, options.outage) : undefined;
    const all = await settledJobs(ledger, options.drops + 1, (done) => {
      if (done >= options.drops / 3) outage?.begin();
    });
    const jobs = all.filter((j) => j.drop.key !== 'warm-up');
    await outage?.ended;
    const done = Math.max(...jobs.map((j) => Date.parse(j.history.at(-1)!.at)));
    const calls = [...pool.emulators.values()].flatMap((e) =>
      e.requests().filter((r) => r.path.endsWith('/images/edits')),
    );
    const edits = new Map<string, number>();
    for (const j of jobs) if (j.edit?.deployment) edits.set(j.edit.deployment, (edits.get(j.edit.deployment) ?? 0) + 1);
    return {
      seconds: (done - start) / 1000,
      calls: calls.length,
      share429: calls.filter((c) => c.status === 429).length / calls.length,
      failed: options.drops - jobs.filter((j) => j.state === 'published').length,
      edits,
      // A request's record is written when it ends: it left `durationMs` before.
      timeline: burstTimeline(
        jobs,
        calls.map((c) => Date.parse(c.at) - c.durationMs),
        start,
        uploaded,
      ),
    };
  } finally {
    hog?.kill();
    host?.kill('SIGKILL');
    await pool.close();
    await storage.close();
  }
}
