/**
 * .funcignore decides what azd zips for the function app. With remoteBuild: false that is the locally built
 * project, so it must let through host.json, package.json, dist/functions, dist/shared and the production
 * dependencies, and nothing else: no sources, tests, local tooling, infra, or devDependencies.
 *
 * azd reads the file with github.com/denormal/go-gitignore (last matching pattern wins; an excluded
 * directory is skipped whole), which differs from git in places; other tools (Core Tools, VS Code) read it
 * like git. The file sticks to patterns both read the same way, and this test evaluates it both ways.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './bicep.js';

type Semantics = 'azd' | 'git';

interface Pattern {
  line: number;
  source: string;
  negated: boolean;
  anchored: boolean;
  glob: string;
  /** The glob contains a '/' (after the leading one is removed). */
  isPath: boolean;
}

function parsePatterns(content: string): { patterns: Pattern[]; problems: string[] } {
  const patterns: Pattern[] = [];
  const problems: string[] = [];
  content.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/\s+$/, '');
    if (!line || line.startsWith('#')) return;
    let glob = line;
    const negated = glob.startsWith('!');
    if (negated) glob = glob.slice(1);
    const anchored = glob.startsWith('/');
    if (anchored) glob = glob.slice(1);
    const at = `.funcignore:${i + 1}: ${JSON.stringify(line)}`;
    if (glob.endsWith('/')) problems.push(`${at}: no trailing "/" (the go-gitignore version azd uses mishandles it)`);
    if (glob.includes('**')) problems.push(`${at}: no "**" (go-gitignore makes "a/**" match "a" itself)`);
    if (/[[\]\\]/.test(glob)) problems.push(`${at}: no character classes or escapes`);
    const isPath = glob.includes('/');
    if (isPath && !anchored)
      problems.push(
        `${at}: a pattern with "/" must start with "/" (git anchors it, go-gitignore matches it as a suffix)`,
      );
    patterns.push({ line: i + 1, source: line, negated, anchored, glob, isPath });
  });
  return { patterns, problems };
}

const compiled = new Map<string, RegExp>();

/** fnmatch: with `pathname`, wildcards do not match "/". */
function fnmatch(glob: string, subject: string, pathname: boolean): boolean {
  const key = `${pathname ? 'P' : '-'}${glob}`;
  let re = compiled.get(key);
  if (!re) {
    re = new RegExp(`^${globSource(glob, pathname)}$`);
    compiled.set(key, re);
  }
  return re.test(subject);
}

function globSource(glob: string, pathname: boolean): string {
  return glob
    .split('')
    .map((c) =>
      c === '*'
        ? pathname
          ? '[^/]*'
          : '.*'
        : c === '?'
          ? pathname
            ? '[^/]'
            : '.'
          : c.replace(/[.+^${}()|\\]/g, '\\$&'),
    )
    .join('');
}

function matches(p: Pattern, relative: string, semantics: Semantics): boolean {
  const base = relative.slice(relative.lastIndexOf('/') + 1);
  if (semantics === 'azd') {
    // go-gitignore: anchored patterns match the whole path (with FNM_PATHNAME only if they contain "/"),
    // unanchored name patterns match the last path component.
    if (p.anchored) return fnmatch(p.glob, relative, p.isPath);
    return fnmatch(p.glob, base, false);
  }
  // git: patterns with a leading or middle "/" are relative to the file's directory; others match any level.
  if (p.anchored || p.isPath) return fnmatch(p.glob, relative, true);
  return fnmatch(p.glob, base, true);
}

function ignored(patterns: Pattern[], relative: string, semantics: Semantics): boolean {
  for (let i = patterns.length - 1; i >= 0; i--) {
    const p = patterns[i]!;
    if (matches(p, relative, semantics)) return !p.negated;
  }
  return false;
}

/** Whether a path ends up in the zip: neither it nor a directory above it is ignored. */
function included(patterns: Pattern[], relative: string, semantics: Semantics): boolean {
  const parts = relative.split('/');
  for (let i = 1; i <= parts.length; i++) if (ignored(patterns, parts.slice(0, i).join('/'), semantics)) return false;
  return true;
}

interface Lockfile {
  packages: Record<string, { dev?: boolean; optional?: boolean }>;
}

let lock: Lockfile | undefined;
function lockfile(): Lockfile {
  lock ??= JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as Lockfile;
  return lock;
}

