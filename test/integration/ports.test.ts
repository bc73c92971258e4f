/**
 * A taken port: `start`, `emulator` and `host` stop at once with exit 1, name the port, what probably holds it
 * and the flag to use instead, and leave nothing listening. A start that fails half-way closes what it opened.
 * And every command's --help lists its flags.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePorts } from '../helpers/free-ports.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalPipeline } from '../../local/environment.js';
import { portIsFree } from '../../local/ports.js';
import { TEST_CA_DIR } from '../helpers/emulator.js';

const BIN = new URL('../../bin/imagegen-pipeline.js', import.meta.url).pathname;

/** Runs the CLI to its end (the test times out if it hangs), in an empty folder so no local settings apply. */
async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'imagegen-ports-'));
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  return { code, out };
}

const holders: net.Server[] = [];
afterEach(async () => {
  await Promise.all(holders.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server holding a free port, as another `npm start` would. */
async function holdPort(): Promise<number> {
  const server = net.createServer();
  holders.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

const stillFree = async (ports: number[]) => Promise.all(ports.map((p) => portIsFree(p)));

describe('a busy port', () => {
  it('stops start at once with exit 1, the port, its usual holder and the flag; nothing is left listening', async () => {
    const busy = await holdPort();
    const [queue, emulator, host] = await freePorts(3);
    const { code, out } = await cli(
      ['start', '--in-memory', '--blob-port', String(busy)].concat([
        '--queue-port',
        String(queue),
        '--emulator-port',
        String(emulator),
        '--port',
        String(host),
      ]),
    );
    expect(code).toBe(1);
    expect(out).toContain(`port ${busy} (blob storage) is already in use`);
    expect(out).toContain('probably by another `npm start` (or Azurite)');
    expect(out).toContain(`--blob-port ${busy + 100}`);
    expect(out).not.toContain('Usage:');
    expect(await stillFree([queue!, emulator!, host!])).toEqual([true, true, true]);
  });

  it('names the host port and --port when that one is taken', async () => {
    const busy = await holdPort();
    const [blob, queue, emulator] = await freePorts(3);
    const { code, out } = await cli(
      ['start', '--in-memory', '--port', String(busy), '--blob-port', String(blob)].concat([
        '--queue-port',
        String(queue),
        '--emulator-port',
        String(emulator),
      ]),
    );
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`port ${busy} \\(the Functions host and console\\).*--port ${busy + 100}`));
    expect(await stillFree([blob!, queue!, emulator!])).toEqual([true, true, true]);
  });

  it('stops emulator and host the same way', async () => {
    const busy = await holdPort();
    const emulator = await cli(['emulator', '--port', String(busy)]);
    expect(emulator.code).toBe(1);
    expect(emulator.out).toMatch(new RegExp(`port ${busy} \\(the gpt-image emulator\\).*--port ${busy + 100}`));
    const host = await cli(['host', '--port', String(busy)]);
    expect(host.code).toBe(1);
    expect(host.out).toMatch(new RegExp(`port ${busy} \\(the Functions host\\).*--port ${busy + 100}`));
  });

  it('taken after the check, the half-started pipeline closes what it opened', async () => {
    const busy = await holdPort();
    const [blob, queue, emulator] = await freePorts(3);
    const started = startLocalPipeline({
      storage: { blobPort: blob!, queuePort: queue! },
      emulator: { port: emulator!, caDir: TEST_CA_DIR },
      settings: { SWEEP_SCHEDULE: '*/15 * * * * *' },
      outcomeTopic: false,
      hostPort: busy,
      timers: true,
    });
    await expect(started).rejects.toMatchObject({ code: 'EADDRINUSE', port: busy });
    expect(await stillFree([blob!, queue!, emulator!])).toEqual([true, true, true]);
  });
});

describe('--help', () => {
  it.each([
    [
      'start',
      ['--port', '--blob-port', '--queue-port', '--emulator-port', '--state', '--drop', '--out', '--in-memory'],
    ],
    ['emulator', ['--port', '--host', '--rpm', '--latency-ms', '--api-key', '--faults', '--deployment', '--ca-dir']],
    ['host', ['--port', '--no-timers', '--no-jobs-index', '--queue-lease-seconds', '--verbose']],
    ['verify', ['--trust', '--no-default-trust', '--agent-scope', '--publisher', '--json']],
    ['demo', ['--samples', '--out']],
    ['chaos', ['--drops', '--kills', '--seed', '--pool']],
  ])('%s --help lists its flags and exits 0', async (command, flags) => {
    const { code, out } = await cli([command, '--help']);
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^Usage: imagegen-pipeline ${command}`));
    for (const flag of flags) expect(out).toMatch(new RegExp(`^ +${flag}\\b`, 'm'));
  });
});
