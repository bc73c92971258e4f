/**
 * (h-upgrade) Issue #24's "Done when": a persisted state with 20,000 older jobs (BENCH_H_UPGRADE_JOBS), as the
 * build before the index wrote them (one record blob per job, no index: a `Ledger` without index, through
 * Azurite's services, 32 at a time), restarted with this build as `npm start` starts it (Azurite persisted in
 * that folder, the emulator, the host; the index is built by the real background walk while the host serves).
 * Measured: how soon the host answers, the console's overview polled every 250 ms while the walk runs and
 * after, how long the walk takes, and whether real drops (through the inbox, published by the pipeline)
 * dropped during the walk and after it head `/api/jobs` and the overview, with counts exact. The setup's
 * writing is timed apart; it is not the measured figure. BENCH_H_UPGRADE_STATE=<folder>: the older state is
 * written there once and kept; later runs start on a copy of it.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalPipeline, type LocalPipeline } from '../local/environment.js';
import type { LogEntry } from '../local/host/host.js';
import { startAzurite } from '../local/storage/azurite.js';
import { containerRecords } from '../shared/adapters/azure/blob-records.js';
import { directClients } from './direct-storage.js';
import { Ledger } from '../shared/app/ledger.js';
import { CONTAINERS } from '../shared/core/containers.js';
import { isTerminal, newJob, type JobRecord, type JobState } from '../shared/core/job.js';
import { STATE_LINE } from '../shared/core/log.js';
import { pair } from './drop-files.js';
import { ms, percentile, table, type Section } from './measure.js';
import { BENCH_REQUEST } from './job-request.js';

const JOBS = Number(process.env.BENCH_H_UPGRADE_JOBS ?? 20_000);
const KEEP = process.env.BENCH_H_UPGRADE_STATE;
/**
 * BENCH_H_UPGRADE_SWEEP=1: timers on with `npm start`'s sweep every 15 s, as `npm start` runs (the sweep leaves the
 * upgrade to the background walker while it walks); off by default: the background walk alone, as the integration
 * test.
 */
const SWEEP = process.env.BENCH_H_UPGRADE_SWEEP === '1';
const WRITES_AT_ONCE = 32;
const POLL_MS = 250;
const DROPS_DURING = 3;
const DROPS_AFTER = 3;
/** Overview answers polled once the walk is done. */
const POLLS_AFTER = 40;
const TARGET_MS = 1000;
/** Older jobs finished long ago, as a state left by the previous build mostly holds: none in flight. */
const STATE_OF = (n: number): JobState =>
  (['published', 'published', 'published', 'published', 'published', 'published', 'quarantined', 'rejected'] as const)[
    n % 10
  ] ?? 'failed';

/** Older job `n`: a minute apart, ending `t0`, job 0 the newest; ids in random order, as real ones. */
function olderJob(n: number, t0: number): JobRecord {
  const createdAt = new Date(t0 - (n + 1) * 60_000);
  const id = createHash('sha256').update(`older job ${n}`).digest('hex').slice(0, 32);
  const job = newJob(
    id,
    { path: `team-${n % 7}`, stem: `photo-${n}` },
    {},
    { state: 'queued', request: BENCH_REQUEST },
    createdAt,
  );
  const state = STATE_OF(n);
  const at = new Date(createdAt.getTime() + 90_000).toISOString();
  return { ...job, state, updatedAt: at, history: [...job.history, { at, state, attempt: 1 }] };
}

interface Older {
  /** A fresh folder: the state in `azurite/`, the emulator's and the publisher's CAs beside it. */
  base: string;
  location: string;
  t0: number;
  notes: string[];
}

