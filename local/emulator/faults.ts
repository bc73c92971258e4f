/**
 * Fault injection for tests and chaos runs: each kind happens to a request with its own probability.
 * `blocked` is Azure's content-policy block of a whole resource (HTTP 403 on every request until Microsoft
 * lifts it): use rate 1 to block the emulator, 0 to lift it. `http408`/`http504` answer after the edit is
 * made (see LATE_FAULTS).
 */

export const FAULT_KINDS = [
  'http403',
  'blocked',
  'http500',
  'http503',
  'http408',
  'http504',
  'reset',
  'hang',
  'truncate',
] as const;
/**
 * Faults that come after the edit is made, as when a long edit outruns Azure's synchronous request limit
 * (about two minutes): the work is done, and billed, but the caller gets 408/504 instead of the image.
 */
export const LATE_FAULTS: readonly FaultKind[] = ['http408', 'http504'];
export type FaultKind = (typeof FAULT_KINDS)[number];
export type FaultRates = Partial<Record<FaultKind, number>>;

/** Latency in milliseconds: fixed, or drawn uniformly from [min, max]. */
export type Latency = number | { min: number; max: number };

/**
 * `--latency-ms azure`: edit times like the real service's. Microsoft publishes no latency figures;
 * gpt-image edits of 1024-pixel images take tens of seconds (longer at high quality), so the profile
 * draws uniformly from 15 to 60 s. Use it to see timeouts, leases and the pacer at real speed.
 */
export const AZURE_LATENCY_PROFILE: Latency = { min: 15_000, max: 60_000 };

export function parseLatency(text: string): Latency {
  if (text.trim() === 'azure') return AZURE_LATENCY_PROFILE;
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`latency must be N or MIN-MAX milliseconds, or "azure", got "${text}"`);
  const min = Number(m[1]);
  if (m[2] === undefined) return min;
  const max = Number(m[2]);
  if (max < min) throw new Error(`latency range ${text} has its maximum below its minimum`);
  return { min, max };
}

export function drawLatency(latency: Latency, random = Math.random): number {
  return typeof latency === 'number' ? latency : latency.min + random() * (latency.max - latency.min);
}

/** `http500=0.05,reset=0.01` → rates; every rate within [0, 1] and their sum at most 1. */
export function parseFaultRates(text: string): FaultRates {
  const rates: FaultRates = {};
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [kind, value] = part.split('=');
    if (!FAULT_KINDS.includes(kind as FaultKind))
      throw new Error(`unknown fault "${kind}"; known: ${FAULT_KINDS.join(', ')}`);
    const rate = Number(value);
    if (!(rate >= 0 && rate <= 1)) throw new Error(`fault rate for ${kind} must be from 0 to 1, got "${value}"`);
    rates[kind as FaultKind] = rate;
  }
  validateFaultRates(rates);
  return rates;
}

export function validateFaultRates(rates: FaultRates): void {
  const total = Object.values(rates).reduce((a, b) => a + (b ?? 0), 0);
  if (total > 1) throw new Error(`fault rates add up to ${total}, more than 1`);
}

export function drawFault(rates: FaultRates, random = Math.random): FaultKind | undefined {
  let r = random();
  for (const kind of FAULT_KINDS) {
    const rate = rates[kind] ?? 0;
    if (r < rate) return kind;
    r -= rate;
  }
  return undefined;
}
