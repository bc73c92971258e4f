/**
 * (b-start) the default path as a user runs it: `imagegen-pipeline start` persisted, in its own process; a
 * 1024x768 photo (PNG, JPEG, WebP), its mask and its sidecar copied into the drop folder, timed until the
 * published composite is in ./out/published/, stage by stage from what `start --verbose` prints. The
 * build in IMAGEGEN_BENCH_BASELINE_BIN (bin/imagegen-pipeline.js of another checkout, built) runs beside
 * this one, the two taking turns drop by drop so load drift weighs on both alike.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { COMPOSITE_TIMING_LINE } from '../shared/core/log.js';
import { ms, percentile, table, type Section } from './measure.js';
import { startProcess, type PrintedLine, type StartProcess } from './start-process.js';

const FORMATS = ['png', 'jpeg', 'webp'] as const;
type Format = (typeof FORMATS)[number];
const RUNS = Number(process.env.IMAGEGEN_BENCH_DEFAULT_PATH_RUNS ?? 10);
const BASELINE_BIN = process.env.IMAGEGEN_BENCH_BASELINE_BIN;
const THIS_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/imagegen-pipeline.js');
/** The pacer's default 9 RPM would space drops 6.7 s apart; this measures the path, not the quota. */
const SETTINGS = { IMAGE_MODEL_RPM: '600' };
/**
 * `start`'s emulator still allows 9 requests a minute (bursts of 2): each build's drops start at least this
 * far apart, so no call is answered 429 and no Retry-After wait is counted as the edit step's time.
 */
const EMULATOR_SPACING_MS = 60_000 / 9 + 300;

const STAGES = [
  'drop → ./out/published/',
  'the model call (emulator time)',
  'everything but the model (target p95 ≤ 1.5 s)',
  '  folder settle + first upload',
  '  the other uploads',
  '  last upload → queued (event, intake, sidecar wait)',
  '  queued → editing (queue pickup)',
  '  editing → edited, minus the model call',
  '  edited → publishing (event, claim)',
  '  composite: compose',
  '  composite: sign',
  '  composite: gate (verify the signed composite)',
  '  gate of the model output, reads, result writes (the rest of publishing → published)',
  '  published → in ./out/ (mirror)',
] as const;
type Timing = Partial<Record<(typeof STAGES)[number], number>>;

/** A noise photo (compresses like a real one, i.e. hardly) of 1024x768 in `format`, with a mask clearing its top third. */
async function dropFiles(format: Format): Promise<{ image: Buffer; mask: Buffer }> {
  const [w, h] = [1024, 768];
  const photo = sharp(randomBytes(w * h * 3), { raw: { width: w, height: h, channels: 3 } });
  const maskRaw = Buffer.alloc(w * h * 4, 255);
  for (let i = 3; i < (w * h * 4) / 3; i += 4) maskRaw[i] = 0;
  return {
    image: await photo.toFormat(format).toBuffer(),
    mask: await sharp(maskRaw, { raw: { width: w, height: h, channels: 4 } })
      .png()
      .toBuffer(),
  };
}

/** Waits (polling the folder as a user's file manager would show it) for `<stem>.<image>` in out/published/. */
async function mirrored(outDir: string, stem: string, timeoutMs: number): Promise<number> {
  const dir = path.join(outDir, 'published');
  for (const deadline = performance.now() + timeoutMs; performance.now() < deadline; await sleep(5)) {
    const names = (() => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    })();
    if (names.some((n) => n.startsWith(`${stem}.`) && !n.endsWith('.json'))) return performance.now();
  }
  throw new Error(`${stem}: not in ./out/published/ after ${timeoutMs} ms`);
}

/** Copies one drop into the folder as `cp photo.* drop/` does, and times it through to ./out/. */
async function oneDrop(rt: StartProcess, stem: string, format: Format): Promise<Timing> {
  const files = await dropFiles(format);
  const ext = format === 'jpeg' ? 'jpg' : format;
  const published = rt.next(
    (t) => new RegExp(`\\s${stem}(\\.\\S*)?\\s+(published|quarantined|rejected|failed)\\s`).test(t),
    90_000,
  );
  const start = performance.now();
  writeFileSync(path.join(rt.dropDir, `${stem}.${ext}`), files.image);
  writeFileSync(path.join(rt.dropDir, `${stem}.json`), JSON.stringify({ prompt: `a calm sea, ${stem}` }));
  writeFileSync(path.join(rt.dropDir, `${stem}.mask.png`), files.mask);
  const t0 = performance.now();
  const end = await published;
  if (!/\spublished\s/.test(end.text)) throw new Error(`${stem}: ${end.text.trim()}`);
  const seen = await mirrored(rt.outDir, stem, 30_000);
  return stagesOf(rt.since(start), stem, t0, end.at, seen);
}