/** Writes the older jobs into a persisted Azurite at `location` as the build before the index did. */
async function writeOlder(location: string, t0: number): Promise<string[]> {
  const azurite = await startAzurite({ location });
  const notes: string[] = [];
  try {
    const { clients } = await directClients(azurite);
    const old = new Ledger(containerRecords(clients.container(CONTAINERS.jobs))); // no index
    const started = performance.now();
    let next = 0;
    let lap = started;
    const writer = async () => {
      for (let n = next++; n < JOBS; n = next++) {
        await old.create(olderJob(n, t0));
        if ((n + 1) % 2000 === 0) {
          const now = performance.now();
          const line = `${n + 1} written after ${ms(now - started)} (last 2,000 at ${((2000 / (now - lap)) * 1000).toFixed(0)} jobs/s)`;
          console.log(`  ${line}`);
          notes.push(line);
          lap = now;
        }
      }
    };
    await Promise.all(Array.from({ length: WRITES_AT_ONCE }, writer));
    notes.push(`${JOBS} older jobs written in ${ms(performance.now() - started)} (setup)`);
  } finally {
    await azurite.close();
  }
  return notes;
}

/** The older state: written now, or (BENCH_H_UPGRADE_STATE) the kept one, copied so it stays as written. */
async function olderState(): Promise<Older> {
  const base = mkdtempSync(path.join(tmpdir(), 'bench-h-upgrade-'));
  const fresh = path.join(base, 'azurite');
  if (!KEEP) {
    const t0 = Date.now() - 86_400_000;
    return { base, location: fresh, t0, notes: await writeOlder(fresh, t0) };
  }
  const marker = path.join(KEEP, 'older.json');
  const kept = existsSync(marker) ? (JSON.parse(readFileSync(marker, 'utf8')) as { jobs: number; t0: number }) : null;
  let notes = [`${JOBS} older jobs kept in ${KEEP} (written by an earlier run; setup not timed here)`];
  let t0 = kept?.t0 ?? Date.now() - 86_400_000;
  if (kept?.jobs !== JOBS) {
    rmSync(KEEP, { recursive: true, force: true });
    t0 = Date.now() - 86_400_000;
    notes = await writeOlder(path.join(KEEP, 'azurite'), t0);
    writeFileSync(marker, JSON.stringify({ jobs: JOBS, t0 }));
  }
  const copied = performance.now();
  cpSync(path.join(KEEP, 'azurite'), fresh, { recursive: true });
  notes.push(`copied to ${fresh} in ${ms(performance.now() - copied)}`);
  return { base, location: fresh, t0, notes };
}

/** Terminal states as the host logs them (polling the ledger would load the Azurite being measured). */
function terminalWatcher() {
  const ended = new Map<string, { id: string; state: JobState }>();
  const waiters = new Map<string, () => void>();
  /** The host's errors and the walk's warnings, as logged (the first 30). */
  const errors: string[] = [];
  return {
    ended,
    errors,
    onLog(entry: LogEntry) {
      const said = entry.level === 'error' || (entry.level === 'warning' && entry.functionName === 'jobs-index');
      if (said && errors.length < 30) errors.push(`${entry.level} ${entry.functionName}: ${entry.message}`);
      const m = STATE_LINE.exec(entry.message);
      if (m && isTerminal(m[4] as JobState)) {
        ended.set(m[2]!, { id: m[1]!, state: m[4] as JobState });
        waiters.get(m[2]!)?.();
      }
    },
    settled: (drop: string) =>
      Promise.race([new Promise<void>((resolve) => waiters.set(drop, resolve)), sleep(300_000, undefined)]),
  };
}

type Listed = { id: string; state: JobState; updatedAt: string };
type Listing = { jobs: Listed[]; continuationToken?: string; indexing?: unknown };
type Overview = { jobs: Listed[]; counts: Partial<Record<JobState, number>>; indexing: unknown };

async function timedJson<T>(url: string): Promise<{ ms: number; body: T }> {
  const t = performance.now();
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as T;
  return { ms: performance.now() - t, body };
}

/**
 * The overview every POLL_MS until stopped; each answer marked by whether it said the walk was running, and
 * when (since `start`) it first showed each 5,000 walked.
 */
