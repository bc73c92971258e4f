/**
 * The operations view's figures over the last hour or day, from the spans the local runtime keeps (see
 * ring.ts) and the live figures (live.ts): jobs by outcome per bucket, time in each state, model latency
 * and 429s per deployment, quota use against the offer, top reasons, and cost. Pure.
 */
import type { LiveFigures } from './live.js';
import type { SpanRecord } from '../../core/spans.js';

export type Window = 'hour' | 'day';
export const OUTCOMES = ['published', 'quarantined', 'rejected', 'failed'] as const;
type Outcome = (typeof OUTCOMES)[number];

const WINDOW_MS: Record<Window, number> = { hour: 3600_000, day: 24 * 3600_000 };
/** Sixty buckets either way: a minute each over an hour, 24 minutes each over a day. */
const BUCKETS = 60;

export interface Percentiles {
  n: number;
  p50Ms: number;
  p95Ms: number;
}

export interface OperationsView {
  window: Window;
  from: number;
  to: number;
  bucketMs: number;
  /** One entry per bucket, oldest first: jobs that ended in it, by outcome. */
  outcomes: Record<Outcome, number>[];
  totals: Record<Outcome, number>;
  stateTimes: ({ state: string } & Percentiles)[];
  deployments: ({
    id: string;
    throttled: number;
    /** The longest Retry-After a 429 asked for, in ms. */
    maxRetryAfterMs: number;
    /** Calls sent in the last minute against the requests per minute offered. */
    callsLastMinute: number;
    rpm: number;
    breaker: string;
  } & Percentiles)[];
  topReasons: { outcome: string; reason: string; count: number }[];
  cost: { windowUsd: number; todayUsd: number; pricedJobs: number };
  live: LiveFigures;
}

/** Nearest-rank percentiles. */
export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : 0;
  return { n: sorted.length, p50Ms: Math.round(at(0.5)), p95Ms: Math.round(at(0.95)) };
}

const endOf = (s: SpanRecord) => s.start + s.durationMs;
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

function outcomeBuckets(jobs: SpanRecord[], from: number, bucketMs: number) {
  const zero = () => Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  const buckets = Array.from({ length: BUCKETS }, zero);
  const totals = zero();
  for (const job of jobs) {
    const outcome = job.attributes['imagegen.outcome'] as Outcome;
    if (!OUTCOMES.includes(outcome)) continue;
    const i = Math.min(BUCKETS - 1, Math.floor((endOf(job) - from) / bucketMs));
    buckets[i]![outcome]++;
    totals[outcome]++;
  }
  return { buckets, totals };
}

function stateTimes(jobs: SpanRecord[]): OperationsView['stateTimes'] {
  const byState = new Map<string, number[]>();
  for (const job of jobs)
    for (const [key, value] of Object.entries(job.attributes)) {
      const state = /^imagegen\.time\.(\w+)_ms$/.exec(key)?.[1];
      if (state && typeof value === 'number') byState.set(state, [...(byState.get(state) ?? []), value]);
    }
  return [...byState].map(([state, values]) => ({ state, ...percentiles(values) }));
}

function deployments(calls: SpanRecord[], live: LiveFigures, now: number): OperationsView['deployments'] {
  return live.members.map((m) => {
    const mine = calls.filter((c) => c.attributes['imagegen.deployment'] === m.id);
    const throttled = mine.filter((c) => c.attributes['imagegen.model.outcome'] === 'throttled');
    const answered = mine.filter((c) => c.attributes['imagegen.model.outcome'] !== 'throttled');
    return {
      id: m.id,
      ...percentiles(answered.map((c) => c.durationMs)),
      throttled: throttled.length,
      maxRetryAfterMs: Math.max(0, ...throttled.map((c) => num(c.attributes['imagegen.retry_after_ms']) ?? 0)),
      callsLastMinute: mine.filter((c) => c.start >= now - 60_000).length,
      rpm: m.rpm,
      breaker: m.breaker,
    };
  });
}

function topReasons(jobs: SpanRecord[], limit = 8): OperationsView['topReasons'] {
  const counts = new Map<string, { outcome: string; reason: string; count: number }>();
  for (const job of jobs) {
    const outcome = String(job.attributes['imagegen.outcome']);
    if (outcome === 'published') continue;
    for (const reason of (job.attributes['imagegen.reasons'] as string[] | undefined) ?? []) {
      const key = `${outcome}\n${reason}`;
      const entry = counts.get(key) ?? { outcome, reason, count: 0 };
      entry.count++;
      counts.set(key, entry);
    }
  }
  return [...counts.values()].sort((a, b) => b.count - a.count).slice(0, limit);
}

function cost(jobs: SpanRecord[], allJobs: SpanRecord[], now: number): OperationsView['cost'] {
  const midnight = new Date(now).setUTCHours(0, 0, 0, 0);
  const usd = (s: SpanRecord) => num(s.attributes['imagegen.cost_usd']) ?? 0;
  return {
    windowUsd: jobs.reduce((sum, s) => sum + usd(s), 0),
    todayUsd: allJobs.filter((s) => endOf(s) >= midnight).reduce((sum, s) => sum + usd(s), 0),
    pricedJobs: jobs.filter((s) => num(s.attributes['imagegen.cost_usd']) !== undefined).length,
  };
}

/** `spans`: the kept spans (any order, any age); `now`: epoch ms. */
export function operationsView(spans: SpanRecord[], live: LiveFigures, window: Window, now: number): OperationsView {
  const from = now - WINDOW_MS[window];
  const bucketMs = WINDOW_MS[window] / BUCKETS;
  const allJobs = spans.filter((s) => s.name === 'job');
  const jobs = allJobs.filter((s) => endOf(s) >= from && endOf(s) <= now);
  const calls = spans.filter((s) => s.name === 'images/edits' && s.start >= from);
  const { buckets, totals } = outcomeBuckets(jobs, from, bucketMs);
  return {
    window,
    from,
    to: now,
    bucketMs,
    outcomes: buckets,
    totals,
    stateTimes: stateTimes(jobs),
    deployments: deployments(calls, live, now),
    topReasons: topReasons(jobs),
    cost: cost(jobs, allJobs, now),
    live,
  };
}
