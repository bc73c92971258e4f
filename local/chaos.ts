/**
 * `npm run chaos -- --drops N`: drives the local runtime through its worst day and checks the promises.
 * Storage, Event Grid and the emulator run here; the Functions host runs as a child process that is
 * killed with SIGKILL mid-flight and restarted. Event Grid delivers every event twice and out of order;
 * the emulator throttles at its quota (the pipeline is told a higher one), fails with 500/503, resets
 * connections, hangs and truncates bodies. Then it checks: every accepted drop in exactly one terminal
 * state; nothing published twice; model calls per job ≤ 1 + its recorded retries; every published file
 * passes the gate again; no blob left behind outside the terminal containers. Exit 1 when one breaks.
 *
 * `--pool`: three emulated deployments ("regions", IMAGE_MODEL_POOL) with those faults, one of them
 * failing every call for a while (an outage), and two host processes sharing the storage and the pool,
 * one of which is SIGKILLed each time. Also checked: the ledger names the deployment of every edit.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { loadGateConfig } from '../shared/core/config.js';
import { CONTAINERS } from '../shared/core/containers.js';
import { createStorageClients, ensureStorageLayout, type StorageClients } from '../shared/adapters/azure/storage.js';
import { Ledger } from '../shared/app/ledger.js';
import { containerRecords } from '../shared/adapters/azure/blob-records.js';
import { JOB_ERROR } from '../shared/core/job-errors.js';
import { isTerminal, type JobRecord } from '../shared/core/job.js';
import { createVerifier } from '../shared/adapters/c2pa/verifier.js';
import { intOption, parse } from './cli.js';
import type { FaultRates } from './emulator/faults.js';
import { startEmulator, type Emulator, type RequestRecord } from './emulator/server.js';
import { startLocalStorage, subscriptionsFor, type LocalStorage } from './environment.js';
import { freePort, spawnHost } from './host/child.js';
import { startEmulatorPool, type EmulatedRegion, type EmulatorPool } from './pool.js';
import { DEFAULT_IMAGE_MODEL } from '../shared/core/model-catalog.js';

export interface ChaosOptions {
  drops: number;
  kills?: number;
  seed?: number;
  caDir?: string;
  faults?: FaultRates;
  /** A deployment pool with an outage, and two host processes (see above). */
  pool?: boolean;
  /** Gives up waiting for the pipeline to settle after this long. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface Invariant {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ChaosResult {
  ok: boolean;
  invariants: Invariant[];
  figures: Record<string, string | number>;
  hostLog: string;
}

/** The pool mode's deployments, and the one that goes down (every call a 500 or 503) for a while. */
const POOL_REGIONS: EmulatedRegion[] = [
  { region: 'eastus2', rpm: 60 },
  { region: 'westus3', rpm: 40 },
  { region: 'swedencentral', rpm: 20 },
];
const OUTAGE = { region: 'westus3', ms: 15_000 };

const DEFAULT_FAULTS: FaultRates = { http500: 0.03, http503: 0.03, reset: 0.02, hang: 0.01, truncate: 0.02 };

/** A small seeded PRNG (mulberry32), so a run's upload order and kill points can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function listJobs(ledger: Ledger): Promise<JobRecord[]> {
  const out: JobRecord[] = [];
  let token: string | undefined;
  do {
    const page = await ledger.list({ limit: 500, ...(token ? { continuationToken: token } : {}) });
    for (const s of page.jobs) {
      const job = await ledger.get(s.id);
      if (job) out.push(job.value);
    }
    token = page.continuationToken;
  } while (token);
  return out;
}

async function names(storage: StorageClients, container: string, prefix?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of storage.container(container).listBlobsFlat(prefix ? { prefix } : {})) out.push(b.name);
  return out;
}

const API_KEY = 'chaos-local-key';

/** The settings every host process runs with: the local storage, and the emulator or the pool. */
function hostSettings(storage: LocalStorage, pool: EmulatorPool | undefined, emulator: Emulator | undefined) {
  return {
    ...process.env,
    AzureWebJobsStorage: storage.connectionString,
    ...(pool
      ? pool.settings
      : {
          AZURE_OPENAI_ENDPOINT: emulator!.url,
          AZURE_OPENAI_API_KEY: API_KEY,
          EXTRA_TRUST_ANCHORS: emulator!.caPem,
          // Told more than the emulator allows (120), so it meets 429s at the quota.
          IMAGE_MODEL_RPM: '150',
        }),
    IMAGE_MODEL_TIMEOUT: '4s',
    IMAGE_MODEL_MAX_ATTEMPTS: '8',
    SWEEP_SCHEDULE: '*/3 * * * * *',
    DROP_SETTLE: '1s',
  };
}

