/**
 * The job error codes users see are the catalogue's (shared/core/job-errors.ts), and the README's
 * "Error codes" table lists exactly those, once each.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JOB_ERROR } from '../../shared/core/job-errors.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const sorted = (xs: Iterable<string>) => [...xs].sort();

/** The codes in the first column of the first table under `### Error codes` (each cell: the code in backticks). */
function errorCodesTable(markdown: string): string[] {
  const lines = markdown.split(/\r?\n/);
  const start = lines.findIndex((l) => /^###\s+Error codes\s*$/.test(l));
  if (start < 0) throw new Error('README.md has no "### Error codes" section');
  const rows: string[] = [];
  let inTable = false;
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,3}\s/.test(line)) break;
    if (!line.trim().startsWith('|')) {
      if (inTable) break;
      continue;
    }
    const first = line.trim().replace(/^\|/, '').split('|')[0]!.trim();
    if (!inTable) {
      inTable = true; // header row
      continue;
    }
    if (/^:?-{3,}:?$/.test(first)) continue;
    const m = /^`([^`]+)`$/.exec(first);
    if (!m) throw new Error(`README error codes table: the first cell must be a code in backticks, got ${first}`);
    rows.push(m[1]!);
  }
  return rows;
}

describe('job error codes', () => {
  it('are distinct snake_case words', () => {
    const codes = Object.values(JOB_ERROR);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
  });

  it("the README's table lists exactly the catalogue, once each", () => {
    const rows = errorCodesTable(README);
    expect(sorted(rows)).toEqual(sorted(Object.values(JOB_ERROR)));
    expect(new Set(rows).size, 'a code is listed twice').toBe(rows.length);
  });

  it('reads the table format', () => {
    const sample = ['## x', '### Error codes', '', '| code | meaning |', '| --- | --- |', '| `a_b` | x |', ''];
    expect(errorCodesTable([...sample, '| `c` | y |'].join('\n'))).toEqual(['a_b']);
    expect(() => errorCodesTable('# x\n')).toThrow(/no "### Error codes" section/);
    expect(() => errorCodesTable('### Error codes\n\n| code |\n| --- |\n| a | x |\n')).toThrow(/first cell/);
  });
});
