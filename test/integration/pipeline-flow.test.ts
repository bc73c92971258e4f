/** The drop-folder pipeline end to end: Azurite + Event Grid + the emulator + the local host, nothing mocked. */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isTerminal, type JobRecord } from '../../shared/core/job.js';
import { STATE_LINE } from '../../shared/core/log.js';
import { gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

let p: TestPipeline;
let image: Buffer;
let mask: Buffer;

beforeAll(async () => {
  p = await startTestPipeline({
    emulator: { blockWords: ['forbidden'] },
    settings: { IMAGE_MODEL_RPM: '6000', DROP_SETTLE: '1500ms' },
  });
  image = await gradientImage(256, 256);
  mask = await rectMask(256, 256, { x: 64, y: 64, width: 64, height: 64 });
});
afterAll(() => p.close());

const callsFor = (job: JobRecord) => p.emulator!.requests().filter((r) => r.clientRequestId?.startsWith(`${job.id}-`));
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('arrival order does not matter', () => {
  it.each([
    ['image then mask', ['png', 'mask'] as const],
    ['mask then image', ['mask', 'png'] as const],
  ])('%s', async (name, order) => {
    const stem = `order/${name.replace(/ /g, '-')}`;
    for (const part of order)
      await p.upload(part === 'png' ? `${stem}.png` : `${stem}.mask.png`, part === 'png' ? image : mask);
    const job = await p.settled(stem);
    expect(job.state).toBe('published');
  });

  it('a sidecar arriving last, within DROP_SETTLE, still supplies the prompt', async () => {
    await p.upload('order/sidecar-last.png', image);
    await p.upload('order/sidecar-last.mask.png', mask);
    await sleep(300);
    await p.upload('order/sidecar-last.json', JSON.stringify({ prompt: 'a lighthouse made of glass' }));
    const jobs = await p.waitFor((js) => js.some((j) => j.drop.key === 'order/sidecar-last' && isTerminal(j.state)));
    const mine = jobs.filter((j) => j.drop.key === 'order/sidecar-last');
    expect(mine).toHaveLength(1);
    expect(mine[0]!.request).toMatchObject({ prompt: 'a lighthouse made of glass', promptSource: 'sidecar' });
  });

  it('without a sidecar the prompt comes from the image metadata, then the default', async () => {
    await p.upload('prompt/meta.png', image, { prompt: 'a red kite' });
    await p.upload('prompt/meta.mask.png', mask);
    await p.upload('prompt/default.png', image);
    await p.upload('prompt/default.mask.png', mask);
    expect((await p.settled('prompt/meta')).request).toMatchObject({ prompt: 'a red kite', promptSource: 'metadata' });
    expect((await p.settled('prompt/default')).request?.promptSource).toBe('default');
  });
});

describe('at-least-once delivery', () => {
  it('the same events delivered three times make one job and one model call', async () => {
    p.storage.eventGrid.setDelivery({ duplicates: 2, jitterMs: 200 });
    try {
      await p.upload('dup/cat.json', JSON.stringify({ prompt: 'a hat' }));
      await p.upload('dup/cat.png', image);
      await p.upload('dup/cat.mask.png', mask);
      const job = await p.settled('dup/cat');
      await p.storage.eventGrid.idle();
      expect((await p.jobs()).filter((j) => j.drop.key === 'dup/cat')).toHaveLength(1);
      expect(job.state).toBe('published');
      expect(callsFor(job)).toHaveLength(1);
      expect(job.history.filter((h) => h.state === 'published')).toHaveLength(1);
    } finally {
      p.storage.eventGrid.setDelivery({ duplicates: 0, jitterMs: 0 });
    }
  });

  it('a re-upload with new content is a new job', async () => {
    await p.upload('reup/dog.png', image);
    await p.upload('reup/dog.mask.png', mask);
    const first = await p.settled('reup/dog');
    await p.upload(
      'reup/dog.png',
      await gradientImage(256, 256, 'png').then((b) =>
        Buffer.concat([b.subarray(0, b.length - 12), b.subarray(b.length - 12)]),
      ),
      { prompt: 'changed' },
    );
    const jobs = await p.waitFor(
      (js) => js.filter((j) => j.drop.key === 'reup/dog' && isTerminal(j.state)).length === 2,
    );
    const second = jobs.find((j) => j.drop.key === 'reup/dog' && j.id !== first.id)!;
    expect(second.request?.prompt).toBe('changed');
    expect(second.state).toBe('published');
  });
});

describe('what lands where', () => {
  it("edited/ holds the model's bytes untouched, and published/ the same bytes with a provenance report", async () => {
    await p.upload(
      'bytes/owl.json',
      JSON.stringify({ prompt: 'an owl', output_format: 'jpeg', output_compression: 85 }),
    );
    await p.upload('bytes/owl.png', image);
    await p.upload('bytes/owl.mask.png', mask);
    const job = await p.settled('bytes/owl');
    expect(job.state).toBe('published');
    const [call] = callsFor(job);
    const edited = await p.runtime.containers.edited.getBlobClient('bytes/owl.jpg').downloadToBuffer();
    const published = await p.runtime.containers.published.getBlobClient('bytes/owl.jpg').downloadToBuffer();
    expect(sha256(edited)).toBe(call!.outputSha256[0]);
    expect(sha256(published)).toBe(call!.outputSha256[0]);
    expect(job.edit?.output?.sha256).toBe(call!.outputSha256[0]);
    const props = await p.runtime.containers.edited.getBlobClient('bytes/owl.jpg').getProperties();
    expect(props.metadata).toMatchObject({ jobid: job.id, attempt: '1' });
    expect(props.contentType).toBe('image/jpeg');
    const report = JSON.parse(
      (await p.runtime.containers.published.getBlobClient('bytes/owl.provenance.json').downloadToBuffer()).toString(
        'utf8',
      ),
    );
    expect(report).toMatchObject({
      verdict: 'publish',
      reasons: [],
      job: { id: job.id },
      manifest: { softwareAgent: 'Azure OpenAI ImageGen', dataHash: 'match' },
    });
    expect(report.signingTime.source).toBe('timestamp');
  });

  it('a content-filter refusal rejects the job with the service message and a report', async () => {
    await p.upload('filter/x.json', JSON.stringify({ prompt: 'something forbidden' }));
    await p.upload('filter/x.png', image);
    await p.upload('filter/x.mask.png', mask);
    const job = await p.settled('filter/x');
    expect(job.state).toBe('rejected');
    expect(job.error?.code).toBe('content_policy_violation');
    const report = await p.report('rejected', 'filter/x.json');
    expect(report.problems[0]).toMatch(/content filter refused the prompt: Your request was rejected/);
    expect(await p.runtime.containers.edited.getBlobClient('filter/x.png').exists()).toBe(false);
  });

  it('a blob written straight into edited/ with no job is gated and quarantined', async () => {
    await p.runtime.containers.edited.getBlockBlobClient('orphans/plain.png').uploadData(image);
    const deadline = Date.now() + 15_000;
    while (
      !(await p.runtime.containers.quarantine.getBlobClient('orphans/plain.provenance.json').exists()) &&
      Date.now() < deadline
    )
      await sleep(100);
    const report = JSON.parse(
      (
        await p.runtime.containers.quarantine.getBlobClient('orphans/plain.provenance.json').downloadToBuffer()
      ).toString('utf8'),
    );
    expect(report).toMatchObject({ verdict: 'quarantine', job: null, destination: 'quarantine/orphans/plain.png' });
    expect(await p.runtime.containers.published.getBlobClient('orphans/plain.png').exists()).toBe(false);
  });
});

describe('model failures', () => {
  it('5xx then success: retried with backoff, then published', async () => {
    p.emulator!.setFaults({ http503: 1 });
    await p.upload('retry/a.png', image);
    await p.upload('retry/a.mask.png', mask);
    await p.waitFor((js) => js.some((j) => j.drop.key === 'retry/a' && j.attempts >= 1 && j.state === 'queued'));
    p.emulator!.setFaults({});
    const job = await p.settled('retry/a');
    expect(job.state).toBe('published');
    expect(job.attempts).toBe(2);
    expect(job.history.find((h) => h.error)?.error?.message).toMatch(/HTTP 503/);
    expect(callsFor(job).map((c) => c.status)).toEqual([503, 200]);
  });

  it('429: back on the queue after Retry-After without counting an attempt', async () => {
    p.emulator!.setRpm(12); // a bucket of two, one more every 5 s; the pipeline still paces as if it had 6000 RPM
    try {
      const drops = ['throttle/a', 'throttle/b', 'throttle/c'];
      for (const d of drops) {
        await p.upload(`${d}.png`, image);
        await p.upload(`${d}.mask.png`, mask);
      }
      const jobs = await p.waitFor(
        (js) => drops.every((d) => js.some((j) => j.drop.key === d && isTerminal(j.state))),
        60_000,
      );
      const mine = jobs.filter((j) => drops.includes(j.drop.key));
      expect(mine.map((j) => j.state)).toEqual(['published', 'published', 'published']);
      expect(mine.reduce((n, j) => n + j.throttled, 0)).toBeGreaterThan(0);
      for (const j of mine) {
        expect(j.attempts).toBe(1);
        expect(j.modelCalls).toBe(1 + j.throttled);
        expect(callsFor(j)).toHaveLength(j.modelCalls);
      }
    } finally {
      p.emulator!.setRpm(10_000);
    }
  });

  it('gives up after IMAGE_MODEL_MAX_ATTEMPTS and records the error', async () => {
    // A second pipeline with one attempt allowed, so the test does not wait out the backoff.
    const strict = await startTestPipeline({
      emulator: { faults: { http500: 1 } },
      settings: { IMAGE_MODEL_MAX_ATTEMPTS: '1', IMAGE_MODEL_RPM: '6000' },
    });
    try {
      await strict.upload('fail/a.png', image);
      await strict.upload('fail/a.mask.png', mask);
      const job = await strict.settled('fail/a');
      expect(job.state).toBe('failed');
      expect(job.error?.message).toMatch(/HTTP 500/);
      const report = await strict.report('rejected', 'fail/a.json');
      expect(report.problems[0]).toMatch(/failed 1 times; last error: HTTP 500/);
    } finally {
      await strict.close();
    }
  });
});

describe('the ledger', () => {
  it('every accepted drop ends in exactly one terminal state, and every state change was logged with its job and drop', async () => {
    const jobs = await p.waitFor((js) => js.every((j) => isTerminal(j.state)), 60_000);
    for (const j of jobs) {
      expect(j.history.filter((h) => isTerminal(h.state))).toHaveLength(1);
      expect(j.history.at(-1)!.state).toBe(j.state);
    }
    const published = jobs.filter((j) => j.state === 'published');
    const publishedBlobs = (await p.blobNames('published')).filter((n) => !n.endsWith('.provenance.json'));
    for (const j of published) expect(publishedBlobs).toContain(j.publish!.blob.replace(/^published\//, ''));
    const stateLines = p.logs.filter((l) => STATE_LINE.test(l.message));
    for (const j of jobs) {
      const lines = stateLines.filter((l) => l.message.startsWith(`job=${j.id} drop=${j.drop.key} `));
      expect(lines.length).toBe(j.history.length);
    }
  });
});

describe('re-uploads', () => {
  it('re-uploading every part of a finished drop makes one new job, not one per intermediate mix', async () => {
    // A pipeline with a real settle time: parts of very different ages mean a re-upload is under way.
    const settling = await startTestPipeline({ settings: { IMAGE_MODEL_RPM: '6000', DROP_SETTLE: '2s' } });
    try {
      await settling.upload('again/cat.json', JSON.stringify({ prompt: 'first' }));
      await settling.upload('again/cat.png', image);
      await settling.upload('again/cat.mask.png', mask);
      const first = await settling.settled('again/cat');
      await sleep(3_500); // older than DROP_SETTLE, as a real re-upload would be
      await settling.upload('again/cat.json', JSON.stringify({ prompt: 'second' }));
      await settling.upload('again/cat.mask.png', mask);
      await sleep(500);
      await settling.upload('again/cat.png', image);
      const jobs = await settling.waitFor(
        (js) =>
          js.filter((j) => j.drop.key === 'again/cat' && isTerminal(j.state)).length >= 2 &&
          js.every((j) => isTerminal(j.state)),
        30_000,
      );
      await sleep(1_000);
      const mine = (await settling.jobs()).filter((j) => j.drop.key === 'again/cat' && j.id !== first.id);
      expect(mine.map((j) => [j.state, j.request?.prompt])).toEqual([['published', 'second']]);
      expect(jobs.length).toBe(2);
    } finally {
      await settling.close();
    }
  });
});

describe('the persisted default publishes on the event (no sweep)', () => {
  /** A pipeline like `npm start`: Azurite persisted to a fresh folder, the sweep's timer off. */
  const persisted = () =>
    startTestPipeline({
      storage: { azurite: { location: mkdtempSync(path.join(tmpdir(), 'persisted-')) } },
      settings: { IMAGE_MODEL_RPM: '6000' },
    });
  const publishedLine = (q: TestPipeline, job: JobRecord) =>
    q.logs.find((l) => l.message.startsWith(`job=${job.id} `) && STATE_LINE.exec(l.message)?.[4] === 'published');

  it('a JPEG, a PNG and a WebP drop are each published on the event, seconds after the output lands; the log names the function', async () => {
    const q = await persisted();
    try {
      const drops = (['jpeg', 'png', 'webp'] as const).map((format) => ({
        key: `trip/${format}`,
        ext: format === 'jpeg' ? 'jpg' : format,
        format,
      }));
      const uploaded = new Map<string, number>();
      for (const d of drops) {
        await q.upload(`${d.key}.json`, JSON.stringify({ prompt: 'a glass lighthouse' }));
        await q.upload(`${d.key}.mask.png`, mask);
        await q.upload(`${d.key}.${d.ext}`, await gradientImage(256, 256, d.format));
        uploaded.set(d.key, Date.now());
      }
      for (const d of drops) {
        const job = await q.settled(d.key, 20_000);
        expect(job.state).toBe('published');
        // The sweep is off (and would wait two minutes): publication within seconds is the event's doing.
        // Bounds leave room for a cold gate on a busy machine; `npm run bench` (b) has the figures.
        const at = (state: string) => Date.parse(job.history.find((h) => h.state === state)!.at);
        expect(at('published') - at('edited')).toBeLessThan(3_000);
        expect(at('published') - uploaded.get(d.key)!).toBeLessThan(15_000);
        expect(['publish', 'edit']).toContain(job.publish?.by);
        // The ledger records the state just before the function logs it.
        const line = await vi.waitFor(() => {
          const found = publishedLine(q, job);
          if (!found) throw new Error(`no "published" log line yet for ${d.key}`);
          return found;
        });
        expect(line?.functionName).toBe(job.publish?.by);
        expect(line?.message).toContain(`by ${job.publish?.by}`);
      }
    } finally {
      await q.close();
    }
  });

  it("when the output's event comes before `edited` is recorded, the edit worker publishes at once", async () => {
    const q = await persisted();
    const records = q.runtime.ledger.store;
    const write = records.write.bind(records);
    // Hold back the worker's `edited` write, as a slow ledger write on Azure would be: the event wins.
    records.write = async (name, text, condition, metadata) => {
      if (/"state": "edited"/.test(text) && !/"outputEvent"/.test(text)) await sleep(1_000);
      return write(name, text, condition, metadata);
    };
    try {
      await q.upload('race/kite.png', image);
      await q.upload('race/kite.mask.png', mask);
      const started = Date.now();
      const job = await q.settled('race/kite', 20_000);
      expect(job).toMatchObject({
        state: 'published',
        publish: { by: 'edit' },
        outputEvent: { etag: job.edit!.output!.etag },
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(job.history.map((h) => h.state)).toEqual(['queued', 'editing', 'edited', 'publishing', 'published']);
      expect(publishedLine(q, job)?.functionName).toBe('edit');
      expect(
        q.logs.some((l) => l.functionName === 'publish' && l.message.includes('the worker publishes it when it does')),
      ).toBe(true);
    } finally {
      records.write = write;
      await q.close();
    }
  });
});
