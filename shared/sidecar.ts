/**
 * The optional `<stem>.json` sidecar: the prompt and edit options for a drop. Unknown or ill-typed
 * fields are errors, so a typo never silently falls back to a default. Pure.
 */
import { IMAGE_QUALITIES, IMAGE_SIZES, OUTPUT_FORMATS, type ImageQuality, type ImageSize, type OutputFormat } from './config.js';

export const MAX_PROMPT_CHARS = 32_000;
export const MAX_SIDECAR_BYTES = 256 * 1024;

export interface Sidecar {
  prompt?: string;
  size?: ImageSize;
  quality?: ImageQuality;
  output_format?: OutputFormat;
  output_compression?: number;
  background?: 'transparent' | 'opaque' | 'auto';
  input_fidelity?: 'high' | 'low';
  n?: 1;
}

export type SidecarResult = { ok: true; sidecar: Sidecar } | { ok: false; problems: string[] };

type FieldCheck = (value: unknown) => string | undefined;

const oneOf =
  (allowed: readonly string[]): FieldCheck =>
  (v) =>
    typeof v === 'string' && allowed.includes(v) ? undefined : `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${JSON.stringify(v)}`;

const FIELDS: Record<keyof Sidecar, FieldCheck> = {
  prompt: (v) => {
    if (typeof v !== 'string') return `must be a string, got ${JSON.stringify(v)}`;
    if (v.trim() === '') return 'must not be empty';
    if (v.length > MAX_PROMPT_CHARS) return `is ${v.length} characters long; the limit is ${MAX_PROMPT_CHARS}`;
    return undefined;
  },
  size: oneOf(IMAGE_SIZES),
  quality: oneOf(IMAGE_QUALITIES),
  output_format: oneOf(OUTPUT_FORMATS),
  output_compression: (v) => (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 100 ? undefined : `must be a whole number from 0 to 100, got ${JSON.stringify(v)}`),
  background: oneOf(['transparent', 'opaque', 'auto']),
  input_fidelity: oneOf(['high', 'low']),
  n: (v) => (v === 1 ? undefined : `must be 1 (the pipeline publishes one edit per drop), got ${JSON.stringify(v)}`),
};

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

function suggestion(field: string): string {
  const near = Object.keys(FIELDS).find((known) => editDistance(field.toLowerCase(), known) <= 2);
  return near ? ` (did you mean "${near}"?)` : '';
}

export function parseSidecar(text: string): SidecarResult {
  if (Buffer.byteLength(text) > MAX_SIDECAR_BYTES) return { ok: false, problems: [`the sidecar is larger than ${MAX_SIDECAR_BYTES / 1024} KB`] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [`the sidecar is not valid JSON: ${(err as Error).message}`] };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, problems: ['the sidecar must be a JSON object like {"prompt": "..."}'] };
  }
  const problems: string[] = [];
  for (const [field, v] of Object.entries(value)) {
    const check = FIELDS[field as keyof Sidecar];
    if (!check) {
      problems.push(`unknown field "${field}"${suggestion(field)}; allowed: ${Object.keys(FIELDS).join(', ')}`);
      continue;
    }
    const problem = check(v);
    if (problem) problems.push(`"${field}" ${problem}`);
  }
  return problems.length ? { ok: false, problems } : { ok: true, sidecar: value as Sidecar };
}
