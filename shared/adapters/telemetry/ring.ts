/**
 * The local runtime's trace store: the spans of the last day in memory (with a cap of about 10,000 jobs' worth), so the
 * console can show a job's trace without Application Insights. Implements the SDK's SpanExporter.
 */
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { traceSpans, type SpanRecord } from '../../core/spans.js';

export type { SpanRecord } from '../../core/spans.js';

const toMs = ([s, ns]: [number, number]) => s * 1000 + ns / 1e6;

function recordOf(span: ReadableSpan): SpanRecord {
  const parent = span.parentSpanContext?.spanId;
  return {
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    ...(parent ? { parentSpanId: parent } : {}),
    name: span.name,
    kind: span.kind,
    start: toMs(span.startTime),
    durationMs: toMs(span.duration),
    failed: span.status.code === 2,
    attributes: { ...span.attributes },
    events: span.events.map((e) => ({ name: e.name, at: toMs(e.time), attributes: { ...(e.attributes ?? {}) } })),
  };
}

export class SpanRing implements SpanExporter {
  private spans: SpanRecord[] = [];

  constructor(
    private readonly keepMs = 24 * 3600_000,
    private readonly cap = 60_000,
    private readonly now = () => Date.now(),
  ) {}

  export(spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    this.spans.push(...spans.map(recordOf));
    const oldest = this.now() - this.keepMs;
    // Dropped from the front: spans arrive roughly in time order.
    let drop = Math.max(0, this.spans.length - this.cap);
    while (drop < this.spans.length && this.spans[drop]!.start < oldest) drop++;
    if (drop > 0) this.spans = this.spans.slice(drop);
    done({ code: 0 });
  }

  async shutdown(): Promise<void> {}

  /** A trace's spans, earliest first. */
  trace(traceId: string): SpanRecord[] {
    return traceSpans(this.spans, traceId);
  }

  /** Every span kept, oldest first (roughly). */
  all(): readonly SpanRecord[] {
    return this.spans;
  }
}
