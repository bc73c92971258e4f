/**
 * (e) Cold start: what a Flex Consumption instance downloads and loads. The deployment package's unpacked
 * size (exactly the files .funcignore ships, as azd reads it) next to the unbundled package shipped before
 * build/bundle.ts; then the import time of each function module in a fresh Node process, unbundled
 * (dist/functions) and bundled (dist/app), and of all of them at once as the Functions host loads them,
 * next to `@azure/functions` alone, and whether the import loaded the c2pa-rs WebAssembly (it must not:
 * only the code that verifies or signs loads it, on first use).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { shippedFiles } from '../build/funcignore.js';
import { dependencyBlock, readLockfile } from '../build/runtime-deps.js';
import { ms, percentile, table, type Section } from './measure.js';

const run = promisify(execFile);
const RUNS = 7;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TARGET_MB = 40;
// One decimal: the app's own code is a few MB.
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

// Runs in the child: records every module URL resolved while importing the targets, then times the import.
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
const t = performance.now();
for (const target of process.argv.slice(1)) await import(target);
const elapsed = performance.now() - t;
await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ elapsed, c2pa: seen.some((u) => u.includes('c2pa-wasm')) }));
`;

async function importTime(targets: string[]): Promise<{ times: number[]; c2pa: boolean }> {
  const times: number[] = [];
  let c2pa = false;
  for (let i = 0; i < RUNS; i++) {
    // Test mode warnings from @azure/functions go to stderr; only stdout carries the figure.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', PROBE, ...targets], { cwd: ROOT });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { elapsed: number; c2pa: boolean };
    times.push(r.elapsed);
    c2pa ||= r.c2pa;
  }
  return { times, c2pa };
}

/** .funcignore as it was before the bundle: dist/functions and dist/shared, every production dependency. */
function unbundledFuncignore(current: string): string {
  const lock = readLockfile(ROOT);
  const production = Object.keys(lock.packages).filter((k) => k.startsWith('node_modules/') && !lock.packages[k]!.dev);
  return current
    .replace('!/dist/app\n', '!/dist/functions\n!/dist/shared\n')
    .replace(/(# BEGIN run-time dependencies\n)[\s\S]*?(\n# END)/, `$1${dependencyBlock(production)}$2`);
}

function packageRow(label: string, funcignore: string): string[] {
  const files = shippedFiles(ROOT, funcignore);
  const sum = (f: typeof files) => f.reduce((n, x) => n + x.bytes, 0);
  const deps = files.filter((f) => f.path.startsWith('node_modules/'));
  return [label, String(files.length), mb(sum(files)), mb(sum(deps)), mb(sum(files) - sum(deps))];
}

function packageTable(): string {
  const current = readFileSync(path.join(ROOT, '.funcignore'), 'utf8');
  return table([
    ['package (what .funcignore ships, unpacked)', 'files', `size (target ≤ ${TARGET_MB} MB)`, 'node_modules', 'app'],
    packageRow('baseline: unbundled (dist/functions + dist/shared)', unbundledFuncignore(current)),
    packageRow('bundle (dist/app)', current),
  ]);
}

function modules(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir))
    .filter((f) => f.endsWith('.js'))
    .sort();
}

async function importRow(label: string, unbundled: string[], bundled: string[]): Promise<string[]> {
  const a = await importTime(unbundled);
  const b = await importTime(bundled);
  const wasm = a.c2pa || b.c2pa ? 'yes' : 'no';
  return [label, ms(percentile(a.times, 50)), ms(percentile(b.times, 50)), ms(Math.max(...b.times)), wasm];
}

async function importTable(): Promise<string> {
  const url = (dir: string, m: string) => pathToFileURL(path.join(ROOT, dir, m)).href;
  const names = modules('dist/app/');
  const rows = [['module', 'unbundled p50', 'bundle p50 (target ≤ 300 ms)', 'bundle max', 'loads c2pa wasm']];
  const base = await importTime(['@azure/functions']);
  const baseP50 = ms(percentile(base.times, 50));
  rows.push([
    'baseline: @azure/functions alone',
    baseP50,
    baseP50,
    ms(Math.max(...base.times)),
    base.c2pa ? 'yes' : 'no',
  ]);
  for (const m of names)
    rows.push(await importRow(`functions/${m}`, [url('dist/functions/', m)], [url('dist/app/', m)]));
  rows.push(
    await importRow(
      `all ${names.length}, as the host loads them`,
      names.map((m) => url('dist/functions/', m)),
      names.map((m) => url('dist/app/', m)),
    ),
  );
  return table(rows);
}

export const coldStartSection: Section = {
  id: 'e',
  title: `(e) cold start: the deployment package, and the import time of each function module in a fresh process (median of ${RUNS})`,
  async run() {
    return `${packageTable()}\n\n${await importTable()}`;
  },
};
