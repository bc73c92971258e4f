/**
 * (a) burst goodput against a quota, paced and unpaced, the host in its own process (./burst.ts);
 * (b) pipeline overhead drop → published, by stage, through the whole local runtime in one process.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalPipeline, type LocalPipeline, type Settings } from '../local/environment.js';
import type { EmulatorOptions } from '../local/emulator/server.js';
import type { LogEntry } from '../local/host/host.js';
import { isTerminal, type JobRecord } from '../shared/core/job.js';
import { STATE_LINE } from '../shared/core/log.js';
import { runBurst } from './burst.js';
import { recordWrites } from './record-writes.js';
import { formatTimeline, timelinesBelow } from './timeline.js';
import { pair } from './drop-files.js';
import { ms, percentile, table, type Section } from './measure.js';

const caDir = () => path.join(mkdtempSync(path.join(tmpdir(), 'bench-ca-')), 'ca');

/** `persisted`: Azurite on disk in a fresh folder, as `npm start` runs it; otherwise in memory. */
async function withPipeline<T>(
  emulator: EmulatorOptions,
  settings: Settings,
  work: (p: LocalPipeline) => Promise<T>,
  onLog?: (entry: LogEntry) => void,
  persisted = false,
): Promise<T> {
  const azurite = persisted ? { location: mkdtempSync(path.join(tmpdir(), 'bench-azurite-')) } : {};
  const p = await startLocalPipeline({
    storage: { azurite },
    emulator: { caDir: caDir(), ...emulator },
    settings,
    timers: false,
    ...(onLog ? { onLog } : {}),
  });
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
function terminalWatcher() {
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
      return Promise.race([
        new Promise<void>((resolve) => waiters.set(drop, resolve)),
        sleep(300_000, undefined, { ref: false }),
      ]);
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
  title:
    '(a) burst goodput: D drops against an emulator limited to R requests/minute with latency L, the host in its own ' +
    'process; quiet and beside a CPU-bound process; paced with and without the jobs index',
  async run() {
    const D = 90;
    const R = 120;
    const ideal = (D / R) * 60;
    const rows = [
      ['', 'completion', '× ideal (target ≤ 1.1)', 'model calls', '429 share (target ≤ 5 %)', 'not published'],
      [`quota-bound ideal D/R (D=${D}, R=${R}/min, L=0.5–1.5 s)`, `${ideal.toFixed(1)} s`, '1.00', String(D), '-', '-'],
    ];
    const timelines: string[] = [];
    for (const busy of [false, true]) {
      // Unpaced: the pipeline is told the deployment allows far more than it does.
      // Without the index: the host as the build before the index ran (`host --no-jobs-index`), right after
      // the same burst with it, to show what keeping the index in step costs the pipeline.
      for (const [label, toldQuota, jobsIndex] of [
        ['paced (told the quota R)', 1, true],
        ['paced, without the jobs index', 1, false],
        ['baseline: unpaced (told 100 × R)', 100, true],
      ] as const) {
        const r = await runBurst({
          regions: [{ region: 'eastus2', rpm: R }],
          drops: D,
          busy,
          toldQuota,
          concurrency: 16,
          jobsIndex,
        });
        const share = `${(r.share429 * 100).toFixed(1)} %`;
        timelines.push(`${label}, ${busy ? 'busy machine' : 'quiet'}: ${formatTimeline(r.timeline)}`);
        rows.push([
          `${label}, ${busy ? 'busy machine' : 'quiet'}`,
          `${r.seconds.toFixed(1)} s`,
          (r.seconds / ideal).toFixed(2),
          String(r.calls),
          share,
          String(r.failed),
        ]);
      }
    }
    return `${table(rows)}${timelinesBelow(timelines)}\n\n${await recordWrites()}`;
  },
};

type Stage =
  | 'total'
  | 'model'
  | 'overhead'
  | 'intake'
  | 'queue'
  | 'edit (excl. model)'
  | 'edited → published'
  | 'edited → publishing'
  | 'gate';

interface Overhead {
  stages: Record<Stage, number[]>;
  publishedBy: Record<string, number>;
}

const STAGES: Stage[] = [
  'total',
  'model',
  'overhead',
  'intake',
  'queue',
  'edit (excl. model)',
  'edited → published',
  'edited → publishing',
  'gate',
];

/** Drops one drop and waits for it; records its stages unless it is a warm-up. */
async function measureOne(
  p: LocalPipeline,
  watch: ReturnType<typeof terminalWatcher>,
  key: string,
  files: { image: Buffer; mask: Buffer },
  into?: Overhead,
): Promise<void> {
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
  title:
    '(b) pipeline overhead: emulator latency 0, drop → published through the local runtime, by stage; in memory and persisted (the `npm start` default)',
  async run() {
    const N = 30;
    const files = await pair(1024);
    const empty = (): Overhead => ({
      stages: Object.fromEntries(STAGES.map((k) => [k, []])) as unknown as Record<Stage, number[]>,
      publishedBy: {},
    });
    const [memory, persisted] = [empty(), empty()];
    const watches = [terminalWatcher(), terminalWatcher()] as const;
    // Both pipelines run side by side and take turns, one drop at a time, so a machine whose load drifts
    // during the run weighs on both columns alike.
    await withPipeline(
      { rpm: 1_000_000 },
      { IMAGE_MODEL_RPM: '100000' },
      (inMemory) =>
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
        ),
      watches[0].onLog,
    );
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
    const rows = [
      [`stage (1024x1024 PNG drops, one at a time, N=${N} each)`, 'in memory p50', 'p95', 'persisted p50', 'p95'],
    ];
    for (const k of Object.keys(label) as Stage[]) {
      rows.push([
        label[k],
        ms(percentile(memory.stages[k], 50)),
        ms(percentile(memory.stages[k], 95)),
        ms(percentile(persisted.stages[k], 50)),
        ms(percentile(persisted.stages[k], 95)),
      ]);
    }
    const by = (r: Record<string, number>) =>
      Object.entries(r)
        .map(([f, c]) => `${f} ${c}`)
        .join(', ');
    rows.push([
      'published by (function: jobs; never the sweep)',
      by(memory.publishedBy),
      '',
      by(persisted.publishedBy),
      '',
    ]);
    return table(rows);
  },
};
