/**
 * The optional `<stem>.json` sidecar: the prompt and edit options for a drop, checked against what the
 * configured model accepts. Unknown or ill-typed fields are errors, so a typo never silently falls back to
 * a default. Whatever the file holds, the answer is a result, never a throw: names are looked up as own
 * properties only (`__proto__`, `valueOf`), nesting is bounded before parsing, and reports quote values
 * in bounded form. Pure.
 */
import type { ImageQuality, ImageSize, OutputFormat } from './config.js';
import { DEFAULT_IMAGE_MODEL, findModel, sizeProblem, type ImageModelSpec } from './model-catalog.js';

export const MAX_SIDECAR_BYTES = 256 * 1024;
/** A sidecar is a flat object; this leaves room for none of the attacks deep nesting enables. */
export const MAX_SIDECAR_DEPTH = 8;
/** Reports list this many problems at most (a sidecar with 50,000 unknown keys gets one line for the rest). */
const MAX_PROBLEMS = 20;

export interface Sidecar {
  prompt?: string;
  size?: ImageSize;
  quality?: ImageQuality;
  output_format?: OutputFormat;
  output_compression?: number;
  background?: 'transparent' | 'opaque' | 'auto';
  input_fidelity?: 'high' | 'low';
  n?: 1;
  /** What to publish: the full-size photo with the edit composited in, or the model's own output. */
  output?: 'composite' | 'model';
}

export type SidecarResult = { ok: true; sidecar: Sidecar } | { ok: false; problems: string[] };

type FieldCheck = (value: unknown, model: ImageModelSpec) => string | undefined;

/** A value as a report may quote it: short, one line, never the whole of a large or nested value. */
export function describeValue(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'an object';
  if (typeof v === 'string')
    return v.length > 60 ? `${JSON.stringify(v.slice(0, 60))}… (${v.length} characters)` : JSON.stringify(v);
  return String(v);
}

const quoted = (values: readonly string[]) => values.map((a) => `"${a}"`).join(', ');

const oneOf =
  (allowed: (model: ImageModelSpec) => readonly string[]): FieldCheck =>
  (v, model) =>
    typeof v === 'string' && allowed(model).includes(v)
      ? undefined
      : `must be one of ${quoted(allowed(model))}, got ${describeValue(v)}`;

const FIELDS: ReadonlyMap<keyof Sidecar, FieldCheck> = new Map<keyof Sidecar, FieldCheck>([
  [
    'prompt',
    (v, model) => {
      if (typeof v !== 'string') return `must be a string, got ${describeValue(v)}`;
      if (v.trim() === '') return 'must not be empty';
      if (v.length > model.maxPromptChars)
        return `is ${v.length} characters long; the limit is ${model.maxPromptChars}`;
      return undefined;
    },
  ],
  [
    'size',
    (v, model) =>
      typeof v === 'string' ? sizeProblem(model, v) : `must be a string such as "1024x1024", got ${describeValue(v)}`,
  ],
  ['quality', oneOf((m) => m.qualities)],
  ['output_format', oneOf((m) => m.outputFormats)],
  [
    'output_compression',
    (v) =>
      Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 100
        ? undefined
        : `must be a whole number from 0 to 100, got ${describeValue(v)}`,
  ],
  ['background', oneOf((m) => (m.transparentBackground ? ['transparent', 'opaque', 'auto'] : ['opaque', 'auto']))],
  [
    'input_fidelity',
    (v, model) =>
      model.inputFidelity
        ? oneOf(() => ['high', 'low'])(v, model)
        : `is not supported by ${model.name}; remove it or choose another IMAGE_MODEL`,
  ],
  ['output', oneOf(() => ['composite', 'model'])],
  ['n', (v) => (v === 1 ? undefined : `must be 1 (the pipeline publishes one edit per drop), got ${describeValue(v)}`)],
]);
const FIELD_NAMES = [...FIELDS.keys()];

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const next = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = row[j]!;
      row[j] = next;
    }
  }
  return row[b.length]!;
}

function unknownField(field: string): string {
  const near =
    field.length <= 40 ? FIELD_NAMES.find((known) => editDistance(field.toLowerCase(), known) <= 2) : undefined;
  return `unknown field ${describeValue(field)}${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${FIELD_NAMES.join(', ')}`;
}

/** How deeply `text` nests arrays and objects (strings skipped), counted only up to `limit + 1`. */
function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length && deepest <= limit; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') deepest = Math.max(deepest, ++depth);
    else if (c === '}' || c === ']') depth--;
  }
  return deepest;
}

function capped(problems: string[]): string[] {
  if (problems.length <= MAX_PROBLEMS) return problems;
  return [...problems.slice(0, MAX_PROBLEMS - 1), `and ${problems.length - MAX_PROBLEMS + 1} more problems`];
}

/** Checks the sidecar's text against `model` (by default the pipeline's default model). */
export function parseSidecar(text: string, model: ImageModelSpec = findModel(DEFAULT_IMAGE_MODEL)!): SidecarResult {
  if (Buffer.byteLength(text) > MAX_SIDECAR_BYTES)
    return { ok: false, problems: [`the sidecar is larger than ${MAX_SIDECAR_BYTES / 1024} KB`] };
  // Windows editors save UTF-8 with a byte order mark, which JSON.parse refuses.
  const json = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (nestingDepth(json, MAX_SIDECAR_DEPTH) > MAX_SIDECAR_DEPTH) {
    const problem = `the sidecar nests objects or arrays more than ${MAX_SIDECAR_DEPTH} levels deep; it must be one flat object like {"prompt": "..."}`;
    return { ok: false, problems: [problem] };
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    return { ok: false, problems: [`the sidecar is not valid JSON: ${(err as Error).message}`] };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, problems: ['the sidecar must be a JSON object like {"prompt": "..."}'] };
  }
  const problems: string[] = [];
  const sidecar: Record<string, unknown> = {};
  // JSON.parse makes every key an own property, `__proto__` included; only the checks' own map is consulted.
  for (const [field, v] of Object.entries(value)) {
    const check = FIELDS.get(field as keyof Sidecar);
    if (!check) {
      problems.push(unknownField(field));
      continue;
    }
    const problem = check(v, model);
    if (problem) problems.push(`"${field}" ${problem}`);
    else sidecar[field] = v;
  }
  return problems.length ? { ok: false, problems: capped(problems) } : { ok: true, sidecar: sidecar as Sidecar };
}