/** The Functions hosts as child processes the run kills and restarts; all of them write to one log. */
class HostProcesses {
  readonly logPath: string;
  private readonly processes: (ChildProcess | undefined)[];
  private readonly output: WriteStream;

  constructor(
    private readonly ports: number[],
    private readonly env: NodeJS.ProcessEnv,
  ) {
    const logDir = mkdtempSync(path.join(tmpdir(), 'imagegen-chaos-'));
    this.logPath = path.join(logDir, 'host.log');
    this.output = createWriteStream(this.logPath);
    this.processes = ports.map(() => undefined);
  }

  get count(): number {
    return this.processes.length;
  }

  async start(i: number): Promise<void> {
    this.processes[i] = await spawnHost({
      port: this.ports[i]!,
      env: this.env,
      args: ['--queue-lease-seconds', '5', '--verbose'],
      output: this.output,
    }).catch((err: Error) => {
      throw new Error(`${err.message}; see ${this.logPath}`);
    });
  }

  async stop(i: number, signal: NodeJS.Signals): Promise<void> {
    const host = this.processes[i]!;
    host.kill(signal);
    if (host.exitCode === null && host.signalCode === null) await new Promise((r) => host.once('exit', r));
  }

  /** Kills whatever still runs (a run that failed half-way) and closes the log. */
  close(): void {
    for (const host of this.processes) if (host && host.exitCode === null) host.kill('SIGKILL');
    this.output.end();
  }
}

interface Upload {
  name: string;
  bytes: Buffer;
}

/** The drops: a small image and its mask, most with a sidecar, parts in a random order. */
async function chaosDrops(count: number, random: () => number): Promise<{ keys: string[]; uploads: Upload[][] }> {
  const images = await Promise.all(
    [256, 384].map((w) =>
      sharp({ create: { width: w, height: w, channels: 3, background: { r: 40, g: 90, b: 160 } } })
        .png()
        .toBuffer(),
    ),
  );
  const masks = await Promise.all(
    [256, 384].map((w) => {
      const raw = Buffer.alloc(w * w * 4, 255);
      for (let i = 3; i < raw.length / 4; i += 4) raw[i] = 0; // the top quarter is the area to edit
      return sharp(raw, { raw: { width: w, height: w, channels: 4 } })
        .png()
        .toBuffer();
    }),
  );
  const keys: string[] = [];
  const uploads: Upload[][] = [];
  for (let i = 0; i < count; i++) {
    const key = `chaos/${String(i).padStart(4, '0')}`;
    keys.push(key);
    const size = i % 2;
    const parts = [
      { name: `${key}.png`, bytes: images[size]! },
      { name: `${key}.mask.png`, bytes: masks[size]! },
      ...(random() < 0.7
        ? [{ name: `${key}.json`, bytes: Buffer.from(JSON.stringify({ prompt: `chaos ${i}` })) }]
        : []),
    ].sort(() => random() - 0.5);
    uploads.push(parts);
  }
  return { keys, uploads };
}

/** The invariants in the order they are checked; a broken one names at most five examples. */
class Invariants {
  readonly list: Invariant[] = [];

  check(name: string, failures: string[], ok: string): void {
    this.list.push({
      name,
      ok: failures.length === 0,
      detail: failures.length
        ? failures.slice(0, 5).join('; ') + (failures.length > 5 ? ` (+${failures.length - 5} more)` : '')
        : ok,
    });
  }
}

