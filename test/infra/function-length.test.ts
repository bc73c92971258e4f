/**
 * Small units: no function in product, local runtime, web or bench code is longer than 80 lines (first to
 * last line, nested functions included), so each one can be read on one screen.
 */
import { describe, expect, it } from 'vitest';
import { functionSpans, parse, sourceFiles } from './source-files.js';

const MAX_LINES = 80;

describe('function length', () => {
  it(`no function in functions/, shared/, local/, web/, bench/ or build/ is over ${MAX_LINES} lines`, () => {
    const long = sourceFiles(['functions', 'shared', 'local', 'web', 'bench', 'build'])
      .flatMap((file) => functionSpans(file))
      .filter((span) => span.lines > MAX_LINES)
      .map((span) => `${span.file} ${span.name}: ${span.lines} lines`);
    expect(long).toEqual([]);
  });

  it('measures a planted long function, nested ones included', () => {
    const body = Array.from({ length: MAX_LINES }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = `export function outer() {\n  const inner = () => {\n${body}\n  };\n  return inner;\n}\n`;
    const spans = functionSpans('planted.ts', parse('planted.ts', text));
    expect(spans.map((s) => [s.name, s.lines])).toEqual([
      ['outer', MAX_LINES + 5],
      ['inner', MAX_LINES + 2],
    ]);
  });
});
