/**
 * One trace per job (W3C trace context). The job's `traceparent` is made when intake accepts the drop and
 * travels in the queue message and the job record, so every step (an edit attempt, its model call, publish,
 * the outcome event) adds its span to the same trace, even across instances and restarts. Spans go through
 * the OpenTelemetry API: with no SDK registered they cost nothing, yet the trace id is still made and kept.
 */
import { randomBytes } from 'node:crypto';
import {
  context,
  isSpanContextValid,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';

export { SpanKind } from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  const m = value ? TRACEPARENT.exec(value) : null;
  if (!m) return undefined;
  const sc: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
  return isSpanContextValid(sc) ? sc : undefined;
}

export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The trace id (32 hex digits) a traceparent names, as Application Insights shows it (`operation_Id`). */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  return parseTraceparent(traceparent)?.traceId;
}

/** What a step's code sees of its span. */
export interface StepSpan {
  /** This span's W3C traceparent, for handing on (queue message, job record, outcome event). */
  readonly traceparent: string;
  set(attributes: Attributes): void;
  event(name: string, attributes?: Attributes): void;
}

/** `parent`: a job's traceparent (the span joins that trace), `active` (the current span's child) or `new`. */
export type Parent = string | 'active' | 'new';

function parentContext(parent: Parent) {
  if (parent === 'active') return context.active();
  const sc = parent === 'new' ? undefined : parseTraceparent(parent);
  return sc ? trace.setSpanContext(context.active(), sc) : trace.deleteSpan(context.active());
}

/** Without an SDK the API's spans have no ids of their own; a made-up one keeps the trace id for the job. */
function withIds(span: Span, parent: SpanContext | undefined): Span {
  if (isSpanContextValid(span.spanContext())) return span;
  return trace.wrapSpanContext({
    traceId: parent?.traceId ?? randomBytes(16).toString('hex'),
    spanId: randomBytes(8).toString('hex'),
    traceFlags: TraceFlags.SAMPLED,
  });
}

function stepSpan(span: Span): StepSpan {
  return {
    traceparent: formatTraceparent(span.spanContext()),
    set: (attributes) => void span.setAttributes(attributes),
    event: (name, attributes) => void span.addEvent(name, attributes),
  };
}

/** Runs `fn` in a span; a throw marks the span failed and is rethrown. */
export async function inSpan<T>(
  name: string,
  options: { parent: Parent; kind?: SpanKind; attributes?: Attributes },
  fn: (span: StepSpan) => Promise<T>,
): Promise<T> {
  const ctx = parentContext(options.parent);
  const tracer = trace.getTracer('imagegen-pipeline');
  const span = withIds(
    tracer.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} }, ctx),
    trace.getSpanContext(ctx),
  );
  try {
    return await context.with(trace.setSpan(ctx, span), () => fn(stepSpan(span)));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

/** The current span's traceparent, when a step runs inside one. */
export function activeTraceparent(): string | undefined {
  const sc = trace.getSpanContext(context.active());
  return sc && isSpanContextValid(sc) ? formatTraceparent(sc) : undefined;
}

/** The trace a new job joins: the running step's (intake's span), or a new one when none runs (the sweep). */
export function traceOfStep(): { traceparent: string } {
  return {
    traceparent:
      activeTraceparent() ??
      formatTraceparent({
        traceId: randomBytes(16).toString('hex'),
        spanId: randomBytes(8).toString('hex'),
        traceFlags: TraceFlags.SAMPLED,
      }),
  };
}
