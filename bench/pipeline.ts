/**
 * (a) burst goodput against a quota, paced and unpaced; (b) pipeline overhead drop → published, by stage.
 * Both run the whole local runtime: Azurite, Event Grid, the emulator and the Functions host.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { startLocalPipeline, type LocalPipeline, type Settings } from '../local/environment.js';
import type { EmulatorOptions } from '../local/emulator/server.js';
import type { LogEntry } from '../local/host/host.js';
import { isTerminal, type JobRecord } from '../shared/job.js';
import { STATE_LINE } from '../shared/log.js';
import { ms, percentile, table, type Section } from './measure.js';

const caDir = () => path.join(mkdtempSync(path.join(tmpdir(), 'bench-ca-')), 'ca');

export async function pair(size: number): Promise<{ image: Buffer; mask: Buffer }> {
  // Noise compresses like a photo does (not at all), so the files have realistic sizes.
  const raw = randomBytes(size * size * 3);
  const maskRaw = Buffer.alloc(size * size * 4, 255);
  for (let i = 3; i < maskRaw.length / 3; i += 4) maskRaw[i] = 0;
  return {
    image: await sharp(raw, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer(),
    mask: await sharp(maskRaw, { raw: { width: size, height: size, channels: 4 } }).png().toBuffer(),
  };
}

/** `persisted`: Azurite on disk in a fresh folder, as `npm start` runs it; otherwise in memory. */
async function withPipeline<T>(
  emulator: EmulatorOptions,
  settings: Settings,
  work: (p: LocalPipeline) => Promise<T>,
  onLog?: (entry: LogEntry) => void,
  persisted = false,
): Promise<T> {
  const azurite = persisted ? { location: mkdtempSync(path.join(tmpdir(), 'bench-azurite-')) } : {};
  const p = await startLocalPipeline({ storage: { azurite }, emulator: { caDir: caDir(), ...emulator }, settings, timers: false, ...(onLog ? { onLog } : {}) });
  try {
    return await work(p);
  } finally {
    await p.close();
  }
}

/**
 * Terminal states as the host logs them, with when they happened: polling the ledger instead would load
 * the same Azurite the pipeline is being measured on.
 */
export function terminalWatcher() {
  const ended = new Map<string, { id: string; at: number }>();
  const waiters = new Map<string, () => void>();
  return {
    ended,
    onLog(entry: LogEntry) {
      const m = STATE_LINE.exec(entry.message);
      if (m && isTerminal(m[4] as JobRecord['state'])) {
        ended.set(m[2]!, { id: m[1]!, at: Date.now() });
        waiters.get(m[2]!)?.();
      }
    },
    /** Resolves when `drop` reaches a terminal state (or after five minutes). */
    settled(drop: string): Promise<unknown> {
      return Promise.race([new Promise<void>((resolve) => waiters.set(drop, resolve)), sleep(300_000, undefined, { ref: false })]);
    },
  };
}

async function drop(p: LocalPipeline, key: string, files: { image: Buffer; mask: Buffer }): Promise<number> {
  const inbox = p.runtime.containers.inbox;
  await inbox.getBlockBlobClient(`${key}.json`).uploadData(Buffer.from(JSON.stringify({ prompt: key })));
  await inbox.getBlockBlobClient(`${key}.png`).uploadData(files.image);
  await inbox.getBlockBlobClient(`${key}.mask.png`).uploadData(files.mask);
  return Date.now();
}

export const burstSection: Section = {
  id: 'a',
  title: '(a) burst goodput: D drops against an emulator limited to R requests/minute with latency L',
  async run() {
    const D = 90;
    const R = 120;
    const files = await pair(256);
    const run = async (pipelineRpm: number) => {
      const watch = terminalWatcher();
      return withPipeline(
        { rpm: R, latency: { min: 500, max: 1500 } },
        { IMAGE_MODEL_RPM: String(pipelineRpm), IMAGE_MODEL_CONCURRENCY: '64' },
        async (p) => {
          const keys = Array.from({ length: D }, (_, i) => `burst/${i}`);
          const settled = Promise.all(keys.map((k) => watch.settled(k)));
          const start = Date.now();
          await Promise.all(keys.map((k) => drop(p, k, files)));
          await settled;
          const done = Math.max(...keys.map((k) => watch.ended.get(k)?.at ?? Infinity));
          const jobs = await Promise.all(keys.map(async (k) => (await p.runtime.ledger.get(watch.ended.get(k)?.id ?? ''))?.value));
          const calls = p.emulator!.requests().filter((r) => r.path.endsWith('/images/edits'));
          return {
            seconds: (done - start) / 1000,
            share: calls.filter((c) => c.status === 429).length / calls.length,
            calls: calls.length,
            failed: jobs.filter((j) => j?.state !== 'published').length,
          };
        },
        watch.onLog,
      );
    };
    const ideal = (D / R) * 60;
    const paced = await run(R);
    const unpaced = await run(100_000);
    return table([
      ['', 'completion', '× ideal (target ≤ 1.1)', 'model calls', '429 share (target ≤ 5 %)', 'not published'],
      [`quota-bound ideal D/R (D=${D}, R=${R}/min, L=0.5–1.5 s)`, `${ideal.toFixed(1)} s`, '1.00', String(D), '-', '-'],
      ['paced (IMAGE_MODEL_RPM = R)', `${paced.seconds.toFixed(1)} s`, (paced.seconds / ideal).toFixed(2), String(paced.calls), `${(paced.share * 100).toFixed(1)} %`, String(paced.failed)],
      ['baseline: unpaced (IMAGE_MODEL_RPM far above R)', `${unpaced.seconds.toFixed(1)} s`, (unpaced.seconds / ideal).toFixed(2), String(unpaced.calls), `${(unpaced.share * 100).toFixed(1)} %`, String(unpaced.failed)],
    ]);
  },
};

