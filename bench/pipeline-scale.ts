/**
 * (g) The whole pipeline over many host processes: N `imagegen-pipeline host` processes (like Flex
 * instances) share one Azurite, one edit queue and one emulated deployment; Event Grid delivers each
 * event to one of them in turn (a round-robin front, as the Functions front end spreads webhook calls).
 * A burst of D drops of 256x256 images lands at once. Reported: completion against the quota-bound
 * ideal D/R, the 429 share, jobs not published, jobs edited more than once, slots given twice, the
 * pacer's own cost (lost compare-and-swaps per slot, and how late calls reached the model after their
 * slots), and the CPU every process used, since on one machine they all share its cores.
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ContainerClient } from '@azure/storage-blob';
import { startEmulator, type Emulator } from '../local/emulator/server.js';
import { freePort, spawnHost } from '../local/host/child.js';
import { connectionString } from '../local/storage/azurite.js';
import { startObservingProxy } from '../local/storage/proxy.js';
import { Ledger, type JobSummary } from '../shared/app/ledger.js';
import { containerRecords } from '../shared/adapters/azure/blob-records.js';
import { createStorageClients, ensureStorageLayout, type StorageClients } from '../shared/adapters/azure/storage.js';
import { CONTAINERS } from '../shared/core/containers.js';
import { isTerminal, type JobRecord } from '../shared/core/job.js';
import { type PacerState, slotIntervalMs } from '../shared/core/pacing.js';
import { ms, percentile } from './measure.js';
import { pair } from './drop-files.js';
import { spawnStorage, type StorageProcess } from './storage-process.js';

const DROPS = Number(process.env.IMAGEGEN_BENCH_SCALE_DROPS ?? 300);
const UPLOADS_AT_ONCE = 24;

/**
 * Forwards each request to the next of `targets` in turn, naming the target in `Host` as a reverse proxy does:
 * each host answers only requests addressed to its own port (421 otherwise, local/loopback-guard.ts).
 */
