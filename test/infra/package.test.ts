/**
 * The deployment package works on its own: a copy of exactly the files .funcignore ships (nothing else: no
 * sources, no unbundled dist, only the node_modules the bundle loads) registers every function with the
 * Functions worker, loads every chunk of the bundle (so every lazy import resolves, sharp and the c2pa-rs
 * package included), serves the console's script, and stays under the size target.
 *
 * The worker is stood in for the way the real one does it (azure-functions-nodejs-worker,
 * src/setupCoreModule.ts): `Module.prototype.require` answers `@azure/functions-core` with its API, whose
 * registerFunction receives each function's metadata.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedFiles } from '../../build/funcignore.js';
import { loadFunctionDefinitions } from '../../local/functions.js';
import { ROOT } from './bicep.js';

const run = promisify(execFile);
const TARGET_BYTES = 40 * 2 ** 20;

// Runs in the staged package. Prints what the worker saw and what the files resolved to.
const PROBE = `
import Module from 'node:module';
import { register } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
const registered = [];
let models = 0;
const core = {
  setProgrammingModel: () => { models++; },
  registerFunction: (meta) => { registered.push(meta); return { dispose() {} }; },
  log: () => {},
};
// As the worker does (azure-functions-nodejs-worker src/setupCoreModule.ts).
Module.prototype.require = new Proxy(Module.prototype.require, {
  apply: (target, self, args) => (args[0] === '@azure/functions-core' ? core : Reflect.apply(target, self, args)),
});
const { port1, port2 } = new MessageChannel();
const resolved = [];
port1.on('message', (url) => resolved.push(url));
port1.unref();
register('data:text/javascript,' + encodeURIComponent(\`
  let port;
  export function initialize(data) { port = data.port; }
  export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }
\`), { data: { port: port2 }, transferList: [port2] });
const main = JSON.parse(readFileSync('package.json', 'utf8')).main;
const dir = main.slice(0, main.lastIndexOf('/'));
const modules = {};
for (const f of readdirSync(dir).filter((f) => f.endsWith('.js')).sort())
  modules[f] = await import(pathToFileURL(dir + '/' + f).href);
const chunks = readdirSync(dir + '/chunks').filter((f) => f.endsWith('.js'));
for (const f of chunks) await import(pathToFileURL(dir + '/chunks/' + f).href);
// The packages the bundle imports only on first use (dynamic import), loaded as the code would.
const files = [...Object.keys(modules), ...chunks.map((f) => 'chunks/' + f)];
const bare = new Set();
for (const f of files)
  for (const m of readFileSync(dir + '/' + f, 'utf8').matchAll(/(?:import\\(|\\bfrom|require\\()"(@?[a-z0-9][\\w./@-]*)"/g))
    if (!Module.isBuiltin(m[1]) && m[1] !== '@azure/functions-core') bare.add(m[1]);
for (const name of bare) await import(name);
const c2pa = await import('@contentauth/c2pa-wasm');
const wasm = Module.createRequire(pathToFileURL(dir + '/chunks/' + chunks[0]).href).resolve('@contentauth/c2pa-wasm/c2pa.wasm');
await c2pa.default({ module_or_path: readFileSync(wasm) });
const asset = await modules['console.js'].definition.handle(undefined, { params: { asset: 'console.js' } });
await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({
  main, models, chunks: chunks.length, resolved, bare: [...bare].sort(), wasm,
  registered: registered.map((m) => ({ name: m.name, bindings: Object.values(m.bindings) })),
  console: { status: asset.status ?? 200, bytes: asset.body?.length ?? 0 },
}));
`;

interface ProbeResult {
  main: string;
  models: number;
  chunks: number;
  resolved: string[];
  bare: string[];
  wasm: string;
  registered: { name: string; bindings: { type: string; direction: string; queueName?: string }[] }[];
  console: { status: number; bytes: number };
}

const TRIGGER_BINDING = {
  eventGrid: 'eventGridTrigger',
  storageQueue: 'queueTrigger',
  timer: 'timerTrigger',
  http: 'httpTrigger',
};

let staged: string;
let bytes = 0;
let probe: ProbeResult;

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, 'dist/app')), 'dist/app is missing: run npm run build').toBe(true);
  staged = mkdtempSync(path.join(tmpdir(), 'imagegen-package-'));
  for (const f of shippedFiles(ROOT, readFileSync(path.join(ROOT, '.funcignore'), 'utf8'))) {
    mkdirSync(path.dirname(path.join(staged, f.path)), { recursive: true });
    copyFileSync(path.join(ROOT, f.path), path.join(staged, f.path));
    bytes += f.bytes;
  }
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', PROBE], { cwd: staged });
  probe = JSON.parse(stdout.trim().split('\n').at(-1)!) as ProbeResult;
}, 120_000);

afterAll(() => {
  if (staged) rmSync(staged, { recursive: true, force: true });
});

describe('the deployment package (what .funcignore ships)', () => {
  it('registers every function, with its trigger, through one @azure/functions', async () => {
    const definitions = await loadFunctionDefinitions();
    const want = definitions.map((d) => ({ name: d.name, trigger: TRIGGER_BINDING[d.trigger.type] })).sort(byName);
    const got = probe.registered
      .map((r) => ({ name: r.name, trigger: r.bindings.find((b) => b.type.endsWith('Trigger'))?.type }))
      .sort(byName);
    expect(probe.main).toBe('dist/app/*.js');
    expect(got).toEqual(want);
    expect(probe.models).toBe(1);
    const queue = probe.registered.find((r) => r.name === 'edit')?.bindings[0];
    expect(queue).toMatchObject({ type: 'queueTrigger', queueName: expect.any(String) });
  });

  it('loads every chunk and every package it imports from the package alone, and compiles the c2pa-rs wasm', () => {
    expect(probe.chunks).toBeGreaterThan(0);
    const files = probe.resolved.filter((u) => u.startsWith('file:'));
    const outside = files.filter((u) => !decodeURIComponent(new URL(u).pathname).startsWith(staged));
    expect(outside).toEqual([]);
    expect(probe.bare).toEqual(['@contentauth/c2pa-wasm', 'sharp']);
    expect(files.some((u) => u.includes('/node_modules/sharp/'))).toBe(true);
    expect(files.some((u) => u.includes('/node_modules/@contentauth/c2pa-wasm/'))).toBe(true);
    expect(probe.wasm.startsWith(staged)).toBe(true);
  });

  it('serves the console script from dist/web', () => {
    expect(probe.console.status).toBe(200);
    expect(probe.console.bytes).toBe(readFileSync(path.join(ROOT, 'dist/web/console.js')).length);
  });

  it(`is at most ${TARGET_BYTES / 2 ** 20} MiB unpacked`, () => {
    expect(bytes).toBeLessThanOrEqual(TARGET_BYTES);
  });
});

function byName(a: { name: string }, b: { name: string }): number {
  return a.name.localeCompare(b.name);
}