type Stage = 'total' | 'model' | 'overhead' | 'intake' | 'queue' | 'edit (excl. model)' | 'edited → published' | 'edited → publishing' | 'gate';

interface Overhead {
  stages: Record<Stage, number[]>;
  publishedBy: Record<string, number>;
}

const STAGES: Stage[] = ['total', 'model', 'overhead', 'intake', 'queue', 'edit (excl. model)', 'edited → published', 'edited → publishing', 'gate'];

/** Drops one drop and waits for it; records its stages unless it is a warm-up. */
async function measureOne(p: LocalPipeline, watch: ReturnType<typeof terminalWatcher>, key: string, files: { image: Buffer; mask: Buffer }, into?: Overhead): Promise<void> {
  const settled = watch.settled(key);
  const uploaded = await drop(p, key, files);
  await settled;
  const id = watch.ended.get(key)?.id;
  const job = id ? (await p.runtime.ledger.get(id))?.value : undefined;
  if (!job || job.state !== 'published') throw new Error(`${key} ended ${job?.state ?? 'nowhere'}`);
  if (!into) return;
  const at = (state: string) => Date.parse(job.history.find((h) => h.state === state)!.at);
  const model = Date.parse(job.edit!.endedAt!) - Date.parse(job.edit!.startedAt);
  const total = at('published') - uploaded;
  const by = job.publish?.by ?? '?';
  into.publishedBy[by] = (into.publishedBy[by] ?? 0) + 1;
  const values: Record<Stage, number> = {
    total,
    model,
    overhead: total - model,
    intake: at('queued') - uploaded,
    queue: at('editing') - at('queued'),
    'edit (excl. model)': at('edited') - at('editing') - model,
    'edited → published': at('published') - at('edited'),
    'edited → publishing': at('publishing') - at('edited'),
    gate: at('published') - at('publishing'),
  };
  for (const k of STAGES) into.stages[k].push(values[k]);
}

export const overheadSection: Section = {
  id: 'b',
  title: '(b) pipeline overhead: emulator latency 0, drop → published through the local runtime, by stage; in memory and persisted (the `npm start` default)',
  async run() {
    const N = 30;
    const files = await pair(1024);
    const empty = (): Overhead => ({ stages: Object.fromEntries(STAGES.map((k) => [k, []])) as unknown as Record<Stage, number[]>, publishedBy: {} });
    const [memory, persisted] = [empty(), empty()];
    const watches = [terminalWatcher(), terminalWatcher()] as const;
    // Both pipelines run side by side and take turns, one drop at a time, so a machine whose load drifts
    // during the run weighs on both columns alike.
    await withPipeline({ rpm: 1_000_000 }, { IMAGE_MODEL_RPM: '100000' }, (inMemory) =>
      withPipeline(
        { rpm: 1_000_000 },
        { IMAGE_MODEL_RPM: '100000' },
        async (onDisk) => {
          for (let i = -3; i < N; i++) {
            const key = `overhead/${i < 0 ? `warm${-i}` : i}`; // warm-up: module loading, c2pa-rs compilation
            await measureOne(inMemory, watches[0], key, files, i < 0 ? undefined : memory);
            await measureOne(onDisk, watches[1], key, files, i < 0 ? undefined : persisted);
          }
        },
        watches[1].onLog,
        true,
      ), watches[0].onLog);
    const label: Record<Stage, string> = {
      total: 'drop → published',
      model: 'baseline: the model call (emulator time)',
      overhead: 'overhead = total − model (target p50 ≤ 150 ms in memory)',
      intake: '  last upload → queued (event, intake, validation)',
      queue: '  queued → editing (queue pickup, pacer, claim)',
      'edit (excl. model)': '  editing → edited, minus the call (inputs, output)',
      'edited → published': '  edited → published (target ≤ 1 s; the sweep would take 2 min)',
      'edited → publishing': '    edited → publishing (event or hand-off, claim)',
      gate: '    publishing → published (verify, copy, report)',
    };
    const rows = [[`stage (1024x1024 PNG drops, one at a time, N=${N} each)`, 'in memory p50', 'p95', 'persisted p50', 'p95']];
    for (const k of Object.keys(label) as Stage[]) {
      rows.push([label[k], ms(percentile(memory.stages[k], 50)), ms(percentile(memory.stages[k], 95)), ms(percentile(persisted.stages[k], 50)), ms(percentile(persisted.stages[k], 95))]);
    }
    const by = (r: Record<string, number>) => Object.entries(r).map(([f, c]) => `${f} ${c}`).join(', ');
    rows.push(['published by (function: jobs; never the sweep)', by(memory.publishedBy), '', by(persisted.publishedBy), '']);
    return table(rows);
  },
};