async function roundRobin(targets: string[]): Promise<{ url: string; close(): Promise<void> }> {
  let next = 0;
  const server = http.createServer((req, res) => {
    const target = new URL(req.url ?? '/', targets[next++ % targets.length]);
    const headers = { ...req.headers, host: target.host };
    const upstream = http.request(target, { method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Event Grid keeps retrying deliveries to the stopped hosts over kept-alive connections.
        server.closeAllConnections();
      }),
  };
}

/** CPU seconds a process has used so far (user + system), from /proc (ticks of 1/100 s on Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const percent = (part: number, whole: number) => `${((100 * part) / Math.max(1, whole)).toFixed(1)} %`;

/** Runs `task` over `items`, `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (i < items.length) await task(items[i++]!);
    }),
  );
}

/** Every job's summary (state from the blob's metadata, no record read). */
async function summaries(ledger: Ledger): Promise<JobSummary[]> {
  const jobs: JobSummary[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await ledger.list({ limit: 100, ...(continuationToken ? { continuationToken } : {}) });
    jobs.push(...page.jobs);
    continuationToken = page.continuationToken;
  } while (continuationToken);
  return jobs;
}

/** The hosts' settings: storage through the counting proxy, and the emulator at `rpm`. */
function hostSettings(storage: StorageProcess, counterPort: number, emulator: Emulator, rpm: number) {
  return {
    ...process.env,
    AzureWebJobsStorage: connectionString(
      `http://127.0.0.1:${counterPort}/devstoreaccount1`,
      storage.queueEndpoint,
      storage.tableEndpoint,
    ),
    AZURE_OPENAI_ENDPOINT: emulator.url,
    AZURE_OPENAI_API_KEY: 'k',
    EXTRA_TRUST_ANCHORS: emulator.caPem,
    IMAGE_MODEL_RPM: String(rpm),
    // The drops come without a sidecar: a third fewer uploads, events and intakes for the machine to carry.
    DROP_SETTLE: '0s',
  };
}

/** Starts a host on each port into `hosts` (so the caller can kill them whatever happens). */
async function spawnHosts(hosts: ChildProcess[], ports: number[], env: NodeJS.ProcessEnv, rpm: number): Promise<void> {
  const hostLog = path.join(mkdtempSync(path.join(tmpdir(), 'bench-scale-')), 'hosts.log');
  const output = createWriteStream(hostLog).setMaxListeners(4 * ports.length);
  console.error(`  (g) pipeline at ${rpm} RPM: the hosts' output goes to ${hostLog}`);
  // One after another: eight Node processes loading the functions at once on two cores time out.
  for (const port of ports) {
    hosts.push(await spawnHost({ port, env, args: ['--no-timers'], startupMs: 60_000, output }));
  }
}

/** The drops of a burst, uploaded and waited for, and the pacer's schedules read as the run goes. */
class Burst {
  /** Every reservation the schedules remember, by key: read as the run goes (they forget after 5 minutes). */
  readonly remembered = new Map<string, number>();
  readonly ledger: Ledger;
  private readonly jobs: ContainerClient;
  private readonly inbox: ContainerClient;

  constructor(
    clients: StorageClients,
    private readonly files: { image: Buffer; mask: Buffer },
  ) {
    this.jobs = clients.container(CONTAINERS.jobs);
    this.inbox = clients.container(CONTAINERS.inbox);
    this.ledger = new Ledger(containerRecords(this.jobs));
  }

  upload(keys: string[]): Promise<void> {
    return eachLimited(keys, UPLOADS_AT_ONCE, async (key) => {
      await this.inbox.getBlockBlobClient(`${key}.png`).uploadData(this.files.image);
      await this.inbox.getBlockBlobClient(`${key}.mask.png`).uploadData(this.files.mask);
    });
  }

  async readSchedules(): Promise<void> {
    for await (const blob of this.jobs.listBlobsFlat({ prefix: 'pacer/' })) {
      const text = (await this.jobs.getBlobClient(blob.name).downloadToBuffer()).toString('utf8');
      const state = JSON.parse(text) as PacerState;
      for (const [key, at] of Object.entries(state.recent ?? {})) this.remembered.set(`${blob.name} ${key}`, at);
    }
  }

  /** Waits until the jobs of every drop named `<prefix>/…` are terminal, or until `deadline`. */
  async settled(prefix: string, count: number, deadline: number): Promise<void> {
    for (; Date.now() < deadline; await sleep(3_000)) {
      await this.readSchedules().catch(() => undefined);
      // A busy machine's storage may answer one poll with an error: the next poll looks again.
      const seen = (await summaries(this.ledger).catch(() => [])).filter((j) => j.drop.startsWith(`${prefix}/`));
      if (seen.length >= count && seen.every((j) => isTerminal(j.state))) return;
    }
  }
}

/** CPU seconds each process used during the burst, and the burst's times. */
interface Measured {
  start: number;
  uploaded: number;
  elapsed: number;
  benchCpu: NodeJS.CpuUsage;
  storageCpu: number;
  hostsCpu: number[];
}

async function timeBurst(
  burst: Burst,
  storage: StorageProcess,
  hosts: ChildProcess[],
  ideal: number,
): Promise<Measured> {
  const keys = Array.from({ length: DROPS }, (_, i) => `scale/${i}`);
  const cpuBefore = {
    bench: process.cpuUsage(),
    storage: cpuSeconds(storage.pid),
    hosts: hosts.map((h) => cpuSeconds(h.pid!)),
  };
  const start = Date.now();
  await burst.upload(keys);
  const uploaded = Date.now();
  await burst.settled('scale', DROPS, start + Math.max(3 * ideal, ideal + 180_000));
  const benchCpu = process.cpuUsage(cpuBefore.bench);
  const storageCpu = cpuSeconds(storage.pid) - cpuBefore.storage;
  const hostsCpu = hosts.map((h, i) => cpuSeconds(h.pid!) - cpuBefore.hosts[i]!);
  return { start, uploaded, elapsed: (Date.now() - start) / 1000, benchCpu, storageCpu, hostsCpu };
}

/** The model's calls: all of them, the 200s, the 429s, and the jobs edited twice. */
function modelCalls(emulator: Emulator) {
  const calls = emulator.requests().filter((r) => r.path.endsWith('/images/edits'));
  const edits = calls.filter((c) => c.status === 200);
  const throttled = calls.filter((c) => c.status === 429).length;
  // A call's client request id is `<job id>-<attempt>` (shared/app/edit.ts).
  const editsOf = new Map<string, number>();
  for (const c of edits) {
    const job = c.clientRequestId?.replace(/-\d+$/, '') ?? '';
    editsOf.set(job, (editsOf.get(job) ?? 0) + 1);
  }
  const editedTwice = [...editsOf.values()].filter((n) => n > 1).length;
  return { calls, edits, throttled, editedTwice };
}

/** The slots the schedules gave: a time held by two jobs was given twice; the burst's spread against back to back. */
function slotUse(remembered: Map<string, number>, burstIds: Set<string>, rpm: number) {
  const reserved: { schedule: string; job: string; at: number }[] = [];
  const lastSlot = new Map<string, number>();
  for (const [key, at] of remembered) {
    const [schedule, reservation] = key.split(' ') as [string, string];
    const job = reservation.split(':')[0]!;
    reserved.push({ schedule, job, at });
    lastSlot.set(job, Math.max(at, lastSlot.get(job) ?? 0));
  }
  const jobsAt = new Map<string, Set<string>>();
  for (const r of reserved) {
    const slot = `${r.schedule} ${r.at}`;
    jobsAt.set(slot, (jobsAt.get(slot) ?? new Set()).add(r.job));
  }
  const givenTwice = [...jobsAt.values()].filter((s) => s.size > 1).length;
  const slots = reserved
    .filter((r) => burstIds.has(r.job))
    .map((r) => r.at)
    .sort((a, b) => a - b);
  const span = (slots.at(-1)! - slots[0]!) / ((slots.length - 1) * slotIntervalMs(rpm));
  return { reserved: reserved.length, lastSlot, givenTwice, span };
}

interface ScaleFigures {
  instances: number;
  rpm: number;
  ideal: number;
  measured: Measured;
  jobs: JobRecord[];
  calls: ReturnType<typeof modelCalls>;
  slots: ReturnType<typeof slotUse>;
  casLost: number;
}

function scaleRows({ instances, rpm, ideal, measured, jobs, calls, slots, casLost }: ScaleFigures): [string, string][] {
  const { start, uploaded, elapsed, benchCpu, storageCpu, hostsCpu } = measured;
  const { edits, throttled } = calls;
  const published = jobs.filter((j) => j.state === 'published');
  const at = (j: JobRecord, state: string) => Date.parse(j.history.find((h) => h.state === state)?.at ?? '');
  const done = Math.max(...published.map((j) => at(j, 'published')));
  // When each job's successful call reached the model (its request is recorded when it ends).
  const called = new Map(edits.map((c) => [c.clientRequestId?.replace(/-\d+$/, ''), Date.parse(c.at) - c.durationMs]));
  const late = published.flatMap((j) => (called.has(j.id) ? [called.get(j.id)! - slots.lastSlot.get(j.id)!] : []));
  const intake = jobs.map((j) => Date.parse(j.createdAt) - start).sort((x, y) => x - y);
  const failed = jobs.filter((j) => j.state === 'failed').length;
  const hostsTotal = hostsCpu.reduce((a, b) => a + b, 0);
  const cores = [storageCpu, (benchCpu.user + benchCpu.system) / 1e6, hostsTotal].map((c) => c / elapsed);
  return [
    ['drops (256x256, no sidecar), host processes, emulator and pipeline RPM', `${DROPS}, ${instances}, ${rpm}`],
    ['uploads took', ms(uploaded - start)],
    ['quota-bound ideal D/R', ms(ideal)],
    [
      'completion: first upload → last published',
      `${ms(done - start)} (${((done - start) / ideal).toFixed(2)} × ideal)`,
    ],
    [
      'intake: jobs created p50 / last, after the first upload',
      `${ms(percentile(intake, 50))} / ${ms(intake.at(-1)!)}`,
    ],
    [
      'published / failed / other or unfinished',
      `${published.length} / ${failed} / ${DROPS - published.length - failed}`,
    ],
    [
      'model calls: 200 / 429 (429 share)',
      `${edits.length} / ${throttled} (${percent(throttled, calls.calls.length)})`,
    ],
    ['jobs edited more than once (two 200s from the model)', String(calls.editedTwice)],
    ['slots given twice', String(slots.givenTwice)],
    ['slots: span / back to back', slots.span.toFixed(2)],
    ['schedule: lost compare-and-swaps per slot', (casLost / Math.max(1, slots.reserved)).toFixed(2)],
    ['call reached the model after its slot p50 / p95', `${ms(percentile(late, 50))} / ${ms(percentile(late, 95))}`],
    [
      `CPU: storage and Event Grid / emulator and uploads / ${instances} hosts`,
      `${cores.map((c) => c.toFixed(2)).join(' / ')} (${cores.reduce((a, b) => a + b, 0).toFixed(2)} of ${cpus().length} cores)`,
    ],
    // What sizing instances to a quota rests on: the pipeline's own CPU per drop, whatever the machine.
    ['host CPU per drop (all hosts)', `${((1000 * hostsTotal) / DROPS).toFixed(0)} ms`],
  ];
}

/** One burst through `instances` hosts with the emulator and IMAGE_MODEL_RPM at `rpm`: [label, value] rows. */
export async function pipelineScale(instances: number, rpm: number): Promise<[string, string][]> {
  const ports = await Promise.all(Array.from({ length: instances }, () => freePort()));
  const front = await roundRobin(ports.map((p) => `http://127.0.0.1:${p}`));
  // In its own process: the hosts' polling and the uploads do not wait behind the emulator's signing.
  const storage = await spawnStorage(front.url);
  const emulator = await startEmulator({
    caDir: path.join(mkdtempSync(path.join(tmpdir(), 'bench-ca-')), 'ca'),
    rpm,
    latency: { min: 500, max: 1_500 },
    apiKey: 'k',
  });
  const casLost = { pacer: 0 };
  // Between the hosts and storage, to count the schedule's lost compare-and-swaps.
  const counter = await startObservingProxy({
    target: new URL(storage.blobEndpoint).origin,
    onCompleted: (req, res) => {
      const lost = res.statusCode === 412 || res.statusCode === 409;
      if (lost && req.method === 'PUT' && /\/jobs\/pacer\//.test(req.url ?? '')) casLost.pacer++;
    },
  });
  const hosts: ChildProcess[] = [];
  try {
    const clients = await createStorageClients({
      kind: 'connectionString',
      connectionString: storage.connectionString,
    });
    await ensureStorageLayout(clients);
    await spawnHosts(hosts, ports, hostSettings(storage, counter.port, emulator, rpm), rpm);
    const burst = new Burst(clients, await pair(256));
    // Warm-up: each host loads the function modules, c2pa-rs and its connections once (a Flex instance
    // that has served a while); three drops per host, since Event Grid's turn and the queue's do not line up.
    await burst.upload(Array.from({ length: 3 * instances }, (_, i) => `warm/${i}`));
    await burst.settled('warm', 3 * instances, Date.now() + 180_000);
    emulator.clearRequests();
    const ideal = (DROPS / rpm) * 60_000;
    const measured = await timeBurst(burst, storage, hosts, ideal);
    const ids = (await summaries(burst.ledger)).filter((j) => j.drop.startsWith('scale/')).map((j) => j.id);
    const jobs = (await Promise.all(ids.map((id) => burst.ledger.get(id)))).flatMap((v) => (v ? [v.value] : []));
    const calls = modelCalls(emulator);
    await burst.readSchedules();
    const slots = slotUse(burst.remembered, new Set(ids), rpm);
    return scaleRows({ instances, rpm, ideal, measured, jobs, calls, slots, casLost: casLost.pacer });
  } finally {
    for (const h of hosts) h.kill('SIGKILL');
    await front.close();
    await counter.close();
    await emulator.close();
    await storage.close();
  }
}