function stagesOf(lines: PrintedLine[], stem: string, t0: number, publishedAt: number, seen: number): Timing {
  const uploads = lines.filter((l) => l.text.includes(`uploaded drop/${stem}.`)).map((l) => l.at);
  const state = (s: string) => lines.find((l) => new RegExp(`\\s${stem}(\\.\\S*)?\\s+${s}\\s`).test(l.text))?.at ?? NaN;
  const composite = lines.map((l) => COMPOSITE_TIMING_LINE.exec(l.text)).find(Boolean);
  const [compose, sign, judge] = [1, 2, 3].map((i) => (composite ? Number(composite[i]) : NaN));
  const composed = compose! + sign! + judge!;
  return {
    'drop → ./out/published/': seen - t0,
    '  folder settle + first upload': Math.min(...uploads) - t0,
    '  the other uploads': Math.max(...uploads) - Math.min(...uploads),
    '  last upload → queued (event, intake, sidecar wait)': state('queued') - Math.max(...uploads),
    '  queued → editing (queue pickup)': state('editing') - state('queued'),
    '  editing → edited, minus the model call': state('edited') - state('editing'),
    '  edited → publishing (event, claim)': state('publishing') - state('edited'),
    '  composite: compose': compose,
    '  composite: sign': sign,
    '  composite: gate (verify the signed composite)': judge,
    '  gate of the model output, reads, result writes (the rest of publishing → published)':
      publishedAt - state('publishing') - (Number.isNaN(composed) ? 0 : composed),
    '  published → in ./out/ (mirror)': seen - publishedAt,
  };
}

/** The emulator's own time for each call, in the order made (one drop at a time, so the i-th drop's), and its 429s. */
async function modelTimes(rt: StartProcess): Promise<{ times: number[]; throttled: number }> {
  const records = (await (await fetch(`${rt.emulatorUrl}/emulator/requests`)).json()) as {
    status: number;
    durationMs: number;
  }[];
  const times = records.filter((r) => r.status === 200).map((r) => r.durationMs);
  return { times, throttled: records.filter((r) => r.status === 429).length };
}

interface Build {
  label: string;
  bin: string;
  rt?: StartProcess;
  timings: Map<Format, Timing[]>;
  /** When this build's last drop started (performance.now()). */
  lastDrop?: number;
  /** Calls the emulator answered 429 (none expected with EMULATOR_SPACING_MS). */
  throttled?: number;
}

async function measure(builds: Build[]): Promise<void> {
  for (const b of builds) b.rt = await startProcess(b.bin, SETTINGS);
  try {
    for (let i = -1; i < RUNS; i++) {
      for (const format of FORMATS) {
        for (const b of builds) {
          if (b.lastDrop !== undefined) await sleep(b.lastDrop + EMULATOR_SPACING_MS - performance.now());
          b.lastDrop = performance.now();
          const t = await oneDrop(b.rt!, `${format}-${i + 1}`, format);
          b.timings.get(format)!.push(t); // the first of each (i = -1) is the warm-up, dropped below
        }
      }
    }
    for (const b of builds) {
      const { times, throttled } = await modelTimes(b.rt!);
      b.throttled = throttled;
      attachModelTimes(b, times);
    }
  } finally {
    await Promise.all(builds.map((b) => b.rt?.stop()));
  }
}

/** Calls were made in drop order: PNG, JPEG, WebP, then again. */
function attachModelTimes(b: Build, model: number[]): void {
  let n = 0;
  for (let i = 0; i <= RUNS; i++) {
    for (const format of FORMATS) {
      const t = b.timings.get(format)![i]!;
      const call = model[n++] ?? NaN;
      t['the model call (emulator time)'] = call;
      t['everything but the model (target p95 ≤ 1.5 s)'] = t['drop → ./out/published/']! - call;
      t['  editing → edited, minus the model call'] = t['  editing → edited, minus the model call']! - call;
    }
  }
  for (const format of FORMATS) b.timings.get(format)!.shift();
}

function formatTable(builds: Build[], format: Format): string {
  const header = [`${format.toUpperCase()} 1024x768 + mask + sidecar, N=${RUNS}`];
  for (const b of builds) header.push(`${b.label} p50`, 'p95');
  const rows = [header];
  for (const stage of STAGES) {
    const row: string[] = [stage];
    for (const b of builds) {
      const values = b.timings.get(format)!.map((t) => t[stage] ?? NaN);
      row.push(ms(percentile(values, 50)), ms(percentile(values, 95)));
    }
    rows.push(row);
  }
  return table(rows);
}

export const defaultPathSection: Section = {
  id: 'b-start',
  title:
    '(b-start) the default path through `start` (persisted, in its own process): drop folder → ./out/published/, ' +
    'by stage, per format' +
    (BASELINE_BIN ? `, beside the baseline ${BASELINE_BIN}` : ''),
  async run() {
    const builds: Build[] = [{ label: 'this build', bin: THIS_BIN, timings: new Map(FORMATS.map((f) => [f, []])) }];
    if (BASELINE_BIN)
      builds.push({ label: 'baseline', bin: BASELINE_BIN, timings: new Map(FORMATS.map((f) => [f, []])) });
    await measure(builds);
    const throttled = builds.map((b) => `${b.label} ${b.throttled}`).join(', ');
    return [...FORMATS.map((f) => formatTable(builds, f)), `calls answered 429 by the emulator: ${throttled}`].join(
      '\n\n',
    );
  },
};
