/**
 * The local Functions host as a child process, for the runs that kill it (chaos) or measure it on its
 * own (the memory benchmark).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** A port nobody listens on right now (the host keeps it across restarts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

// local/host/child.ts (tests) or dist/local/host/child.js (npm scripts) → bin/imagegen-pipeline.js
const here = fileURLToPath(import.meta.url);
const BIN = path.resolve(
  path.dirname(here),
  here.includes(`${path.sep}dist${path.sep}`) ? '../../../bin/imagegen-pipeline.js' : '../../bin/imagegen-pipeline.js',
);

/**
 * Starts `imagegen-pipeline host --port <port> …args` with `env` and resolves once it answers
 * /admin/host/status. Its output goes to `output` (kept open across restarts), or nowhere.
 */
export async function spawnHost(options: {
  port: number;
  env: NodeJS.ProcessEnv;
  args?: string[];
  output?: Writable;
  /** Another build's bin/imagegen-pipeline.js, for a baseline measured beside this one. */
  bin?: string;
  /** How long it may take to answer (default 20 s; a host started beside many others on a busy machine takes longer). */
  startupMs?: number;
}): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [options.bin ?? BIN, 'host', '--port', String(options.port), ...(options.args ?? [])],
    {
      env: options.env,
      stdio: ['ignore', options.output ? 'pipe' : 'ignore', options.output ? 'pipe' : 'ignore'],
    },
  );
  if (options.output) {
    child.stdout!.pipe(options.output, { end: false });
    child.stderr!.pipe(options.output, { end: false });
  }
  for (const deadline = Date.now() + (options.startupMs ?? 20_000); Date.now() < deadline;) {
    if (
      await fetch(`http://127.0.0.1:${options.port}/admin/host/status`)
        .then((r) => r.ok)
        .catch(() => false)
    )
      return child;
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`the host on port ${options.port} did not start`);
}
