import { describe, expect, it } from 'vitest';
import { parseSidecar } from '../../shared/sidecar.js';

describe('sidecar', () => {
  it('accepts the documented fields', () => {
    expect(parseSidecar('{"prompt":"a hat","size":"1024x1536","quality":"high","output_format":"jpeg","output_compression":80,"background":"opaque","input_fidelity":"high","n":1}')).toEqual({
      ok: true,
      sidecar: { prompt: 'a hat', size: '1024x1536', quality: 'high', output_format: 'jpeg', output_compression: 80, background: 'opaque', input_fidelity: 'high', n: 1 },
    });
  });

  it.each([
    ['{"prompt": "a hat",}', /not valid JSON/],
    ['["a hat"]', /must be a JSON object/],
    ['{"promt":"a hat"}', /unknown field "promt" \(did you mean "prompt"\?\)/],
    ['{"prompt":42}', /"prompt" must be a string, got 42/],
    ['{"prompt":"  "}', /"prompt" must not be empty/],
    ['{"size":"4096x4096"}', /"size" must be one of "auto", "1024x1024"/],
    ['{"n":2}', /"n" must be 1/],
    ['{"output_compression":101}', /"output_compression" must be a whole number from 0 to 100/],
    [`{"prompt":"${'x'.repeat(32_001)}"}`, /32001 characters long; the limit is 32000/],
  ])('%s → %s', (text, problem) => {
    const r = parseSidecar(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.join('\n')).toMatch(problem);
  });

  it('reports every problem, not just the first', () => {
    const r = parseSidecar('{"quality":"ultra","colour":"red"}');
    expect(r.ok ? [] : r.problems).toHaveLength(2);
  });
});
