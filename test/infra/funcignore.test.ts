/**
 * .funcignore decides what azd zips for the function app. With remoteBuild: false that is the locally built
 * project, so it must let through host.json, package.json, the bundle (dist/app), the console (dist/web)
 * and what the bundle loads from node_modules, and nothing else: no sources, unbundled output, tests, local
 * tooling, infra, or packages the bundle already contains.
 *
 * azd and git read the file differently in places (build/funcignore.ts); the file sticks to patterns both
 * read the same way, and this test evaluates it both ways.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXTERNALS } from '../../build/bundle.js';
import { ignored, included, parsePatterns } from '../../build/funcignore.js';
import { dependencyBlock, readLockfile, runtimePackages, type Lockfile } from '../../build/runtime-deps.js';
import { ROOT } from './bicep.js';

let lock: Lockfile | undefined;
function lockfile(): Lockfile {
  lock ??= readLockfile(ROOT);
  return lock;
}

/** The node_modules block .funcignore should contain for this lockfile. */
function expectedDependencyBlock(): string {
  return dependencyBlock(runtimePackages(lockfile(), EXTERNALS));
}

/** Whether a package-lock.json key is one the bundle loads (or sits inside one). */
function isRuntime(key: string, runtime: readonly string[]): boolean {
  return runtime.some((r) => key === r || key.startsWith(`${r}/`));
}

const SHIPPED_TOP_LEVEL = ['dist', 'host.json', 'node_modules', 'package.json'];

let candidates: string[] | undefined;
function topLevelCandidates(): string[] {
  candidates ??= listTopLevel();
  return candidates;
}

function listTopLevel(): string[] {
  const names = new Set<string>([...readdirSync(ROOT), ...SHIPPED_TOP_LEVEL]);
  try {
    const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    for (const f of tracked.split('\n')) if (f) names.add(f.split('/')[0]!);
  } catch {
    // No git: the directory listing has to do.
  }
  // What the local runtime and tools leave behind (see .gitignore), whether or not it exists right now.
  for (const n of [
    '.azure',
    '.local',
    '.vscode',
    'coverage',
    'drop',
    'out',
    'samples',
    'README.md',
    'local.settings.json',
    '__blobstorage__',
    '__queuestorage__',
    '__azurite_db_blob__.json',
    'debug.log',
  ])
    names.add(n);
  return [...names].sort();
}

/** Every problem with a .funcignore text, for both readers. */
function funcignoreProblems(content: string): string[] {
  const { patterns, problems } = parsePatterns(content);
  const runtime = runtimePackages(lockfile(), EXTERNALS);
  for (const semantics of ['azd', 'git'] as const) {
    const yes = (p: string) => included(patterns, p, semantics);
    const say = (msg: string) => problems.push(`[${semantics}] ${msg}`);
    // azd refuses remoteBuild: false when node_modules itself is ignored.
    if (ignored(patterns, 'node_modules', semantics))
      say('node_modules itself is ignored; azd then insists on a remote build');
    for (const name of topLevelCandidates()) {
      const want = SHIPPED_TOP_LEVEL.includes(name);
      if (yes(name) !== want) say(`${name} is ${want ? 'excluded' : 'shipped'}`);
    }
    for (const [p, want] of [
      ['dist/app', true],
      ['dist/app/intake.js', true],
      ['dist/app/chunks/chunk-ABCD1234.js', true],
      ['dist/app/intake.js.map', false],
      ['dist/web/console.js', true],
      ['dist/functions', false],
      ['dist/shared', false],
      ['dist/build', false],
      ['dist/local', false],
      ['dist/bench', false],
      ['dist/test', false],
      ['node_modules/@contentauth/c2pa-wasm/c2pa.wasm', true],
      ['node_modules/@contentauth/c2pa-wasm/c2pa.d.ts', false],
      ['node_modules/sharp/package.json', true],
      ['node_modules/@img/sharp-linux-x64/package.json', true],
      ['node_modules/@img/sharp-libvips-linux-x64/package.json', true],
      ['node_modules/@img/sharp-darwin-arm64', false],
      ['node_modules/@img/sharp-win32-x64', false],
      ['node_modules/@azure/msal-browser', false],
      ['node_modules/@azure/functions', false],
      ['node_modules/openai', false],
      ['node_modules/.bin', false],
      ['node_modules/.package-lock.json', false],
    ] as const) {
      if (yes(p) !== want) say(`${p} is ${want ? 'excluded' : 'shipped'}`);
    }
    const wrong: string[] = [];
    for (const key of Object.keys(lockfile().packages)) {
      if (!key.startsWith('node_modules/')) continue;
      const want = isRuntime(key, runtime);
      if (yes(key) !== want)
        wrong.push(
          `${key} (${want ? 'loaded by the bundle' : 'bundled or unused'}) is ${want ? 'excluded' : 'shipped'}`,
        );
    }
    if (wrong.length) {
      say(
        `${wrong.length} package(s) on the wrong side: ${wrong.slice(0, 5).join('; ')}${wrong.length > 5 ? '; ...' : ''}\nReplace the block between "# BEGIN run-time dependencies" and "# END run-time dependencies" with:\n${expectedDependencyBlock()}`,
      );
    }
  }
  return problems;
}

const funcignore = () => readFileSync(path.join(ROOT, '.funcignore'), 'utf8');

describe('.funcignore', () => {
  it('ships host.json, package.json, the bundle, the console and what the bundle loads from node_modules only', () => {
    expect(funcignoreProblems(funcignore())).toEqual([]);
  });

  it('ships what package.json "main" points at', () => {
    const { main } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string };
    expect(main).toBe('dist/app/*.js');
    const { patterns } = parsePatterns(funcignore());
    expect(included(patterns, 'dist/app/edit.js', 'azd')).toBe(true);
  });

  it('its dependency block is exactly the externals and their Linux x64 dependencies in package-lock.json', () => {
    const block = /# BEGIN run-time dependencies\n([\s\S]*?)\n# END run-time dependencies/.exec(funcignore())?.[1];
    expect(block).toBe(expectedDependencyBlock());
    expect(runtimePackages(lockfile(), EXTERNALS)).toEqual(
      expect.arrayContaining([
        'node_modules/sharp',
        'node_modules/@img/sharp-linux-x64',
        'node_modules/@contentauth/c2pa-wasm',
      ]),
    );
  });

  it('catches an ignored node_modules, a missing external, a shipped bundled package and shipped sources', () => {
    const text = funcignore();
    expect(funcignoreProblems(`${text}\nnode_modules\n`).join('\n')).toMatch(/\[azd\] node_modules itself is ignored/);
    expect(funcignoreProblems(text.replace('!/node_modules/sharp\n', '')).join('\n')).toMatch(
      /node_modules\/sharp \(loaded by the bundle\) is excluded/,
    );
    expect(funcignoreProblems(`${text}\n!/node_modules/openai\n`).join('\n')).toMatch(
      /node_modules\/openai \(bundled or unused\) is shipped/,
    );
    expect(funcignoreProblems(text.replace('/functions\n', '')).join('\n')).toMatch(/\[azd\] functions is shipped/);
    expect(funcignoreProblems(`${text}\nnode_modules/**\n`).join('\n')).toMatch(/no "\*\*"/);
  });
});
