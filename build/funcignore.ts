/**
 * Reads .funcignore the way the tools that zip the function app do, and lists what it ships.
 *
 * azd reads the file with github.com/denormal/go-gitignore (last matching pattern wins; an excluded
 * directory is skipped whole), which differs from git in places; other tools (Core Tools, VS Code) read it
 * like git. `included` evaluates a path both ways; test/infra/funcignore.test.ts keeps the file to patterns
 * both read the same way.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export type Semantics = 'azd' | 'git';

export interface Pattern {
  line: number;
  source: string;
  negated: boolean;
  anchored: boolean;
  glob: string;
  /** The glob contains a '/' (after the leading one is removed). */
  isPath: boolean;
}

export function parsePatterns(content: string): { patterns: Pattern[]; problems: string[] } {
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
  const star = pathname ? '[^/]*' : '.*';
  const one = pathname ? '[^/]' : '.';
  return glob
    .split('')
    .map((c) => (c === '*' ? star : c === '?' ? one : c.replace(/[.+^${}()|\\]/g, '\\$&')))
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

export function ignored(patterns: Pattern[], relative: string, semantics: Semantics): boolean {
  for (let i = patterns.length - 1; i >= 0; i--) {
    const p = patterns[i]!;
    if (matches(p, relative, semantics)) return !p.negated;
  }
  return false;
}

/** Whether a path ends up in the zip: neither it nor a directory above it is ignored. */
export function included(patterns: Pattern[], relative: string, semantics: Semantics): boolean {
  const parts = relative.split('/');
  for (let i = 1; i <= parts.length; i++) if (ignored(patterns, parts.slice(0, i).join('/'), semantics)) return false;
  return true;
}

export interface ShippedFile {
  /** Relative to the project root, "/"-separated. */
  path: string;
  bytes: number;
}

/**
 * The files under `root` the zip would hold (as azd reads the rules): a directory it ignores is not entered,
 * as azd skips it whole. Symbolic links are followed, so a linked node_modules counts what it points at.
 */
export function shippedFiles(root: string, funcignore: string, semantics: Semantics = 'azd'): ShippedFile[] {
  const { patterns } = parsePatterns(funcignore);
  const out: ShippedFile[] = [];
  const walk = (relative: string): void => {
    for (const name of readdirSync(path.join(root, relative)).sort()) {
      const child = relative ? `${relative}/${name}` : name;
      if (ignored(patterns, child, semantics)) continue;
      const full = path.join(root, child);
      const stat = statSync(full, { throwIfNoEntry: false });
      if (!stat) continue;
      if (stat.isDirectory()) walk(child);
      else if (stat.isFile()) out.push({ path: child, bytes: stat.size });
    }
  };
  walk('');
  return out;
}
