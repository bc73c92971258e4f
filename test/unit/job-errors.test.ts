/**
 * The job error codes users see are the catalogue's (shared/core/job-errors.ts), and the README's
 * "Error codes" table lists exactly those, once each.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JOB_ERROR } from '../../shared/core/job-errors.js';
import { firstColumnNames } from '../helpers/readme-table.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const sorted = (xs: Iterable<string>) => [...xs].sort();

const errorCodesTable = (markdown: string) => firstColumnNames(markdown, '### Error codes');

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