function startPoller(url: string, start: number) {
  const failed: string[] = [];
  const during: number[] = [];
  const after: number[] = [];
  const marks = new Map<number, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t = performance.now();
      const o = await timedJson<Overview>(url).catch((err: unknown) => {
        failed.push(`${ms(t - start)} after the start, in ${ms(performance.now() - t)}: ${(err as Error).message}`);
        console.log(`  ! overview: ${failed.at(-1)}`);
        return undefined;
      });
      if (o) (o.body.indexing ? during : after).push(o.ms);
      const walked = (o?.body.indexing as { indexed?: number } | null | undefined)?.indexed ?? 0;
      for (let k = 5000; k <= walked; k += 5000) if (!marks.has(k)) marks.set(k, performance.now() - start);
      await sleep(Math.max(0, POLL_MS - (performance.now() - t)));
    }
  })();
  return {
    during,
    after,
    marks,
    failed,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/** Drops `key` into the inbox (sidecar, photo, mask, as the drop folder uploads them) and waits for its end. */
async function dropOne(p: LocalPipeline, watch: ReturnType<typeof terminalWatcher>, key: string, files: Files) {
  const settled = watch.settled(key);
  const t = performance.now();
  const inbox = p.runtime.containers.inbox;
  await inbox.getBlockBlobClient(`${key}.json`).uploadData(Buffer.from(JSON.stringify({ prompt: key })));
  await inbox.getBlockBlobClient(`${key}.png`).uploadData(files.image);
  await inbox.getBlockBlobClient(`${key}.mask.png`).uploadData(files.mask);
  await settled;
  const ended = watch.ended.get(key);
  if (!ended) throw new Error(`${key}: no end in 5 minutes`);
  return { ...ended, ms: performance.now() - t };
}
type Files = { image: Buffer; mask: Buffer };

/** Whether the newest `ids` (newest last) head both `/api/jobs` and the overview's list, in that order. */
async function headCheck(url: string, ids: string[]) {
  return checkHeads(url, ids).catch((err: unknown) => ({
    api: false,
    overview: false,
    indexing: true,
    error: (err as Error).message,
  }));
}

async function checkHeads(url: string, ids: string[]) {
  const want = [...ids].reverse();
  const listed = await timedJson<Listing>(`${url}/api/jobs?limit=20`);
  const o = await timedJson<Overview>(`${url}/api/console/api/overview`);
  const heads = (rows: Listed[]) => want.every((id, i) => rows[i]?.id === id);
  return {
    api: heads(listed.body.jobs),
    overview: heads(o.body.jobs),
    indexing: Boolean(listed.body.indexing),
    error: undefined as string | undefined,
  };
}

/** Every page of `/api/jobs`: how many, none twice, newest change first. */
async function fullListing(url: string) {
  const seen: Listed[] = [];
  let token: string | undefined;
  const t = performance.now();
  do {
    const q = token ? `&continuationToken=${encodeURIComponent(token)}` : '';
    const page = await timedJson<Listing>(`${url}/api/jobs?limit=500${q}`);
    seen.push(...page.body.jobs);
    token = page.body.continuationToken;
  } while (token);
  const ordered = seen.every((j, i) => i === 0 || seen[i - 1]!.updatedAt >= j.updatedAt);
  return { count: seen.length, unique: new Set(seen.map((j) => j.id)).size, ordered, ms: performance.now() - t };
}

const yes = (ok: boolean) => (ok ? 'yes' : 'NO');
const row = (label: string, times: number[], verdict = true) => [
  label,
  String(times.length),
  ms(percentile(times, 50)),
  ms(percentile(times, 95)),
  ms(Math.max(...times)),
  !verdict ? '-' : times.length ? yes(Math.max(...times) <= TARGET_MS) : 'n/a',
];

interface Run {
  serving: number;
  walk: number | undefined;
  during: number[];
  after: number[];
  dropTimes: { during: number[]; after: number[] };
  heads: { when: string; api: boolean; overview: boolean; indexing: boolean; error: string | undefined }[];
  failed: string[];
  errors: string[];
  counts: { got: Overview['counts']; want: Overview['counts'] };
  full: Awaited<ReturnType<typeof fullListing>>;
  load: string[];
  marks: Map<number, number>;
  /** The walk's row in the index at the end. */
  row: string;
}

/** Starts this build on the older state as `npm start` does, and measures while the walk runs and after. */
async function measure(older: Older, watch: ReturnType<typeof terminalWatcher>, files: Files): Promise<Run> {
  const load = [loadavg()[0]!.toFixed(2)];
  const start = performance.now();
  const p = await startLocalPipeline({
    storage: { azurite: { location: older.location } },
    emulator: { caDir: path.join(older.base, 'emulator-ca'), rpm: 1e6 },
    publisher: path.join(older.base, 'publisher-ca'),
    settings: { IMAGE_MODEL_RPM: '100000', ...(SWEEP ? { SWEEP_SCHEDULE: '*/15 * * * * *' } : {}) },
    timers: SWEEP,
    outcomeTopic: false,
    onLog: watch.onLog,
  });
  try {
    let walk: number | undefined;
    void p.indexUpgrade.finished.then(() => (walk = performance.now() - start));
    const url = p.host.url;
    await timedJson<Overview>(`${url}/api/console/api/overview`);
    const serving = performance.now() - start;
    console.log(`  serving after ${ms(serving)}`);
    const poller = startPoller(`${url}/api/console/api/overview`, start);
    const run = await dropsAndChecks(p, watch, files, () => walk);
    await poller.stop();
    const wantCounts = olderCounts();
    for (const d of run.drops) wantCounts[d.state] = (wantCounts[d.state] ?? 0) + 1;
    const o = await timedJson<Overview>(`${url}/api/console/api/overview`);
    const full = await fullListing(url);
    const walkRow = (await p.runtime.ledger.index!.readMeta('upgrade'))?.value;
    return {
      serving,
      walk,
      during: poller.during,
      after: poller.after,
      marks: poller.marks,
      failed: poller.failed,
      errors: watch.errors,
      dropTimes: run.dropTimes,
      heads: run.heads,
      counts: { got: o.body.counts, want: wantCounts },
      full,
      load: [...load, loadavg()[0]!.toFixed(2)],
      row: JSON.stringify(walkRow ?? null),
    };
  } finally {
    await p.close();
  }
}

function olderCounts(): Overview['counts'] {
  const counts: Overview['counts'] = {};
  for (let n = 0; n < JOBS; n++) counts[STATE_OF(n)] = (counts[STATE_OF(n)] ?? 0) + 1;
  return counts;
}

/** Drops during the walk (one at a time, checking the heads after each), waits for the walk, polls, drops again. */
async function dropsAndChecks(
  p: LocalPipeline,
  watch: ReturnType<typeof terminalWatcher>,
  files: Files,
  walkTime: () => number | undefined,
) {
  const url = p.host.url;
  const drops: { id: string; state: JobState }[] = [];
  const heads: Run['heads'] = [];
  const dropTimes = { during: [] as number[], after: [] as number[] };
  for (let i = 1; i <= DROPS_DURING; i++) {
    const d = await dropOne(p, watch, `upgrade/during-${i}`, files);
    drops.push(d);
    dropTimes.during.push(d.ms);
    const h = await headCheck(
      url,
      drops.map((x) => x.id),
    );
    heads.push({ when: `after during-${i}`, ...h });
    console.log(
      `  during-${i} ${d.state} in ${ms(d.ms)}; heads /api/jobs ${h.api}, overview ${h.overview}, walk running ${h.indexing}`,
    );
  }
  await p.indexUpgrade.finished;
  console.log(`  walk done after ${ms(walkTime() ?? NaN)}`);
  await sleep(POLLS_AFTER * POLL_MS);
  for (let i = 1; i <= DROPS_AFTER; i++) {
    const d = await dropOne(p, watch, `upgrade/after-${i}`, files);
    drops.push(d);
    dropTimes.after.push(d.ms);
  }
  const h = await headCheck(
    url,
    drops.map((x) => x.id),
  );
  heads.push({ when: 'after the walk, all drops', ...h });
  return { drops, heads, dropTimes };
}

function report(older: Older, r: Run): string {
  const rows = [
    ['case', 'answers', 'p50', 'p95', 'max', `≤ ${ms(TARGET_MS)}`],
    row('overview while the walk runs (every 250 ms)', r.during),
    row('overview after the walk', r.after),
    row('drop → terminal, dropped during the walk (1st: warm-up)', r.dropTimes.during, false),
    row('drop → terminal, dropped after the walk', r.dropTimes.after, false),
  ];
  const headsOk = r.heads.every((h) => h.api && h.overview);
  const countsOk =
    JSON.stringify(Object.entries(r.counts.got).sort()) === JSON.stringify(Object.entries(r.counts.want).sort());
  const total = JOBS + DROPS_DURING + DROPS_AFTER;
  const fullOk = r.full.count === total && r.full.unique === total && r.full.ordered;
  const duringMax = Math.max(...r.during);
  return [
    ...older.notes.map((n) => `  ${n}`),
    table(rows),
    `  load average ${r.load.join(' → ')} (1 min, at the start and the end of the measured part)`,
    `  serving after ${ms(r.serving)}`,
    `  walked (the overview's \`indexing\`): ${[...r.marks].map(([k, t]) => `${k.toLocaleString('en')} at ${ms(t)}`).join(', ')}`,
    `  walk done after ${ms(r.walk ?? NaN)} (${r.walk ? ((JOBS / r.walk) * 1000).toFixed(0) : '?'} jobs/s)`,
    ...r.heads.map(
      (h) =>
        `  ${h.when}: heads /api/jobs ${yes(h.api)}, the overview ${yes(h.overview)} (walk running: ${h.indexing})${h.error ? `: ${h.error}` : ''}`,
    ),
    `  new drops head /api/jobs: ${yes(headsOk)}`,
    `  the walk's row at the end: ${r.row}`,
    `  counts exact: ${yes(countsOk)} (overview ${JSON.stringify(r.counts.got)}, written ${JSON.stringify(r.counts.want)})`,
    `  /api/jobs paged through: ${r.full.count} jobs (${total} expected), ${r.full.unique} distinct, newest first ${yes(r.full.ordered)}, in ${ms(r.full.ms)}: ${yes(fullOk)}`,
    `  overview requests that failed: ${r.failed.length}`,
    ...r.failed.map((f) => `    ${f}`),
    `  the host's errors and the walk's warnings: ${r.errors.length}`,
    ...r.errors.map((e) => `    ${e}`),
    `  overview ≤ 1 s during the walk: ${yes(r.during.length > 0 && r.failed.length === 0 && duringMax <= TARGET_MS)} (p95 ${ms(percentile(r.during, 95))}, max ${ms(duringMax)}, ${r.during.length} answers)`,
  ].join('\n');
}

export const indexUpgradeSection: Section = {
  id: 'h-upgrade',
  title: `(h-upgrade) a state persisted before the jobs index, ${JOBS.toLocaleString('en')} older jobs, restarted with this build${SWEEP ? ", npm start's sweep every 15 s beside" : ' (timers off)'}: the background walk, the overview meanwhile, new drops, counts`,
  async run() {
    const older = await olderState();
    const files = await pair(1024);
    const watch = terminalWatcher();
    try {
      return report(older, await measure(older, watch, files));
    } finally {
      rmSync(older.base, { recursive: true, force: true });
    }
  },
};
