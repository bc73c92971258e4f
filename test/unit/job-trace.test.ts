/**
 * One trace per job: intake starts it, the queue message and the job record carry it, and the edit, its
 * model calls (429s included), the gate and the job's end all land in it, with the job's cost from the
 * answer's token counts. Against the in-memory runtime, with the local runtime's span store.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EditMessage } from '../../shared/ports/edit-queue.js';
import { processEditMessage } from '../../shared/app/edit.js';
import { intakeBlob } from '../../shared/app/intake.js';
import { publishEditedBlob } from '../../shared/app/publish.js';
import type { JobRecord } from '../../shared/core/job.js';
import type { SpanRing } from '../../shared/adapters/telemetry/ring.js';
import { startLocalTracing } from '../../shared/adapters/telemetry/setup.js';
import { inSpan, SpanKind, traceIdOf } from '../../shared/app/telemetry/trace.js';
import { gradientImage, rectMask } from '../helpers/images.js';
import { memoryLogger, memoryRuntime, type MemoryRuntime } from './memory-runtime.js';

let ring: SpanRing;
let rt: MemoryRuntime;
let log: ReturnType<typeof memoryLogger>;
const usage = { inputTokens: 400, outputTokens: 1056, textTokens: 10, imageTokens: 390 };

beforeAll(async () => {
  ring = await startLocalTracing();
});

beforeEach(() => {
  rt = memoryRuntime();
  log = memoryLogger(rt);
});

/** As functions/intake.ts runs it: the blob event starts the job's trace. */
async function intake(stem: string): Promise<JobRecord> {
  await rt.upload(`${stem}.png`, await gradientImage(64, 64));
  await rt.upload(`${stem}.mask.png`, await rectMask(64, 64, { x: 0, y: 0, width: 16, height: 16 }));
  await inSpan('intake', { parent: 'new', kind: SpanKind.CONSUMER }, () =>
    intakeBlob(rt, `${stem}.mask.png`, undefined, log),
  );
  const id = (await rt.ledger.list({ limit: 10 })).jobs.find((j) => j.drop === stem)!.id;
  return (await rt.ledger.get(id))!.value;
}

/** As functions/edit.ts runs it: the message's traceparent is the parent. */
const edit = (message: EditMessage) =>
  inSpan('edit', { parent: message.traceparent ?? 'new' }, () => processEditMessage(rt, message, log));

describe('one trace per job', () => {
  it('runs from the blob event to the outcome, with the model call, the gate verdict and the cost', async () => {
    const events: [string, string][] = [];
    rt.blobStore.onBlobCreated = (container, name, etag) => void (container === 'edited' && events.push([name, etag]));
    rt.fakeModel.next = () => ({ kind: 'ok', bytes: Buffer.from('edited'), contentType: 'image/png', usage });
    const queued = await intake('trip/beach');
    const traceId = traceIdOf(queued.traceparent)!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(rt.sent[0]!.message.traceparent).toBe(queued.traceparent);

    expect(await edit(rt.sent[0]!.message)).toBe('edited');
    expect(await publishEditedBlob(rt, ...events[0]!, log)).toBe('published');
    const done = (await rt.ledger.get(queued.id))!.value;
    expect(done.traceparent).toBe(queued.traceparent);
    // gpt-image-2 at $5 text, $8 image in, $30 image out per million tokens.
    expect(done.costUsd).toBeCloseTo((10 * 5 + 390 * 8 + 1056 * 30) / 1e6, 10);
    expect(done.usage).toEqual(usage);

    const spans = ring.trace(traceId);
    expect(spans.map((s) => s.name)).toEqual(expect.arrayContaining(['intake', 'edit', 'images/edits', 'gate', 'job']));
    const byName = (name: string) => spans.find((s) => s.name === name)!;
    expect(byName('images/edits').parentSpanId).toBe(byName('edit').spanId);
    expect(byName('images/edits').attributes).toMatchObject({
      'imagegen.job': queued.id,
      'imagegen.model': 'gpt-image-2',
      'imagegen.attempt': 1,
      'imagegen.model.outcome': 'ok',
      'imagegen.usage.output_tokens': 1056,
    });
    expect(byName('gate').attributes).toMatchObject({ 'imagegen.verdict': 'publish' });
    expect(byName('job').attributes).toMatchObject({ 'imagegen.outcome': 'published', 'imagegen.drop': 'trip/beach' });
    // Time in each state the job passed through, for the p50/p95 figures.
    for (const state of ['queued', 'editing', 'edited', 'publishing'])
      expect(byName('job').attributes[`imagegen.time.${state}_ms`]).toBeGreaterThanOrEqual(0);
  });

  it('keeps a throttled job in its trace: the 429 and its Retry-After on the call, the retry in the same trace', async () => {
    const queued = await intake('trip/harbor');
    rt.fakeModel.next = () => ({ kind: 'throttled', retryAfterMs: 20_000, message: 'slow down' });
    expect(await edit(rt.sent[0]!.message)).toBe('throttled');
    expect(rt.sent[1]!.message.traceparent).toBe(queued.traceparent);
    const call = ring.trace(traceIdOf(queued.traceparent)!).find((s) => s.name === 'images/edits')!;
    expect(call.attributes).toMatchObject({ 'imagegen.model.outcome': 'throttled', 'imagegen.retry_after_ms': 20_000 });
  });

  it('gives a drop rejected at intake a trace too, ended with its reasons', async () => {
    await rt.upload('bad/x.png', await gradientImage(64, 64));
    await rt.upload('bad/x.mask.png', await rectMask(32, 32, { x: 0, y: 0, width: 8, height: 8 }));
    await inSpan('intake', { parent: 'new' }, () => intakeBlob(rt, 'bad/x.png', undefined, log));
    const id = (await rt.ledger.list({ limit: 10 })).jobs.find((j) => j.drop === 'bad/x')!.id;
    const job = (await rt.ledger.get(id))!.value;
    const spans = ring.trace(traceIdOf(job.traceparent)!);
    expect(spans.map((s) => s.name)).toEqual(expect.arrayContaining(['intake', 'job']));
    const end = spans.find((s) => s.name === 'job')!;
    expect(end.attributes).toMatchObject({ 'imagegen.outcome': 'rejected' });
    expect(String(end.attributes['imagegen.reasons'])).toMatch(/mask/i);
  });
});
