import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_CA_DIR } from '../helpers/emulator.js';

const BIN = new URL('../../bin/imagegen-pipeline.js', import.meta.url).pathname;

function start(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const line = (re: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (m) resolve(m);
      };
      child.stdout.on('data', check);
      child.once('exit', () => reject(new Error(`exited before printing ${re}: ${out}`)));
      check();
    });
  return { child, line, output: () => out };
}

const children: ReturnType<typeof start>['child'][] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

describe('imagegen-pipeline', () => {
  it('prints its commands for help, and exits 2 for an unknown command', async () => {
    const help = start(['help']);
    const [code] = await once(help.child, 'exit');
    expect(code).toBe(0);
    expect(help.output()).toMatch(/emulator +Run the gpt-image emulator/);
    const unknown = start(['frobnicate']);
    expect((await once(unknown.child, 'exit'))[0]).toBe(2);
  });

  it('emulator: prints the URL it listens on, serves the API with its knobs, stops on SIGTERM', async () => {
    const emu = start([
      'emulator',
      '--port',
      '0',
      '--ca-dir',
      TEST_CA_DIR,
      '--rpm',
      '120',
      '--api-key',
      'k1',
      '--block-word',
      'volcano',
      '--latency-ms',
      '0',
    ]);
    children.push(emu.child);
    const [, url] = await emu.line(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const generate = (prompt: string, key = 'k1') =>
      fetch(`${url}/openai/deployments/gpt-image-2/images/generations?api-version=2025-04-01-preview`, {
        method: 'POST',
        headers: { 'api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt, quality: 'low' }),
      });
    const ok = await generate('a lighthouse');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-ratelimit-limit-requests')).toBe('120');
    expect((await generate('a volcano')).status).toBe(400);
    expect((await generate('a lighthouse', 'wrong')).status).toBe(401);
    expect(await (await fetch(`${url}/emulator/ca.pem`)).text()).toMatch(/BEGIN CERTIFICATE/);
    emu.child.kill('SIGTERM');
    expect((await once(emu.child, 'exit'))[0]).toBe(0);
  });

  it('emulator: refuses bad options with exit 2', async () => {
    const bad = start(['emulator', '--latency-ms', 'slow']);
    expect((await once(bad.child, 'exit'))[0]).toBe(2);
    expect(bad.output()).toMatch(/latency must be N or MIN-MAX/);
  });
});
