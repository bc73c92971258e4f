/**
 * What the use cases call, a line each: a model call in its span (with its metrics), a job's step recorded
 * as it moves (time in state; when it ends, the outcome, its cost and a span over the job's whole life),
 * the gate's verdict. Attribute names are what Application Insights shows in `customDimensions`.
 */
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import type { ModelOutcome } from '../../ports/image-model.js';
import { isTerminal, type JobRecord } from '../../core/job.js';
import { addUsage, costUsd, type TokenUsage } from '../../core/cost.js';
import { recordJobEnded, recordModelCall, recordStateTime } from './metrics.js';
import { inSpan, parseTraceparent } from './trace.js';

export interface CallSite {
  jobId: string;
  drop: string;
  deployment: string;
  model: string;
  attempt: number;
}

function outcomeAttributes(outcome: ModelOutcome): Attributes {
  return {
    'imagegen.model.outcome': outcome.kind,
    ...(outcome.requestId ? { 'imagegen.model.request_id': outcome.requestId } : {}),
    ...(outcome.remaining !== undefined ? { 'imagegen.quota.remaining': outcome.remaining } : {}),
    ...(outcome.kind === 'throttled' ? { 'imagegen.retry_after_ms': outcome.retryAfterMs } : {}),
    ...('code' in outcome ? { 'imagegen.error.code': outcome.code } : {}),
    ...(outcome.kind === 'ok' && outcome.usage ? usageAttributes(outcome.usage) : {}),
  };
}

function usageAttributes(usage: TokenUsage): Attributes {
  return { 'imagegen.usage.input_tokens': usage.inputTokens, 'imagegen.usage.output_tokens': usage.outputTokens };
}

/** Runs the images/edits call in a client span of the job's trace, and records its latency and 429s. */
export function tracedModelCall(site: CallSite, call: () => Promise<ModelOutcome>): Promise<ModelOutcome> {
  const attributes = {
    'imagegen.job': site.jobId,
    'imagegen.drop': site.drop,
    'imagegen.deployment': site.deployment,
    'imagegen.model': site.model,
    'imagegen.attempt': site.attempt,
  };
  return inSpan('images/edits', { parent: 'active', kind: SpanKind.CLIENT, attributes }, async (span) => {
    const started = performance.now();
    const outcome = await call();
    const cost = outcome.kind === 'ok' && outcome.usage ? costUsd(site.model, outcome.usage) : undefined;
    span.set({ ...outcomeAttributes(outcome), ...(cost !== undefined ? { 'imagegen.cost_usd': cost } : {}) });
    const labels = { deployment: site.deployment, model: site.model, outcome: outcome.kind };
    recordModelCall(performance.now() - started, labels, outcome.kind === 'throttled');
    return outcome;
  });
}

/** The reasons a job ended as it did: the gate's for a verdict, the problems or error otherwise. */
export function endReasons(job: JobRecord): string[] {
  if (job.publish) return job.publish.reasons;
  return job.problems ?? (job.error ? [job.error.message] : []);
}

/**
 * Records a step from `before` to `after`: the time spent in the state left and, when the job ends, its
 * outcome and cost and a `job` span over its whole life in its trace.
 */
export function recordStep(before: JobRecord, after: JobRecord): void {
  const entered = before.history.at(-1)?.at ?? before.updatedAt;
  recordStateTime(before.state, Date.parse(after.updatedAt) - Date.parse(entered));
  if (!isTerminal(after.state) || isTerminal(before.state)) return;
  recordJobEnd(after);
}

/** A job's end: its outcome and cost, and a `job` span over its whole life in its trace. */
export function recordJobEnd(after: JobRecord): void {
  const labels = { outcome: after.state, deployment: after.deployment ?? '' };
  recordJobEnded(labels, after.costUsd);
  const parent = parseTraceparent(after.traceparent);
  if (!parent) return;
  const span = trace
    .getTracer('imagegen-pipeline')
    .startSpan(
      'job',
      { startTime: Date.parse(after.createdAt), attributes: jobAttributes(after) },
      trace.setSpanContext(ROOT_CONTEXT, parent),
    );
  if (after.state !== 'published') span.setStatus({ code: SpanStatusCode.ERROR, message: after.state });
  span.end(Date.parse(after.updatedAt));
}

function jobAttributes(job: JobRecord): Attributes {
  return {
    'imagegen.job': job.id,
    'imagegen.drop': job.drop.key,
    'imagegen.outcome': job.state,
    'imagegen.reasons': endReasons(job),
    'imagegen.attempts': job.attempts,
    'imagegen.model_calls': job.modelCalls,
    'imagegen.throttled': job.throttled,
    ...(job.deployment ? { 'imagegen.deployment': job.deployment } : {}),
    ...(job.error ? { 'imagegen.error.code': job.error.code } : {}),
    ...(job.costUsd !== undefined ? { 'imagegen.cost_usd': job.costUsd } : {}),
    ...Object.fromEntries(Object.entries(timeInStates(job)).map(([state, ms]) => [`imagegen.time.${state}_ms`, ms])),
  };
}

/** Milliseconds the job spent in each state it passed through (a state entered twice counts both stays). */
export function timeInStates(job: JobRecord): Record<string, number> {
  const times: Record<string, number> = {};
  job.history.forEach((entry, i) => {
    const next = job.history[i + 1];
    if (next) times[entry.state] = (times[entry.state] ?? 0) + Date.parse(next.at) - Date.parse(entry.at);
  });
  return times;
}

/** The job's token count and cost with one more answered call added (nothing to add without `usage`). */
export function withCallCost(job: JobRecord, model: string, usage: TokenUsage | undefined): Partial<JobRecord> {
  if (!usage) return {};
  const cost = costUsd(model, usage);
  return {
    usage: addUsage(job.usage, usage),
    ...(cost !== undefined ? { costUsd: (job.costUsd ?? 0) + cost } : {}),
  };
}

/** The provenance gate's verdict on a job's output, as a span of the job's trace from `startedAt` to now. */
export function recordGate(
  job: JobRecord | undefined,
  startedAt: number,
  verdict: { file: string; verdict: string; reasons: string[] },
): void {
  const parent = parseTraceparent(job?.traceparent);
  const attributes = {
    'imagegen.blob': verdict.file,
    'imagegen.verdict': verdict.verdict,
    'imagegen.reasons': verdict.reasons,
    ...(job ? { 'imagegen.job': job.id, 'imagegen.drop': job.drop.key } : {}),
  };
  const tracer = trace.getTracer('imagegen-pipeline');
  const ctx = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
  tracer.startSpan('gate', { startTime: startedAt, attributes }, ctx).end();
}
