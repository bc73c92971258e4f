/**
 * The console's operations figures (the view over the last hour or day) and a job's trace and cost, from
 * the spans this process keeps (the local runtime) and the live figures read from storage. On Azure no
 * spans are kept here: the job page shows the trace id to look up in Application Insights, and the
 * operations view the live figures, with the workbook for the rest.
 */
import type { JobRecord } from '../../core/job.js';
import { traceSpans, type SpanRecord } from '../../core/spans.js';
import type { JobContext } from '../job-context.js';
import { readLiveFigures } from '../telemetry/live.js';
import { operationsView, type OperationsView, type Window } from '../telemetry/operations.js';
import { traceIdOf } from '../telemetry/trace.js';

export interface OperationsAnswer extends OperationsView {
  /** Whether the charts have spans to draw from (false on Azure: see the workbook). */
  spansKept: boolean;
}

export interface TraceSpanRow {
  name: string;
  /** From the trace's first span. */
  offsetMs: number;
  durationMs: number;
  failed: boolean;
  /** The attributes a person looks for, as `key=value` text. */
  details: string;
}

export interface JobTrace {
  traceId: string;
  /** The spans kept here; null when this process keeps none (on Azure). */
  spans: TraceSpanRow[] | null;
}

export interface JobCost {
  usd: number | null;
  inputTokens: number;
  outputTokens: number;
}

export async function operations(rt: JobContext, window: string | null): Promise<OperationsAnswer> {
  const kept = rt.spans?.();
  const w: Window = window === 'day' ? 'day' : 'hour';
  const view = operationsView([...(kept ?? [])], await readLiveFigures(rt), w, rt.now().getTime());
  return { ...view, spansKept: kept !== undefined };
}

const SHOWN =
  /^imagegen\.(deployment|attempt|model\.outcome|retry_after_ms|verdict|outcome|reasons|cost_usd|intake|edit|error\.code|usage\.\w+)$/;

function row(span: SpanRecord, first: number): TraceSpanRow {
  const details = Object.entries(span.attributes)
    .filter(([k]) => SHOWN.test(k))
    .map(([k, v]) => `${k.slice('imagegen.'.length)}=${Array.isArray(v) ? v.join('; ') : String(v)}`)
    .join(' · ');
  return {
    name: span.name,
    offsetMs: Math.round(span.start - first),
    durationMs: Math.round(span.durationMs),
    failed: span.failed,
    details,
  };
}

export function jobTrace(rt: JobContext, job: JobRecord): JobTrace | null {
  const traceId = traceIdOf(job.traceparent);
  if (!traceId) return null;
  const kept = rt.spans?.();
  if (!kept) return { traceId, spans: null };
  const spans = traceSpans(kept, traceId);
  return { traceId, spans: spans.map((s) => row(s, spans[0]!.start)) };
}

export function jobCost(job: JobRecord): JobCost | null {
  if (!job.usage) return null;
  return { usd: job.costUsd ?? null, inputTokens: job.usage.inputTokens, outputTokens: job.usage.outputTokens };
}