// Like a 429, Azure's blocked-resource 403 sends the job on without spending an attempt.
const blockedFor = (job: JobRecord) => job.history.filter((h) => h.error?.code === JOB_ERROR.resourceBlocked).length;

/** What the ledger and the model's calls say once the run is over. */
interface Outcome {
  jobs: JobRecord[];
  byDrop: Map<string, JobRecord[]>;
  calls: RequestRecord[];
  publishedNames: string[];
}

function checkTerminalStates(invariants: Invariants, dropKeys: string[], { jobs, byDrop }: Outcome): void {
  invariants.check(
    'every accepted drop ends in exactly one terminal state',
    [
      ...dropKeys.filter((k) => !byDrop.has(k)).map((k) => `${k} has no job`),
      ...jobs.filter((j) => !isTerminal(j.state)).map((j) => `${j.drop.key} is still ${j.state}`),
      ...jobs
        .filter((j) => j.history.filter((h) => isTerminal(h.state)).length !== 1)
        .map((j) => `${j.drop.key} reached ${j.history.filter((h) => isTerminal(h.state)).length} terminal states`),
    ],
    `${dropKeys.length} drops, ${jobs.length} jobs`,
  );
}

function checkPublishedOnce(invariants: Invariants, { jobs, byDrop, publishedNames }: Outcome): void {
  invariants.check(
    'nothing published twice',
    [
      ...jobs
        .filter((j) => j.history.filter((h) => h.state === 'published').length > 1)
        .map((j) => `${j.drop.key} published ${j.history.filter((h) => h.state === 'published').length} times`),
      ...[...byDrop]
        .filter(([, js]) => js.filter((j) => j.state === 'published').length > 1)
        .map(([k]) => `${k} has several published jobs`),
      ...publishedNames
        .filter((n) => !jobs.some((j) => j.publish?.blob === `published/${n}`))
        .map((n) => `published/${n} belongs to no published job`),
    ],
    `${publishedNames.length} published files, one per published job`,
  );
}

function checkModelCalls(invariants: Invariants, { jobs, calls }: Outcome): void {
  const callsFor = (job: JobRecord) =>
    calls.filter((c: RequestRecord) => c.clientRequestId?.startsWith(`${job.id}-`)).length;
  invariants.check(
    'model calls per job ≤ 1 + its recorded retries',
    jobs
      .filter((j) => callsFor(j) > 1 + Math.max(0, j.attempts - 1) + j.throttled + blockedFor(j))
      .map(
        (j) =>
          `${j.drop.key}: ${callsFor(j)} calls, ${j.attempts} attempts, ${j.throttled} throttled, ${blockedFor(j)} blocked`,
      ),
    `${calls.length} calls for ${jobs.length} jobs`,
  );
}

function checkPoolDeployments(invariants: Invariants, { jobs }: Outcome): void {
  const members = new Set(POOL_REGIONS.map((r) => `${r.region}-${DEFAULT_IMAGE_MODEL}`));
  invariants.check(
    'the ledger names the pool deployment of every edit',
    jobs
      .filter((j) => j.edit?.output && !members.has(j.edit.deployment ?? ''))
      .map((j) => `${j.drop.key}: edited by ${j.edit!.deployment ?? 'no deployment recorded'}`),
    `${jobs.filter((j) => j.edit?.output).length} edits, each with its deployment`,
  );
}

/** Chaos on the local runtime: everything it starts, the drops it makes, and what it counts on the way. */
class ChaosRun {
  private readonly started = Date.now();
  private readonly log: (line: string) => void;
  private readonly random: () => number;
  private readonly kills: number;
  private readonly faults: FaultRates;
  private readonly invariants = new Invariants();
  private dropKeys: string[] = [];
  private killed = 0;
  private settled = false;
  private outageStarted = false;
  private outage: Promise<void> = Promise.resolve();

  // Set by start(), before anything else runs.
  private storage!: LocalStorage;
  private pool: EmulatorPool | undefined;
  private emulator: Emulator | undefined;
  private emulators: Emulator[] = [];
  private clients!: StorageClients;
  private ledger!: Ledger;
  private hosts!: HostProcesses;

