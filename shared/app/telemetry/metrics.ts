/**
 * The pipeline's metrics through the OpenTelemetry API (Application Insights' `customMetrics` on Azure):
 * jobs by outcome, time in each state, model latency, 429s and their Retry-After, cost, and the gauges the
 * sweep reads each run (backlog, its oldest job's age, dead letters, owed outcome events, breakers).
 * With no SDK registered every call is a no-op.
 */
import { metrics, type Attributes } from '@opentelemetry/api';

const meter = () => metrics.getMeter('imagegen-pipeline');

/** Instruments are made on first use, after the host has had the chance to register an SDK. */
function lazy<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}

const instruments = {
  jobsEnded: lazy(() => meter().createCounter('imagegen.jobs.ended', { description: 'Jobs ended, by outcome' })),
  stateTime: lazy(() =>
    meter().createHistogram('imagegen.job.state_duration', { unit: 'ms', description: 'Time a job spent in a state' }),
  ),
  modelLatency: lazy(() =>
    meter().createHistogram('imagegen.model.duration', { unit: 'ms', description: 'images/edits call time' }),
  ),
  throttled: lazy(() => meter().createCounter('imagegen.model.throttled', { description: '429 answers' })),
  cost: lazy(() => meter().createCounter('imagegen.cost', { unit: 'USD', description: 'Model cost at list price' })),
  gauge: lazy(() => meter().createGauge('imagegen.operations', { description: 'Figures the sweep reads' })),
};

export function recordStateTime(state: string, ms: number): void {
  instruments.stateTime().record(Math.max(0, ms), { state });
}

export function recordJobEnded(attributes: Attributes, costUsd: number | undefined): void {
  instruments.jobsEnded().add(1, attributes);
  if (costUsd !== undefined) instruments.cost().add(costUsd, attributes);
}

export function recordModelCall(ms: number, attributes: Attributes, throttled: boolean): void {
  instruments.modelLatency().record(ms, attributes);
  if (throttled) instruments.throttled().add(1, attributes);
}

/** What the sweep saw this run; each figure is one gauge series (`figure` names it). */
export interface OperationsGauges {
  queued: number;
  oldestQueuedSeconds: number;
  deadLetters: number;
  owedOutcomeEvents: number;
  /** Pool member id → 1 while its breaker is open (or half-open), else 0. */
  breakerOpen: Record<string, number>;
}

export function recordGauges(g: OperationsGauges): void {
  const gauge = instruments.gauge();
  gauge.record(g.queued, { figure: 'queued' });
  gauge.record(g.oldestQueuedSeconds, { figure: 'oldest_queued_seconds' });
  gauge.record(g.deadLetters, { figure: 'dead_letters' });
  gauge.record(g.owedOutcomeEvents, { figure: 'owed_outcome_events' });
  for (const [deployment, open] of Object.entries(g.breakerOpen))
    gauge.record(open, { figure: 'breaker_open', deployment });
}
