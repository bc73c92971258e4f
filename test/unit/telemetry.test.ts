/** Trace context, the answer's token counts and their cost, the local span store and the operations figures. */
import { describe, expect, it } from 'vitest';
import { decodeBase64Image } from '../../shared/adapters/azure/streaming-image.js';
import { costUsd, formatUsd, usageInTail } from '../../shared/core/cost.js';
import type { LiveFigures } from '../../shared/app/telemetry/live.js';
import { operationsView, percentiles } from '../../shared/app/telemetry/operations.js';
import { SpanRing, type SpanRecord } from '../../shared/adapters/telemetry/ring.js';
import { formatTraceparent, parseTraceparent, traceIdOf } from '../../shared/app/telemetry/trace.js';

describe('trace context', () => {
  it('reads and writes W3C traceparent, and refuses malformed or all-zero ids', () => {
    const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(formatTraceparent(parseTraceparent(tp)!)).toBe(tp);
    expect(traceIdOf(tp)).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(parseTraceparent('00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined();
    expect(parseTraceparent('garbage')).toBeUndefined();
  });
});

describe('cost', () => {
  const answer = (usage: object) =>
    JSON.stringify({ created: 1, data: [{ b64_json: Buffer.from('PNGDATA').toString('base64') }], usage });

  it("reads the answer's usage after its image, split across chunks, while the image streams", async () => {
    const usage = {
      input_tokens: 400,
      output_tokens: 1056,
      input_tokens_details: { text_tokens: 10, image_tokens: 390 },
    };
    const text = Buffer.from(answer(usage));
    const chunks = [text.subarray(0, 20), text.subarray(20, 50), text.subarray(50)];
    let tail = '';
    const pieces: Buffer[] = [];
    for await (const piece of decodeBase64Image(chunks, (t) => (tail = t))) pieces.push(piece);
    expect(Buffer.concat(pieces).toString()).toBe('PNGDATA');
    expect(usageInTail(tail)).toEqual({ inputTokens: 400, outputTokens: 1056, textTokens: 10, imageTokens: 390 });
  });

  it('prices tokens at the catalog price, input it cannot split as text, and none for a model without a price', () => {
    expect(
      costUsd('gpt-image-2', { inputTokens: 400, outputTokens: 1056, textTokens: 10, imageTokens: 390 }),
    ).toBeCloseTo((10 * 5 + 390 * 8 + 1056 * 30) / 1e6, 12);
    expect(costUsd('gpt-image-1-mini', { inputTokens: 1000, outputTokens: 1000 })).toBeCloseTo(
      (1000 * 2 + 1000 * 8) / 1e6,
      12,
    );
    expect(costUsd('gpt-image-1', { inputTokens: 1, outputTokens: 1 })).toBeUndefined();
    expect(usageInTail('"}]}')).toBeUndefined();
    expect(formatUsd(0.0354)).toBe('$0.0354');
    expect(formatUsd(12.345)).toBe('$12.35');
  });
});

const span = (
  name: string,
  start: number,
  durationMs: number,
  attributes: Record<string, unknown> = {},
): SpanRecord => ({
  traceId: 'a'.repeat(32),
  spanId: Math.random().toString(16).slice(2, 18).padEnd(16, '0'),
  name,
  kind: 0,
  start,
  durationMs,
  failed: false,
  attributes,
  events: [],
});

describe('span store', () => {
  it('keeps a day and drops what is older', () => {
    let now = 0;
    const ring = new SpanRing(24 * 3600_000, 1000, () => now);
    const asReadable = (s: SpanRecord) =>
      ({
        name: s.name,
        kind: 0,
        spanContext: () => ({ traceId: s.traceId, spanId: s.spanId, traceFlags: 1 }),
        startTime: [s.start / 1000, 0],
        duration: [0, 0],
        status: { code: 0 },
        attributes: {},
        events: [],
      }) as never;
    ring.export([asReadable(span('old', 0, 0))], () => undefined);
    now = 25 * 3600_000;
    ring.export([asReadable(span('new', now, 0))], () => undefined);
    expect(ring.all().map((s) => s.name)).toEqual(['new']);
  });
});

describe('operations figures', () => {
  const now = Date.parse('2026-12-07T12:00:00Z');
  const live: LiveFigures = {
    at: new Date(now).toISOString(),
    queued: 3,
    working: 1,
    oldestQueuedSeconds: 240,
    deadLetteredEvents: 0,
    deadLetteredOutcomeEvents: 1,
    owedOutcomeEvents: 0,
    members: [
      { id: 'east', deployment: 'gpt-image-2', model: 'gpt-image-2', region: 'eastus2', rpm: 9, breaker: 'open' },
    ],
  };

  it('counts outcomes per minute, time in states, latency, 429s, quota, reasons and cost', () => {
    const spans = [
      span('job', now - 30 * 60_000, 20_000, {
        'imagegen.outcome': 'published',
        'imagegen.cost_usd': 0.04,
        'imagegen.time.queued_ms': 1000,
      }),
      span('job', now - 10 * 60_000, 30_000, {
        'imagegen.outcome': 'quarantined',
        'imagegen.reasons': ['no Content Credentials'],
        'imagegen.cost_usd': 0.03,
        'imagegen.time.queued_ms': 3000,
      }),
      span('job', now - 2 * 3600_000, 1000, { 'imagegen.outcome': 'rejected', 'imagegen.reasons': ['bad mask'] }),
      span('images/edits', now - 30_000, 12_000, { 'imagegen.deployment': 'east', 'imagegen.model.outcome': 'ok' }),
      span('images/edits', now - 20_000, 100, {
        'imagegen.deployment': 'east',
        'imagegen.model.outcome': 'throttled',
        'imagegen.retry_after_ms': 20_000,
      }),
    ];
    const hour = operationsView(spans, live, 'hour', now);
    expect(hour.totals).toEqual({ published: 1, quarantined: 1, rejected: 0, failed: 0 });
    expect(hour.outcomes).toHaveLength(60);
    expect(hour.outcomes[30]!.published).toBe(1); // ended 29m40s ago: the 31st minute of the hour
    expect(hour.stateTimes).toEqual([{ state: 'queued', n: 2, p50Ms: 1000, p95Ms: 3000 }]);
    expect(hour.deployments[0]).toMatchObject({
      id: 'east',
      n: 1,
      p50Ms: 12_000,
      throttled: 1,
      maxRetryAfterMs: 20_000,
    });
    expect(hour.deployments[0]).toMatchObject({ callsLastMinute: 2, rpm: 9, breaker: 'open' });
    expect(hour.topReasons).toEqual([{ outcome: 'quarantined', reason: 'no Content Credentials', count: 1 }]);
    expect(hour.cost.windowUsd).toBeCloseTo(0.07, 10);
    const day = operationsView(spans, live, 'day', now);
    expect(day.totals.rejected).toBe(1);
    expect(day.cost.todayUsd).toBeCloseTo(0.07, 10);
  });

  it('takes nearest-rank percentiles', () => {
    expect(percentiles([5, 1, 4, 2, 3])).toEqual({ n: 5, p50Ms: 3, p95Ms: 5 });
    expect(percentiles([])).toEqual({ n: 0, p50Ms: 0, p95Ms: 0 });
  });
});
