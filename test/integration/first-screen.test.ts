/**
 * The README's first screen, literally: `npm start`, then copy the committed sample pair into ./drop/ and
 * find the result in ./out/published/. Through the real `start` command (Azurite, the emulator, the local
 * host, the drop folder sync), in a fresh folder with its own home, on free ports.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from '../helpers/free-ports.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = new URL('../../bin/imagegen-pipeline.js', import.meta.url).pathname;
const SAMPLES = new URL('../../samples/', import.meta.url).pathname;

const dir = mkdtempSync(path.join(tmpdir(), 'imagegen-first-'));
let child: ReturnType<typeof spawn>;
let out = '';

/** Waits until start's output matches (the test's timeout bounds it). */
async function printed(re: RegExp): Promise<RegExpExecArray> {
  for (;;) {
    const m = re.exec(out);
    if (m) return m;
    if (child.exitCode !== null) throw new Error(`start exited (${child.exitCode}): ${out}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  const [host, blob, queue, emulator] = await freePorts(4);
  const ports = ['--port', host, '--blob-port', blob, '--queue-port', queue, '--emulator-port', emulator];
  child = spawn(process.execPath, [BIN, 'start', '--in-memory', ...ports.map(String)], {
    cwd: dir,
    env: { ...process.env, HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await printed(/Ctrl-C stops\./);
}, 60_000);

afterAll(async () => {
  if (child.exitCode === null) {
    child.kill('SIGINT');
    await once(child, 'exit');
  }
});

describe('the first screen', () => {
  it('the banner says where to drop, what to copy and what runs, without jargon', () => {
    expect(out).toContain('Drop folder:   ./drop/');
    expect(out).toContain('Try it:        cp samples/lighthouse.* ./drop/');
    expect(out).toMatch(/Model: .*a local stand-in for Azure OpenAI/);
    expect(out).toMatch(/Job events: .*\/api\/events +\(an event for every job that ends/);
    expect(out).not.toMatch(/two roots|local mode only|Outcome events/);
  });

  it('the committed sample pair, copied into ./drop/, is published into ./out/published/ with no wait for its sidecar', async () => {
    mkdirSync(path.join(dir, 'drop'), { recursive: true });
    for (const f of ['lighthouse.png', 'lighthouse.mask.png', 'lighthouse.json'])
      copyFileSync(path.join(SAMPLES, f), path.join(dir, 'drop', f));
    await printed(/lighthouse +published/);
    // The sidecar came with the pair: it is uploaded first, so intake never waits for it (DROP_SETTLE).
    expect(out).toMatch(/drop\/lighthouse\.json[\s\S]*drop\/lighthouse\.mask\.png[\s\S]*drop\/lighthouse\.png/);
    expect(out).not.toMatch(/lighthouse +waiting up to/);
    const published = path.join(dir, 'out', 'published');
    for (;;) {
      if (existsSync(published) && readdirSync(published).some((f) => /^lighthouse\.(png|jpg)$/.test(f))) break;
      await sleep(100);
    }
  }, 60_000);

  it('a pair without its sidecar says it waits for it, rather than showing nothing', async () => {
    for (const [from, to] of [
      ['lighthouse.png', 'harbour.png'],
      ['lighthouse.mask.png', 'harbour.mask.png'],
    ])
      copyFileSync(path.join(SAMPLES, from!), path.join(dir, 'drop', to!));
    await printed(/harbour +waiting up to 5 s for harbour\.json, an optional sidecar with the prompt/);
    await printed(/harbour +published/);
  }, 60_000);

  it('stops cleanly on Ctrl-C', async () => {
    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number];
    expect(code).toBe(0);
  });
});
