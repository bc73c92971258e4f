/**
 * (e) Cold start: the import time of each compiled function module in a fresh Node process, next to
 * `@azure/functions` alone, and whether the import loaded the c2pa-rs WebAssembly (it must not: only
 * the code that verifies or signs loads it, on first use).
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ms, percentile, table, type Section } from './measure.js';

const run = promisify(execFile);
const RUNS = 7;

// Runs in the child: records every module URL resolved while importing the target, then times the import.
const PROBE = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const seen = [];
port1.on('message', (url) => seen.push(url));
port1.unref();
const hooks = 'data:text/javascript,' + encodeURIComponent(\`
  let port;
  export function initialize(data) { port = data.port; }
  export async function resolve(specifier, context, next) { const r = await next(specifier, context); port.postMessage(r.url); return r; }
\`);
register(hooks, { data: { port: port2 }, transferList: [port2] });
const target = process.argv.at(-1);
const t = performance.now();
await import(target);
const elapsed = performance.now() - t;
await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ elapsed, c2pa: seen.some((u) => u.includes('c2pa-wasm')) }));
`;

async function importTime(target: string): Promise<{ times: number[]; c2pa: boolean }> {
  const times: number[] = [];
  let c2pa = false;
  for (let i = 0; i < RUNS; i++) {
    // Test mode warnings from @azure/functions go to stderr; only stdout carries the figure.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', PROBE, target], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { elapsed: number; c2pa: boolean };
    times.push(r.elapsed);
    c2pa ||= r.c2pa;
  }
  return { times, c2pa };
}

export const coldStartSection: Section = {
  id: 'e',
  title: `(e) cold start: import time of each function module in a fresh process (median of ${RUNS})`,
  async run() {
    const dir = new URL('../functions/', import.meta.url);
    const modules = readdirSync(dir).filter((f) => f.endsWith('.js'));
    const rows = [['module', 'import p50 (target ≤ 300 ms)', 'max', 'loads c2pa wasm']];
    const base = await importTime('@azure/functions');
    rows.push([
      'baseline: @azure/functions alone',
      ms(percentile(base.times, 50)),
      ms(Math.max(...base.times)),
      base.c2pa ? 'yes' : 'no',
    ]);
    for (const m of modules) {
      const r = await importTime(new URL(m, dir).href);
      rows.push([`functions/${m}`, ms(percentile(r.times, 50)), ms(Math.max(...r.times)), r.c2pa ? 'yes' : 'no']);
    }
    return table(rows);
  },
};
