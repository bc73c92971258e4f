/**
 * The npm packages the deployment bundle loads at run time: the bundle's externals (build/bundle.ts) and
 * everything they depend on, as package-lock.json resolves it, keeping only the builds that run where
 * Flex Consumption runs the app (Linux, x64, glibc). .funcignore ships exactly these from node_modules.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface LockEntry {
  dev?: boolean;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

export interface Lockfile {
  packages: Record<string, LockEntry>;
}

/** Where Flex Consumption runs the app (see also infra/preflight/sharp.ts). */
const TARGET = { os: 'linux', cpu: 'x64', libc: 'glibc' };

export function readLockfile(root: string): Lockfile {
  return JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as Lockfile;
}

function runsOnTarget(entry: LockEntry): boolean {
  return (
    (!entry.os || entry.os.includes(TARGET.os)) &&
    (!entry.cpu || entry.cpu.includes(TARGET.cpu)) &&
    (!entry.libc || entry.libc.includes(TARGET.libc))
  );
}

/** Node's lookup: the nearest node_modules/<name> from the requiring package up to the top. */
function resolveKey(lock: Lockfile, from: string, name: string): string | undefined {
  let dir = from;
  for (;;) {
    const key = `${dir}/node_modules/${name}`.replace(/^\//, '');
    if (lock.packages[key]) return key;
    const up = dir.lastIndexOf('/node_modules/');
    if (up < 0) return dir === '' ? undefined : resolveKey(lock, '', name);
    dir = dir.slice(0, up);
  }
}

/** package-lock.json keys ("node_modules/...") of the externals and their run-time dependencies. */
export function runtimePackages(lock: Lockfile, externals: readonly string[]): string[] {
  const found = new Set<string>();
  const visit = (key: string | undefined): void => {
    const entry = key ? lock.packages[key] : undefined;
    if (!key || !entry || found.has(key) || !runsOnTarget(entry)) return;
    found.add(key);
    const names = Object.keys({ ...entry.dependencies, ...entry.optionalDependencies });
    for (const name of names) visit(resolveKey(lock, key, name));
  };
  for (const name of externals) {
    const key = resolveKey(lock, '', name);
    if (!key) throw new Error(`${name} is not in package-lock.json`);
    visit(key);
  }
  return [...found].sort();
}

/**
 * The node_modules block of .funcignore that ships these packages: everything in node_modules is ignored
 * except them (a scope directory is let through, then everything in it ignored except its packages).
 * Packages nested in another's node_modules ship with it.
 */
export function dependencyBlock(keys: readonly string[]): string {
  const names = keys
    .filter((k) => !k.slice('node_modules/'.length).includes('/node_modules/'))
    .map((k) => k.slice('node_modules/'.length));
  const lines = ['/node_modules/*'];
  for (const n of names.filter((n) => !n.startsWith('@'))) lines.push(`!/node_modules/${n}`);
  const scopes = [...new Set(names.filter((n) => n.startsWith('@')).map((n) => n.split('/')[0]!))].sort();
  for (const s of scopes) {
    lines.push(`!/node_modules/${s}`, `/node_modules/${s}/*`);
    for (const n of names.filter((n) => n.startsWith(`${s}/`))) lines.push(`!/node_modules/${n}`);
  }
  return lines.join('\n');
}
