import { describe, expect, it } from 'vitest';
import { findModel } from '../../shared/core/model-catalog.js';
import { MAX_SIDECAR_DEPTH, parseSidecar } from '../../shared/core/sidecar.js';

const model = (name: string) => findModel(name)!;
const problemsOf = (text: string, name = 'gpt-image-2') => {
  const r = parseSidecar(text, model(name));
  return r.ok ? [] : r.problems;
};

describe('sidecar', () => {
  it('accepts the documented fields (input_fidelity where the model takes it)', () => {
    expect(
      parseSidecar(
        '{"prompt":"a hat","size":"1024x1536","quality":"high","output_format":"jpeg","output_compression":80,"background":"opaque","input_fidelity":"high","n":1}',
        model('gpt-image-1.5'),
      ),
    ).toEqual({
      ok: true,
      sidecar: {
        prompt: 'a hat',
        size: '1024x1536',
        quality: 'high',
        output_format: 'jpeg',
        output_compression: 80,
        background: 'opaque',
        input_fidelity: 'high',
        n: 1,
      },
    });
  });

  it.each([
    ['{"prompt": "a hat",}', /not valid JSON/],
    ['["a hat"]', /must be a JSON object/],
    ['{"promt":"a hat"}', /unknown field "promt" \(did you mean "prompt"\?\)/],
    ['{"prompt":42}', /"prompt" must be a string, got 42/],
    ['{"prompt":"  "}', /"prompt" must not be empty/],
    ['{"size":"4096x4096"}', /"size" 4096x4096: the longest edge may be at most 3840 px for gpt-image-2/],
    ['{"size":"1000x1000"}', /"size" 1000x1000: both edges must be multiples of 16/],
    ['{"size":"3072x768"}', /"size" 3072x768: the aspect ratio may be at most 3:1/],
    ['{"size":"768x768"}', /"size" 768x768 is 589824 pixels; gpt-image-2 accepts 655360 to 8294400/],
    ['{"size":"big"}', /"size" gpt-image-2 accepts "auto", "1024x1024", "1024x1536", "1536x1024" or WIDTHxHEIGHT/],
    ['{"background":"transparent"}', /"background" must be one of "opaque", "auto", got "transparent"/],
    ['{"n":2}', /"n" must be 1/],
    ['{"output_compression":101}', /"output_compression" must be a whole number from 0 to 100/],
    [`{"prompt":"${'x'.repeat(32_001)}"}`, /32001 characters long; the limit is 32000/],
  ])('%s → %s', (text, problem) => {
    const r = parseSidecar(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.join('\n')).toMatch(problem);
  });

  it('follows the configured model: sizes, input_fidelity and transparency', () => {
    expect(parseSidecar('{"size":"2048x1152"}', model('gpt-image-2'))).toMatchObject({ ok: true });
    // No Azure page documents input_fidelity as accepted by gpt-image-2 (OpenAI's API answers 400 for it).
    expect(problemsOf('{"input_fidelity":"high"}', 'gpt-image-2')).toEqual([
      '"input_fidelity" is not supported by gpt-image-2; remove it or choose another IMAGE_MODEL',
    ]);
    expect(problemsOf('{"size":"2048x1152"}', 'gpt-image-1.5')).toEqual([
      '"size" gpt-image-1.5 accepts "auto", "1024x1024", "1024x1536", "1536x1024", not "2048x1152"',
    ]);
    expect(problemsOf('{"input_fidelity":"high"}', 'gpt-image-1-mini')).toEqual([
      '"input_fidelity" is not supported by gpt-image-1-mini; remove it or choose another IMAGE_MODEL',
    ]);
    expect(parseSidecar('{"background":"transparent"}', model('gpt-image-1.5'))).toMatchObject({ ok: true });
  });

  it('looks fields up as own properties only: __proto__, valueOf and constructor are unknown fields', () => {
    for (const name of ['__proto__', 'valueOf', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(problemsOf(`{"${name}": 1}`)).toEqual([
        expect.stringMatching(new RegExp(`^unknown field "${name}"; allowed: prompt, size`)),
      ]);
    }
    expect(problemsOf('{"__proto__": {"prompt": "x"}, "prompt": "a hat"}')).toEqual([
      expect.stringMatching(/^unknown field "__proto__"/),
    ]);
    const ok = parseSidecar('{"prompt": "a hat"}');
    expect(ok.ok && Object.getPrototypeOf(ok.sidecar)).toBe(Object.prototype);
  });

  it('refuses deep nesting with a report instead of overflowing the stack', () => {
    const deep = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    expect(problemsOf(deep)).toEqual([
      `the sidecar nests objects or arrays more than ${MAX_SIDECAR_DEPTH} levels deep; it must be one flat object like {"prompt": "..."}`,
    ]);
    expect(problemsOf('['.repeat(20_000))).toHaveLength(1);
    // Brackets inside strings are text, not nesting.
    expect(parseSidecar(JSON.stringify({ prompt: '{['.repeat(5000) }))).toMatchObject({ ok: true });
    // A nested value in a known field is quoted in bounded form.
    expect(problemsOf('{"prompt": {"a": {"b": 1}}}')).toEqual(['"prompt" must be a string, got an object']);
  });

  it('bounds what a report repeats: long names and values are cut, many problems are summed up', () => {
    const longKey = 'k'.repeat(100_000);
    const [problem] = problemsOf(`{"${longKey}": 1}`);
    expect(problem!.length).toBeLessThan(300);
    const many = `{${Array.from({ length: 5000 }, (_, i) => `"f${i}": 1`).join(',')}}`;
    const found = problemsOf(many);
    expect(found).toHaveLength(20);
    expect(found.at(-1)).toBe('and 4981 more problems');
  });

  it('reads a sidecar saved with a UTF-8 byte order mark', () => {
    expect(parseSidecar('\uFEFF{"prompt": "a hat"}')).toEqual({ ok: true, sidecar: { prompt: 'a hat' } });
  });

  it('reports every problem, not just the first', () => {
    const r = parseSidecar('{"quality":"ultra","colour":"red"}');
    expect(r.ok ? [] : r.problems).toHaveLength(2);
  });
});
