/**
 * A finished span as the console shows it, kept by the local runtime's span store
 * (shared/adapters/telemetry/ring.ts) and read by the use cases through `JobContext.spans`. Pure.
 */

export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  /** Epoch ms. */
  start: number;
  durationMs: number;
  failed: boolean;
  attributes: Record<string, unknown>;
  events: { name: string; at: number; attributes: Record<string, unknown> }[];
}

/** A trace's spans, earliest first (a store keeps them only roughly in time order). */
export function traceSpans(spans: readonly SpanRecord[], traceId: string): SpanRecord[] {
  return spans.filter((s) => s.traceId === traceId).sort((a, b) => a.start - b.start);
}