  constructor(private readonly options: ChaosOptions) {
    this.log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
    this.random = prng(options.seed ?? 20261121);
    this.kills = options.kills ?? 2;
    this.faults = options.faults ?? DEFAULT_FAULTS;
  }

  /** Storage with Event Grid, the emulator or the pool, and the hosts' settings (the hosts start in play()). */
  async start(): Promise<void> {
    // In memory: on disk, under load, a drop's parts can arrive further apart than DROP_SETTLE, and a late
    // sidecar is then (by the drop contract) a new job. The persisted path has its own tests and bench (b).
    this.storage = await startLocalStorage({
      delivery: { duplicates: 1, jitterMs: 400, maxAttempts: 8, initialRetryMs: 300, maxRetryMs: 3_000 },
    });
    const emulatorOptions = {
      latency: { min: 50, max: 400 },
      faults: this.faults,
      ...(this.options.caDir ? { caDir: this.options.caDir } : {}),
    };
    this.pool = this.options.pool ? await startEmulatorPool(POOL_REGIONS, emulatorOptions) : undefined;
    this.emulator = this.pool ? undefined : await startEmulator({ apiKey: API_KEY, rpm: 120, ...emulatorOptions });
    this.emulators = this.pool ? [...this.pool.emulators.values()] : [this.emulator!];
    const connectionString = this.storage.connectionString;
    this.clients = await createStorageClients({ kind: 'connectionString', connectionString });
    await ensureStorageLayout(this.clients);
    this.ledger = new Ledger(containerRecords(this.clients.container(CONTAINERS.jobs)));
    // Event Grid delivers to the first host; every host works the edit queue, like Flex instances.
    const ports = await Promise.all(Array.from({ length: this.pool ? 2 : 1 }, () => freePort()));
    this.storage.eventGrid.setSubscriptions(subscriptionsFor(`http://127.0.0.1:${ports[0]}`));
    this.hosts = new HostProcesses(ports, hostSettings(this.storage, this.pool, this.emulator));
  }

  async play(): Promise<ChaosResult> {
    await Promise.all(Array.from({ length: this.hosts.count }, (_, i) => this.hosts.start(i)));
    this.announce();
    await this.uploadDrops();
    await this.driveUntilSettled();
    await this.outage;
    await Promise.all(Array.from({ length: this.hosts.count }, (_, i) => this.hosts.stop(i, 'SIGTERM')));
    const outcome = await this.outcome();
    await this.checkInvariants(outcome);
    const figures = this.figures(outcome);
    const invariants = this.invariants.list;
    for (const inv of invariants) this.log(`${inv.ok ? '✓' : '✗'} ${inv.name}: ${inv.detail}`);
    for (const [k, v] of Object.entries(figures)) this.log(`  ${k}: ${v}`);
    const ok = invariants.every((i) => i.ok);
    if (!ok) this.log(`host log: ${this.hosts.logPath}`);
    return { ok, invariants, figures, hostLog: this.hosts.logPath };
  }

  async close(): Promise<void> {
    this.hosts.close();
    await this.emulator?.close();
    await this.pool?.close();
    await this.storage.close();
  }

  private announce(): void {
    const models = this.pool
      ? `a pool of ${POOL_REGIONS.map((r) => `${r.region} ${r.rpm} RPM`).join(', ')} with ${OUTAGE.region} down for ${OUTAGE.ms / 1000} s, ${this.hosts.count} hosts`
      : 'emulator 120 RPM vs pipeline 150 RPM';
    this.log(
      `chaos: ${this.options.drops} drops, ${this.kills} host kill(s), duplicates ×2, shuffled delivery, faults ${JSON.stringify(this.faults)}, ${models}`,
    );
  }