/** The node_modules block .funcignore should contain for this lockfile's production dependencies. */
function expectedDependencyBlock(lock: Lockfile): string {
  const prod = Object.keys(lock.packages)
    .filter(
      (k) =>
        k.startsWith('node_modules/') &&
        !k.slice('node_modules/'.length).includes('/node_modules/') &&
        !lock.packages[k]!.dev,
    )
    .map((k) => k.slice('node_modules/'.length));
  const lines = ['/node_modules/*'];
  for (const n of prod.filter((n) => !n.startsWith('@')).sort()) lines.push(`!/node_modules/${n}`);
  const scopes = [...new Set(prod.filter((n) => n.startsWith('@')).map((n) => n.split('/')[0]!))].sort();
  for (const s of scopes) {
    lines.push(`!/node_modules/${s}`, `/node_modules/${s}/*`);
    for (const n of prod.filter((n) => n.startsWith(`${s}/`)).sort()) lines.push(`!/node_modules/${n}`);
  }
  return lines.join('\n');
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
  const lock = lockfile();
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
      ['dist/functions', true],
      ['dist/shared', true],
      ['dist/functions/intake.js', true],
      ['dist/shared/config.js', true],
      ['dist/functions/intake.js.map', false],
      ['dist/local', false],
      ['dist/bench', false],
      ['dist/test', false],
      ['node_modules/openai/index.js', true],
      ['node_modules/openai/index.d.ts', false],
      ['node_modules/@contentauth/c2pa-wasm/c2pa.wasm', true],
      ['node_modules/@azure/storage-blob/package.json', true],
      ['node_modules/.bin', false],
      ['node_modules/.package-lock.json', false],
    ] as const) {
      if (yes(p) !== want) say(`${p} is ${want ? 'excluded' : 'shipped'}`);
    }
    const wrong: string[] = [];
    for (const [key, meta] of Object.entries(lock.packages)) {
      if (!key.startsWith('node_modules/')) continue;
      if (yes(key) === Boolean(meta.dev))
        wrong.push(`${key} (${meta.dev ? 'dev' : 'production'}) is ${meta.dev ? 'shipped' : 'excluded'}`);
    }
    if (wrong.length) {
      say(
        `${wrong.length} package(s) on the wrong side: ${wrong.slice(0, 5).join('; ')}${wrong.length > 5 ? '; ...' : ''}\nReplace the block between "# BEGIN production dependencies" and "# END production dependencies" with:\n${expectedDependencyBlock(lock)}`,
      );
    }
  }
  return problems;
}

const funcignore = () => readFileSync(path.join(ROOT, '.funcignore'), 'utf8');

describe('.funcignore', () => {
  it('ships host.json, package.json, dist/functions, dist/shared and the production dependencies only', () => {
    expect(funcignoreProblems(funcignore())).toEqual([]);
  });

  it('ships what package.json "main" points at', () => {
    const { main } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { main: string };
    expect(main).toBe('dist/functions/*.js');
    const { patterns } = parsePatterns(funcignore());
    expect(included(patterns, 'dist/functions/edit.js', 'azd')).toBe(true);
  });

  it('its dependency block is exactly the production dependencies of package-lock.json', () => {
    const block = /# BEGIN production dependencies\n([\s\S]*?)\n# END production dependencies/.exec(funcignore())?.[1];
    expect(block).toBe(expectedDependencyBlock(lockfile()));
  });

  it('catches an ignored node_modules, a missing dependency, a shipped devDependency and shipped sources', () => {
    const text = funcignore();
    expect(funcignoreProblems(`${text}\nnode_modules\n`).join('\n')).toMatch(/\[azd\] node_modules itself is ignored/);
    expect(funcignoreProblems(text.replace('!/node_modules/openai\n', '')).join('\n')).toMatch(
      /node_modules\/openai \(production\) is excluded/,
    );
    expect(funcignoreProblems(`${text}\n!/node_modules/vitest\n`).join('\n')).toMatch(
      /node_modules\/vitest \(dev\) is shipped/,
    );
    expect(funcignoreProblems(text.replace('/functions\n', '')).join('\n')).toMatch(/\[azd\] functions is shipped/);
    expect(funcignoreProblems(`${text}\nnode_modules/**\n`).join('\n')).toMatch(/no "\*\*"/);
  });
});
