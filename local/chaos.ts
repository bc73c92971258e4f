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
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { loadGateConfig } from '../shared/core/config.js';
import { CONTAINERS } from '../shared/core/containers.js';
import { createStorageClients, ensureStorageLayout, type StorageClients } from '../shared/adapters/azure/storage.js';
import { Ledger } from '../shared/app/ledger.js';
import { containerRecords } from '../shared/adapters/azure/blob-records.js';
import { isTerminal, type JobRecord } from '../shared/core/job.js';
import { JOB_ERROR } from '../shared/core/job-errors.js';
import { createVerifier } from '../shared/adapters/c2pa/verifier.js';
import { intOption, parse } from './cli.js';
import type { FaultRates } from './emulator/faults.js';
import { startEmulator, type RequestRecord } from './emulator/server.js';
import { startLocalStorage, subscriptionsFor } from './environment.js';
import { freePort, spawnHost } from './host/child.js';
import { startEmulatorPool, type EmulatedRegion } from './pool.js';
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

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const random = prng(options.seed ?? 20261121);
  const kills = options.kills ?? 2;
  const started = Date.now();
  // In memory: on disk, under load, a drop's parts can arrive further apart than DROP_SETTLE, and a late
  // sidecar is then (by the drop contract) a new job. The persisted path has its own tests and bench (b).
  const storage = await startLocalStorage({
    delivery: { duplicates: 1, jitterMs: 400, maxAttempts: 8, initialRetryMs: 300, maxRetryMs: 3_000 },
  });
  const apiKey = 'chaos-local-key';
  const faults = options.faults ?? DEFAULT_FAULTS;
  const emulatorOptions = {
    latency: { min: 50, max: 400 },
    faults,
    ...(options.caDir ? { caDir: options.caDir } : {}),
  };
  const pool = options.pool ? await startEmulatorPool(POOL_REGIONS, emulatorOptions) : undefined;
  const emulator = pool ? undefined : await startEmulator({ apiKey, rpm: 120, ...emulatorOptions });
  const emulators = pool ? [...pool.emulators.values()] : [emulator!];
  const clients = await createStorageClients({ kind: 'connectionString', connectionString: storage.connectionString });
  await ensureStorageLayout(clients);
  const ledger = new Ledger(containerRecords(clients.container(CONTAINERS.jobs)));
  // Event Grid delivers to the first host; every host works the edit queue, like Flex instances.
  const ports = await Promise.all(Array.from({ length: pool ? 2 : 1 }, () => freePort()));
  const hostUrl = `http://127.0.0.1:${ports[0]}`;
  storage.eventGrid.setSubscriptions(subscriptionsFor(hostUrl));
  const logDir = mkdtempSync(path.join(tmpdir(), 'imagegen-chaos-'));
  const hostLogPath = path.join(logDir, 'host.log');
  const hostLog = createWriteStream(hostLogPath);
  const env = {
    ...process.env,
    AzureWebJobsStorage: storage.connectionString,
    ...(pool
      ? pool.settings
      : {
          AZURE_OPENAI_ENDPOINT: emulator!.url,
          AZURE_OPENAI_API_KEY: apiKey,
          EXTRA_TRUST_ANCHORS: emulator!.caPem,
          // Told more than the emulator allows (120), so it meets 429s at the quota.
          IMAGE_MODEL_RPM: '150',
        }),
    IMAGE_MODEL_TIMEOUT: '4s',
    IMAGE_MODEL_MAX_ATTEMPTS: '8',
    SWEEP_SCHEDULE: '*/3 * * * * *',
    DROP_SETTLE: '1s',
  };

  const hosts: (ChildProcess | undefined)[] = ports.map(() => undefined);
  const startHost = async (i: number) => {
    hosts[i] = await spawnHost({
      port: ports[i]!,
      env,
      args: ['--queue-lease-seconds', '5', '--verbose'],
      output: hostLog,
    }).catch((err: Error) => {
      throw new Error(`${err.message}; see ${hostLogPath}`);
    });
  };
  const stopHost = async (i: number, signal: NodeJS.Signals) => {
    const host = hosts[i]!;
    host.kill(signal);
    if (host.exitCode === null && host.signalCode === null) await new Promise((r) => host.once('exit', r));
  };
  let outage: Promise<void> = Promise.resolve();

  try {
    await Promise.all(ports.map((_, i) => startHost(i)));
    const models = pool
      ? `a pool of ${POOL_REGIONS.map((r) => `${r.region} ${r.rpm} RPM`).join(', ')} with ${OUTAGE.region} down for ${OUTAGE.ms / 1000} s, ${ports.length} hosts`
      : 'emulator 120 RPM vs pipeline 150 RPM';
    log(
      `chaos: ${options.drops} drops, ${kills} host kill(s), duplicates ×2, shuffled delivery, faults ${JSON.stringify(faults)}, ${models}`,
    );

    // The drops: a small image and its mask, most with a sidecar, parts uploaded in a random order.
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
    const dropKeys: string[] = [];
    const uploads: { name: string; bytes: Buffer }[][] = [];
    for (let i = 0; i < options.drops; i++) {
      const key = `chaos/${String(i).padStart(4, '0')}`;
      dropKeys.push(key);
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
    const inbox = clients.container(CONTAINERS.inbox);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < uploads.length) {
          for (const part of uploads[next++]!) await inbox.getBlockBlobClient(part.name).uploadData(part.bytes);
        }
      }),
    );
    log(`chaos: uploaded ${dropKeys.length} drops in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // Kill the host with SIGKILL once a fraction of the work is done, then bring it back.
    const deadline = Date.now() + (options.timeoutMs ?? Math.max(180_000, options.drops * 3_000));
    let killed = 0;
    let settled = false;
    let outageStarted = false;
    while (Date.now() < deadline) {
      const jobs = await listJobs(ledger);
      const terminalDrops = new Set(jobs.filter((j) => isTerminal(j.state)).map((j) => j.drop.key));
      const active = (await names(clients, CONTAINERS.jobs, 'active/')).length;
      const pending = (await names(clients, CONTAINERS.jobs, 'pending/')).length;
      if (pool && !outageStarted && terminalDrops.size >= options.drops / 4) {
        outageStarted = true;
        const down = pool.emulators.get(OUTAGE.region)!;
        log(
          `chaos: ${OUTAGE.region} fails every call for ${OUTAGE.ms / 1000} s (${terminalDrops.size}/${options.drops} drops settled)`,
        );
        down.setFaults({ http500: 0.5, http503: 0.5 });
        outage = sleep(OUTAGE.ms).then(() => {
          down.setFaults(faults);
          log(`chaos: ${OUTAGE.region} is back`);
        });
      }
      if (killed < kills && terminalDrops.size >= ((killed + 1) * options.drops) / (kills + 1)) {
        // With several hosts, the one killed is a queue worker mid-call, not always the event receiver.
        const victim = hosts.length - 1 - (killed % hosts.length);
        killed++;
        await stopHost(victim, 'SIGKILL');
        log(
          `chaos: SIGKILL host ${victim + 1} of ${hosts.length} (${terminalDrops.size}/${options.drops} drops settled, ${active} jobs in flight); restarting in 1 s`,
        );
        await sleep(1_000);
        await startHost(victim);
        continue;
      }
      if (
        terminalDrops.size >= options.drops &&
        active === 0 &&
        pending === 0 &&
        storage.eventGrid.stats().pending === 0
      ) {
        settled = true;
        break;
      }
      await sleep(500);
    }
    await outage;
    await Promise.all(hosts.map((_, i) => stopHost(i, 'SIGTERM')));

    const jobs = await listJobs(ledger);
    const calls = emulators.flatMap((e) => e.requests().filter((r) => r.path.includes('/images/')));
    const invariants: Invariant[] = [];
    const check = (name: string, failures: string[], ok: string) =>
      invariants.push({
        name,
        ok: failures.length === 0,
        detail: failures.length
          ? failures.slice(0, 5).join('; ') + (failures.length > 5 ? ` (+${failures.length - 5} more)` : '')
          : ok,
      });

    check(
      'the run settled before the deadline',
      settled ? [] : ['timed out with work in flight'],
      `in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    const byDrop = new Map<string, JobRecord[]>();
    for (const j of jobs) byDrop.set(j.drop.key, [...(byDrop.get(j.drop.key) ?? []), j]);
    check(
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
    const publishedNames = (await names(clients, CONTAINERS.published)).filter((n) => !n.endsWith('.provenance.json'));
    check(
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
    const callsFor = (job: JobRecord) =>
      calls.filter((c: RequestRecord) => c.clientRequestId?.startsWith(`${job.id}-`)).length;
    // Like a 429, Azure's blocked-resource 403 sends the job on without spending an attempt.
    const blockedFor = (job: JobRecord) =>
      job.history.filter((h) => h.error?.code === JOB_ERROR.resourceBlocked).length;
    check(
      'model calls per job ≤ 1 + its recorded retries',
      jobs
        .filter((j) => callsFor(j) > 1 + Math.max(0, j.attempts - 1) + j.throttled + blockedFor(j))
        .map(
          (j) =>
            `${j.drop.key}: ${callsFor(j)} calls, ${j.attempts} attempts, ${j.throttled} throttled, ${blockedFor(j)} blocked`,
        ),
      `${calls.length} calls for ${jobs.length} jobs`,
    );
    if (pool) {
      const members = new Set(POOL_REGIONS.map((r) => `${r.region}-${DEFAULT_IMAGE_MODEL}`));
      check(
        'the ledger names the pool deployment of every edit',
        jobs
          .filter((j) => j.edit?.output && !members.has(j.edit.deployment ?? ''))
          .map((j) => `${j.drop.key}: edited by ${j.edit!.deployment ?? 'no deployment recorded'}`),
        `${jobs.filter((j) => j.edit?.output).length} edits, each with its deployment`,
      );
    }
    const verifier = await createVerifier(loadGateConfig({}), undefined, {
      extraPems: [...new Set(emulators.map((e) => e.caPem))],
    });
    const regated: string[] = [];
    for (const n of publishedNames) {
      const report = await verifier.verify(
        await clients.container(CONTAINERS.published).getBlobClient(n).downloadToBuffer(),
        { file: n },
      );
      if (report.verdict !== 'publish') regated.push(`published/${n}: ${report.reasons.join('; ')}`);
    }
    check('every file in published/ passes the gate again', regated, `${publishedNames.length} files re-verified`);
    const edited = await names(clients, CONTAINERS.edited);
    const judged = new Set([...publishedNames, ...(await names(clients, CONTAINERS.quarantine))]);
    const leftovers = [
      ...edited.filter((n) => !judged.has(n)).map((n) => `edited/${n} was never judged`),
      ...(await names(clients, CONTAINERS.jobs, 'active/')).map((n) => `jobs/${n} still marks a job in flight`),
      ...(await names(clients, CONTAINERS.jobs, 'pending/')).map((n) => `jobs/${n} still waits for a part`),
      ...(await names(clients, CONTAINERS.deadLetter)).map((n) => `${CONTAINERS.deadLetter}/${n} was never replayed`),
    ];
    check(
      'no blob left behind outside the terminal containers',
      leftovers,
      `${edited.length} edited files all judged; no markers or dead letters left`,
    );

    const states: Record<string, number> = {};
    for (const j of jobs) states[j.state] = (states[j.state] ?? 0) + 1;
    const outcomes: Record<string, number> = {};
    for (const c of calls) outcomes[c.outcome] = (outcomes[c.outcome] ?? 0) + 1;
    const throttled = calls.filter((c) => c.status === 429).length;
    const eg = storage.eventGrid.stats();
    const publishedBy: Record<string, number> = {};
    for (const j of jobs) if (j.publish?.by) publishedBy[j.publish.by] = (publishedBy[j.publish.by] ?? 0) + 1;
    const figures = {
      drops: options.drops,
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
      ...(pool
        ? {
            'edits by deployment': JSON.stringify(
              Object.fromEntries(
                POOL_REGIONS.map((r) => [
                  r.region,
                  jobs.filter((j) => j.edit?.output && j.edit.deployment === `${r.region}-${DEFAULT_IMAGE_MODEL}`)
                    .length,
                ]),
              ),
            ),
          }
        : {}),
      'host kills': killed,
      'total time': `${((Date.now() - started) / 1000).toFixed(1)} s`,
    };
    for (const inv of invariants) log(`${inv.ok ? '✓' : '✗'} ${inv.name}: ${inv.detail}`);
    for (const [k, v] of Object.entries(figures)) log(`  ${k}: ${v}`);
    const ok = invariants.every((i) => i.ok);
    if (!ok) log(`host log: ${hostLogPath}`);
    return { ok, invariants, figures, hostLog: hostLogPath };
  } finally {
    for (const host of hosts) if (host && host.exitCode === null) host.kill('SIGKILL');
    hostLog.end();
    await emulator?.close();
    await pool?.close();
    await storage.close();
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
