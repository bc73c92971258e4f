/**
 * `imagegen-pipeline start --verbose` in its own process, as a user runs it (persisted state, drop and out
 * folders), with every line it prints and when the benchmark saw it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../local/host/child.js';

export interface PrintedLine {
  at: number;
  text: string;
}

export interface StartProcess {
  dropDir: string;
  outDir: string;
  emulatorUrl: string;
  /** Resolves with the first line (printed from now on) that matches. */
  next(match: (text: string) => boolean, timeoutMs: number): Promise<PrintedLine>;
  /** Every line printed since `from` (a performance.now() time). */
  since(from: number): PrintedLine[];
  stop(): Promise<void>;
}

/** Starts `bin start` in a fresh folder (no local.settings.json but `settings`); resolves once its banner is out. */
export async function startProcess(bin: string, settings: Record<string, string>): Promise<StartProcess> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'bench-start-'));
  writeFileSync(path.join(cwd, 'local.settings.json'), JSON.stringify({ Values: settings }));
  const [dropDir, outDir] = [path.join(cwd, 'drop'), path.join(cwd, 'out')];
  mkdirSync(dropDir);
  const ports = { port: 0, blob: 0, queue: 0, emulator: 0 };
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  const child = spawn(
    process.execPath,
    [path.resolve(bin), 'start', '--verbose', '--state', 'state', '--drop', 'drop', '--out', 'out']
      .concat(['--port', String(ports.port), '--blob-port', String(ports.blob)])
      .concat(['--queue-port', String(ports.queue), '--emulator-port', String(ports.emulator)]),
    { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: PrintedLine[] = [];
  const waiters = new Set<(line: PrintedLine) => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (text) => {
      const line = { at: performance.now(), text };
      lines.push(line);
      for (const w of waiters) w(line);
    });
  }
  const next = (match: (text: string) => boolean, timeoutMs: number) =>
    new Promise<PrintedLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`start (${bin}): no matching line in ${timeoutMs} ms; last: ${lines.at(-1)?.text}`));
      }, timeoutMs);
      const waiter = (line: PrintedLine) => {
        if (!match(line.text)) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve(line);
      };
      waiters.add(waiter);
    });
  await next((t) => t.includes('Ctrl-C stops.'), 120_000).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    dropDir,
    outDir,
    emulatorUrl: `http://127.0.0.1:${ports.emulator}`,
    next,
    since: (from) => lines.filter((l) => l.at >= from),
    stop: () => stopChild(child),
  };
}

/** Ctrl-C, as a user stops it; killed if it has not exited after 30 s. */
function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT');
  });
}
