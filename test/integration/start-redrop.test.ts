/**
 * `start` as a newcomer runs it, persisted: a drop-folder file whose bytes are already in inbox/ after a
 * restart is not uploaded again, and the user is told why, with where its result already is; and an
 * iterative edit (a published model output dropped again as the photo) publishes.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import sharp from 'sharp';
import { freePorts } from '../helpers/free-ports.js';
import { gradientImage, rectMask } from '../helpers/images.js';

const BIN = new URL('../../bin/imagegen-pipeline.js', import.meta.url).pathname;
const dir = mkdtempSync(path.join(tmpdir(), 'start-redrop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function startOnce(ports: number[], base = dir) {
  const [port, blob, queue, emulator] = ports.map(String) as [string, string, string, string];
  const args = ['start', '--port', port, '--blob-port', blob, '--queue-port', queue, '--emulator-port', emulator];
  args.push('--state', path.join(base, 'state'), '--drop', path.join(base, 'drop'), '--out', path.join(base, 'out'));
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: base });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const waitFor = async (done: () => boolean, what: string, ms = 60_000) => {
    for (const deadline = Date.now() + ms; !done(); await sleep(100)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${what}; output:\n${out}`);
    }
  };
  await waitFor(() => out.includes('Ctrl-C stops'), 'banner');
  const stop = async () => {
    child.kill('SIGINT');
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
  };
  return { output: () => out, waitFor, stop };
}

it('after a restart, an unchanged drop-folder file gets one line saying where its result already is', async () => {
  const drop = path.join(dir, 'drop');
  const ports = await freePorts(4);
  const first = await startOnce(ports);
  try {
    writeFileSync(path.join(dir, 'kite.png'), await gradientImage(256, 192));
    writeFileSync(path.join(dir, 'kite.mask.png'), await rectMask(256, 192, { x: 64, y: 64, width: 64, height: 64 }));
    copyFileSync(path.join(dir, 'kite.mask.png'), path.join(drop, 'kite.mask.png'));
    copyFileSync(path.join(dir, 'kite.png'), path.join(drop, 'kite.png'));
    await first.waitFor(() => existsSync(path.join(dir, 'out', 'published', 'kite.png')), 'published result');
  } finally {
    await first.stop();
  }
  const second = await startOnce(ports);
  try {
    const line =
      /drop\/kite\.png: unchanged since its upload at \S+, not uploaded again; already published as published\/kite\.png/;
    await second.waitFor(() => line.test(second.output()), 'unchanged line', 15_000);
    await sleep(1_500); // more passes of the folder: the line is printed once, and nothing is uploaded
    expect(second.output().match(/drop\/kite\.png: unchanged/g)).toHaveLength(1);
    expect(second.output()).not.toMatch(/uploaded drop\/kite/);
  } finally {
    await second.stop();
  }
}, 150_000);

it('an iterative edit: a published model output dropped again as the photo of a new edit is published', async () => {
  const base = path.join(dir, 'iterative');
  mkdirSync(base, { recursive: true });
  const [drop, out] = [path.join(base, 'drop'), path.join(base, 'out')];
  const run = await startOnce(await freePorts(4), base);
  try {
    writeFileSync(path.join(base, 'first.json'), JSON.stringify({ prompt: 'a kite', output: 'model' }));
    writeFileSync(path.join(base, 'first.png'), await gradientImage(512, 384));
    writeFileSync(path.join(base, 'first.mask.png'), await rectMask(512, 384, { x: 64, y: 64, width: 96, height: 96 }));
    for (const f of ['first.json', 'first.mask.png', 'first.png']) copyFileSync(path.join(base, f), path.join(drop, f));
    const first = path.join(out, 'published', 'first.png');
    await run.waitFor(
      () => existsSync(first) && existsSync(path.join(out, 'published', 'first.provenance.json')),
      'model output',
    );
    const azureSigned = readFileSync(first);
    const { width, height } = await sharp(azureSigned).metadata();
    writeFileSync(
      path.join(base, 'second.mask.png'),
      await rectMask(width!, height!, { x: 200, y: 150, width: 120, height: 90 }),
    );
    writeFileSync(path.join(base, 'second.json'), JSON.stringify({ prompt: 'a second kite' }));
    for (const f of ['second.json', 'second.mask.png']) copyFileSync(path.join(base, f), path.join(drop, f));
    writeFileSync(path.join(drop, 'second.png'), azureSigned);
    const report = path.join(out, 'published', 'second.provenance.json');
    const quarantined = path.join(out, 'quarantine', 'second.provenance.json');
    await run.waitFor(() => existsSync(report) || existsSync(quarantined), 'second result');
    const verdict = JSON.parse(readFileSync(existsSync(report) ? report : quarantined, 'utf8'));
    expect(verdict.reasons).toEqual([]);
    expect(verdict).toMatchObject({ verdict: 'publish', output: 'composite' });
    expect(existsSync(path.join(out, 'published', 'second.png'))).toBe(true);
  } finally {
    await run.stop();
  }
}, 150_000);
