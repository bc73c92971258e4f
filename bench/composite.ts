/**
 * (i) Edited → published for a 12 MP JPEG composite: the ordinary gate on the model output, then the
 * composite (compose, sign as the publisher, judge), in a child process per build so each build's own
 * code and memory are measured; beside the build in IMAGEGEN_BENCH_BASELINE_DIST (the `dist` folder of
 * an earlier build, e.g. commit 73c07a9 built in a temporary checkout), interleaved so load drift weighs
 * on both alike. Then the peak RSS of 4 composites at once.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { loadOrCreateIdentity } from '../local/emulator/identity.js';
import { renderEdit } from '../local/emulator/imaging.js';
import { signImage } from '../local/emulator/sign.js';
import { generatePublisher } from '../shared/adapters/signing/local-ca.js';
import { mb, ms, percentile, table, type Section } from './measure.js';

const W = 4000;
const H = 3000;
const RUNS = 7;
const THIS_DIST = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BASELINE_DIST = process.env.IMAGEGEN_BENCH_BASELINE_DIST;

/** A 12 MP photo with texture (a gradient and noise: about 4 MB as JPEG q90, like a camera's). */
async function photo(): Promise<Buffer> {
  const raw = Buffer.alloc(W * H * 3);
  let n = 1;
  for (let i = 0; i < raw.length; i++) {
    n = (n * 1103515245 + 12345) & 0x7fffffff;
    const p = Math.floor(i / 3);
    const base = i % 3 === 0 ? ((p % W) * 255) / W : i % 3 === 1 ? (p / W / H) * 255 : ((p % W) ^ (p / W)) & 255;
    raw[i] = Math.max(0, Math.min(255, base + ((n >> 8) % 40) - 20));
  }
  return sharp(raw, { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

async function inputs(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-composite-'));
  const identity = await loadOrCreateIdentity(path.join(dir, 'ca'));
  const publisher = await generatePublisher();
  const image = await photo();
  const hole = Buffer.alloc(W * H * 4, 255);
  for (let y = 1000; y < 1900; y++) for (let x = 1000; x < 2200; x++) hole[(y * W + x) * 4 + 3] = 0;
  const mask = await sharp(hole, { raw: { width: W, height: H, channels: 4 } })
    .png()
    .toBuffer();
  const pixels = await renderEdit(image, mask, { prompt: 'a red kite', size: '1536x1024', format: 'png' });
  const edited = await signImage(identity, pixels, { format: 'image/png', title: 'edited.png' });
  const files: Record<string, string | Uint8Array> = {
    'photo.jpg': image,
    'photo.mask.png': mask,
    'edited.png': edited,
    'azure-ca.pem': identity.caPem,
    'publisher.pem': publisher.chainPem,
    'publisher.key': publisher.keyPem,
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), bytes);
  return dir;
}

async function worker(dist: string, mode: 'sequential' | 'concurrent', n: number, dir: string) {
  const script = path.join(THIS_DIST, 'bench', 'composite-worker.js');
  const { stdout } = await promisify(execFile)(process.execPath, [script, dist, mode, String(n), dir], {
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    times?: number[];
    cpu?: number[];
    peak?: number;
    folders?: string[];
  };
}

export const compositeSection: Section = {
  id: 'i',
  title: `(i) edited → published, a ${W}x${H} JPEG composite (target ≤ 1.5 s), and peak RSS of 4 at once`,
  async run() {
    const dir = await inputs();
    const builds: [string, string][] = [
      ...(BASELINE_DIST ? ([['baseline build', BASELINE_DIST]] as [string, string][]) : []),
      ['this build', THIS_DIST],
    ];
    const runs = new Map(builds.map(([label]) => [label, { times: [] as number[], cpu: [] as number[] }]));
    // Interleaved, one run at a time, so each build sees the machine's load alike.
    for (let round = 0; round < RUNS; round++) {
      for (const [label, dist] of builds) {
        const r = await worker(dist, 'sequential', 1, dir);
        runs.get(label)!.times.push(...r.times!);
        runs.get(label)!.cpu.push(...r.cpu!);
      }
    }
    const rows = [['', 'p50', 'min', 'max', 'CPU p50', 'runs']];
    for (const [label] of builds) {
      const { times: t, cpu } = runs.get(label)!;
      const row = [ms(percentile(t, 50)), ms(Math.min(...t)), ms(Math.max(...t)), ms(percentile(cpu, 50))];
      rows.push([`${label}: edited → published`, ...row, String(t.length)]);
    }
    for (const [label, dist] of builds) {
      const r = await worker(dist, 'concurrent', 4, dir);
      const published = r.folders!.filter((f) => f === 'published').length;
      rows.push([
        `${label}: peak RSS, 4 composites at once (${published} of 4 published)`,
        mb(r.peak!),
        '',
        '',
        '',
        '1',
      ]);
    }
    return table(rows);
  },
};