  private async uploadDrops(): Promise<void> {
    const { keys, uploads } = await chaosDrops(this.options.drops, this.random);
    this.dropKeys = keys;
    const inbox = this.clients.container(CONTAINERS.inbox);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < uploads.length) {
          for (const part of uploads[next++]!) await inbox.getBlockBlobClient(part.name).uploadData(part.bytes);
        }
      }),
    );
    this.log(`chaos: uploaded ${keys.length} drops in ${((Date.now() - this.started) / 1000).toFixed(1)} s`);
  }

  /** Watches the work; kills a host (SIGKILL) each time a share of it is done, then brings it back. */
  private async driveUntilSettled(): Promise<void> {
    const { drops } = this.options;
    const deadline = Date.now() + (this.options.timeoutMs ?? Math.max(180_000, drops * 3_000));
    while (Date.now() < deadline) {
      const jobs = await listJobs(this.ledger);
      const terminalDrops = new Set(jobs.filter((j) => isTerminal(j.state)).map((j) => j.drop.key)).size;
      const active = (await names(this.clients, CONTAINERS.jobs, 'active/')).length;
      const pending = (await names(this.clients, CONTAINERS.jobs, 'pending/')).length;
      if (this.pool && !this.outageStarted && terminalDrops >= drops / 4) this.startOutage(this.pool, terminalDrops);
      if (this.killed < this.kills && terminalDrops >= ((this.killed + 1) * drops) / (this.kills + 1)) {
        await this.killAndRestartHost(terminalDrops, active);
        continue;
      }
      if (terminalDrops >= drops && active === 0 && pending === 0 && this.storage.eventGrid.stats().pending === 0) {
        this.settled = true;
        break;
      }
      await sleep(500);
    }
  }

  private startOutage(pool: EmulatorPool, terminalDrops: number): void {
    this.outageStarted = true;
    const down = pool.emulators.get(OUTAGE.region)!;
    this.log(
      `chaos: ${OUTAGE.region} fails every call for ${OUTAGE.ms / 1000} s (${terminalDrops}/${this.options.drops} drops settled)`,
    );
    down.setFaults({ http500: 0.5, http503: 0.5 });
    this.outage = sleep(OUTAGE.ms).then(() => {
      down.setFaults(this.faults);
      this.log(`chaos: ${OUTAGE.region} is back`);
    });
  }

  private async killAndRestartHost(terminalDrops: number, active: number): Promise<void> {
    // With several hosts, the one killed is a queue worker mid-call, not always the event receiver.
    const count = this.hosts.count;
    const victim = count - 1 - (this.killed % count);
    this.killed++;
    await this.hosts.stop(victim, 'SIGKILL');
    this.log(
      `chaos: SIGKILL host ${victim + 1} of ${count} (${terminalDrops}/${this.options.drops} drops settled, ${active} jobs in flight); restarting in 1 s`,
    );
    await sleep(1_000);
    await this.hosts.start(victim);
  }

  private async outcome(): Promise<Outcome> {
    const jobs = await listJobs(this.ledger);
    const calls = this.emulators.flatMap((e) => e.requests().filter((r) => r.path.includes('/images/')));
    const byDrop = new Map<string, JobRecord[]>();
    for (const j of jobs) byDrop.set(j.drop.key, [...(byDrop.get(j.drop.key) ?? []), j]);
    const publishedNames = (await names(this.clients, CONTAINERS.published)).filter(
      (n) => !n.endsWith('.provenance.json'),
    );
    return { jobs, byDrop, calls, publishedNames };
  }

  private async checkInvariants(outcome: Outcome): Promise<void> {
    this.invariants.check(
      'the run settled before the deadline',
      this.settled ? [] : ['timed out with work in flight'],
      `in ${((Date.now() - this.started) / 1000).toFixed(1)} s`,
    );
    checkTerminalStates(this.invariants, this.dropKeys, outcome);
    checkPublishedOnce(this.invariants, outcome);
    checkModelCalls(this.invariants, outcome);
    if (this.pool) checkPoolDeployments(this.invariants, outcome);
    await this.checkRegated(outcome.publishedNames);
    await this.checkLeftovers(outcome.publishedNames);
  }

  private async checkRegated(publishedNames: string[]): Promise<void> {
    const verifier = await createVerifier(loadGateConfig({}), undefined, {
      extraPems: [...new Set(this.emulators.map((e) => e.caPem))],
    });
    const regated: string[] = [];
    for (const n of publishedNames) {
      const report = await verifier.verify(
        await this.clients.container(CONTAINERS.published).getBlobClient(n).downloadToBuffer(),
        { file: n },
      );
      if (report.verdict !== 'publish') regated.push(`published/${n}: ${report.reasons.join('; ')}`);
    }
    this.invariants.check(
      'every file in published/ passes the gate again',
      regated,
      `${publishedNames.length} files re-verified`,
    );
  }

  private async checkLeftovers(publishedNames: string[]): Promise<void> {
    const clients = this.clients;
    const edited = await names(clients, CONTAINERS.edited);
    const judged = new Set([...publishedNames, ...(await names(clients, CONTAINERS.quarantine))]);
    const leftovers = [
      ...edited.filter((n) => !judged.has(n)).map((n) => `edited/${n} was never judged`),
      ...(await names(clients, CONTAINERS.jobs, 'active/')).map((n) => `jobs/${n} still marks a job in flight`),
      ...(await names(clients, CONTAINERS.jobs, 'pending/')).map((n) => `jobs/${n} still waits for a part`),
      ...(await names(clients, CONTAINERS.deadLetter)).map((n) => `${CONTAINERS.deadLetter}/${n} was never replayed`),
    ];
    this.invariants.check(
      'no blob left behind outside the terminal containers',
      leftovers,
      `${edited.length} edited files all judged; no markers or dead letters left`,
    );
  }

  private figures({ jobs, calls }: Outcome): Record<string, string | number> {
    const states: Record<string, number> = {};
    for (const j of jobs) states[j.state] = (states[j.state] ?? 0) + 1;
    const outcomes: Record<string, number> = {};
    for (const c of calls) outcomes[c.outcome] = (outcomes[c.outcome] ?? 0) + 1;
    const throttled = calls.filter((c) => c.status === 429).length;
    const eg = this.storage.eventGrid.stats();
    const publishedBy: Record<string, number> = {};
    for (const j of jobs) if (j.publish?.by) publishedBy[j.publish.by] = (publishedBy[j.publish.by] ?? 0) + 1;
    return {
      drops: this.options.drops,
      jobs: jobs.length,
      states: JSON.stringify(states),
      'model calls': calls.length,
      'call outcomes': JSON.stringify(outcomes),
      '429 share': `${((100 * throttled) / Math.max(1, calls.length)).toFixed(1)} %`,
      // Never counted as rejections: the deployment was out, not the drop at fault.
      'calls blocked by Azure content policy': jobs.reduce((n, j) => n + blockedFor(j), 0),
      'events published / delivered / dead-lettered': `${eg.published} / ${eg.delivered} / ${eg.deadLettered}`,
      // `sweep` counts jobs a killed host left behind; the rest went out on their event or hand-off.
      'jobs finished by publish / edit (hand-off) / sweep': `${publishedBy.publish ?? 0} / ${publishedBy.edit ?? 0} / ${publishedBy.sweep ?? 0}`,
      ...(this.pool ? { 'edits by deployment': editsByDeployment(jobs) } : {}),
      'host kills': this.killed,
      'total time': `${((Date.now() - this.started) / 1000).toFixed(1)} s`,
    };
  }
}

function editsByDeployment(jobs: JobRecord[]): string {
  return JSON.stringify(
    Object.fromEntries(
      POOL_REGIONS.map((r) => [
        r.region,
        jobs.filter((j) => j.edit?.output && j.edit.deployment === `${r.region}-${DEFAULT_IMAGE_MODEL}`).length,
      ]),
    ),
  );
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const run = new ChaosRun(options);
  await run.start();
  try {
    return await run.play();
  } finally {
    await run.close();
  }
}

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, {
    drops: { type: 'string' },
    kills: { type: 'string' },
    seed: { type: 'string' },
    pool: { type: 'boolean' },
  });
  const result = await runChaos({
    pool: values.pool === true,
    drops: intOption('drops', values.drops, 1, 100_000) ?? 200,
    kills: intOption('kills', values.kills, 0, 100) ?? 2,
    ...(values.seed ? { seed: intOption('seed', values.seed, 0, 2 ** 31)! } : {}),
  });
  return result.ok ? 0 : 1;
}
