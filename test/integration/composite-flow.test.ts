import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePublisher } from '../../shared/adapters/signing/local-ca.js';
import { localSigner } from '../../shared/adapters/signing/local-signer.js';
import { publisherOf } from '../../shared/adapters/signing/publisher-from-settings.js';
import { BINDING_LABEL } from '../../shared/core/provenance/composite-binding.js';
import { gradientImage, portraitJpeg, rawPixels, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

let p: TestPipeline;
let photo: Buffer;
let mask: Buffer;

beforeAll(async () => {
  p = await startTestPipeline({ publisher: 'memory' });
  photo = await gradientImage(4000, 3000, 'jpeg');
  mask = await rectMask(4000, 3000, { x: 1000, y: 1000, width: 1200, height: 900 });
}, 60_000);
afterAll(() => p?.close());

const read = async (container: 'published' | 'edited' | 'quarantine', name: string) =>
  p.runtime.containers[container].getBlobClient(name).downloadToBuffer();

describe('a 12 MP JPEG drop through the pipeline', () => {
  it('publishes the photo at 4000x3000 with the publisher manifest over the Azure edit', async () => {
    await p.upload('full/photo.jpg', photo);
    await p.upload('full/photo.mask.png', mask);
    const job = await p.settled('full/photo', 120_000);
    expect(job.state).toBe('published');
    expect(job.publish?.blob).toBe('published/full/photo.jpg');
    const published = await read('published', 'full/photo.jpg');
    expect(await sharp(published).metadata()).toMatchObject({ width: 4000, height: 3000, format: 'jpeg' });
    // The model's own output stays in edited/.
    expect(await sharp(await read('edited', job.edit!.output!.name)).metadata()).not.toMatchObject({ width: 4000 });
    const report = JSON.parse((await read('published', 'full/photo.provenance.json')).toString('utf8'));
    expect(report.verdict).toBe('publish');
    expect(report.output).toBe('composite');
    expect(report.manifest).toMatchObject({
      claimGenerator: 'imagegen-pipeline 1.0',
      softwareAgent: 'Azure OpenAI ImageGen',
      agentFoundIn: 'ingredient',
    });
    const names = report.checks.map((c: { name: string }) => c.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'Publisher: signed by the configured publisher',
        'Azure ingredient: Made by an allowed AI agent',
        "Azure ingredient: Signed during this job's edit",
      ]),
    );
    expect(report.edit.verdict).toBe('publish');
    expect(report.stored).toBe('signed composite');
    // Bound to the very bytes in edited/: the binding's hash was checked against them before publishing.
    expect(names).toContain('Bound to the edit: the recorded model output');
    expect(published.includes(Buffer.from(BINDING_LABEL))).toBe(true);
  }, 150_000);

  it('a composite that fails once signed is quarantined unsigned, with the report', async () => {
    // The pipeline signs with a key of another CA than the chain it pins: the signed composite fails.
    const real = (await p.runtime.publisher!())!;
    const other = await generatePublisher('imagegen-pipeline local publisher');
    p.runtime.publisher = async () => publisherOf(localSigner(other.keyPem, other.chainPem), real.verifier);
    try {
      await p.upload('full/unsigned.jpg', photo);
      await p.upload('full/unsigned.mask.png', mask);
      const job = await p.settled('full/unsigned', 120_000);
      expect(job.state).toBe('quarantined');
    } finally {
      p.runtime.publisher = async () => real;
    }
    const kept = await read('quarantine', 'full/unsigned.jpg');
    expect(await sharp(kept).metadata()).toMatchObject({ width: 4000, height: 3000, format: 'jpeg' });
    // No manifest store at all: nothing signed as the publisher left the pipeline.
    expect(kept.includes(Buffer.from('c2pa'))).toBe(false);
    const report = JSON.parse((await read('quarantine', 'full/unsigned.provenance.json')).toString('utf8'));
    expect(report).toMatchObject({ verdict: 'quarantine', stored: 'unsigned composite' });
    expect(report.reasons.join()).toMatch(/signed by a certificate other than the pinned publisher/);
    expect(await p.runtime.containers.published.getBlobClient('full/unsigned.jpg').exists()).toBe(false);
  }, 150_000);

  it('publishes the model output as it is when the sidecar asks for "output": "model"', async () => {
    await p.upload('full/model.json', JSON.stringify({ output: 'model' }));
    await p.upload('full/model.jpg', photo);
    await p.upload('full/model.mask.png', mask);
    const job = await p.settled('full/model', 120_000);
    expect(job.state).toBe('published');
    const name = job.edit!.output!.name;
    expect(job.publish?.blob).toBe(`published/${name}`);
    expect((await read('published', name)).equals(await read('edited', name))).toBe(true);
  }, 150_000);

  it('publishes an iterative edit: a published model output dropped again as the photo', async () => {
    await p.upload('again/first.json', JSON.stringify({ output: 'model' }));
    await p.upload('again/first.png', await gradientImage(1536, 1024, 'png'));
    await p.upload('again/first.mask.png', await rectMask(1536, 1024, { x: 100, y: 100, width: 300, height: 200 }));
    const first = await p.settled('again/first', 120_000);
    expect(first.state).toBe('published');
    const azureSigned = await read('published', first.edit!.output!.name);
    const { width, height } = await sharp(azureSigned).metadata();
    await p.upload(`again/second.${first.edit!.output!.name.split('.').pop()}`, azureSigned);
    await p.upload(
      'again/second.mask.png',
      await rectMask(width!, height!, { x: 600, y: 400, width: 300, height: 200 }),
    );
    const second = await p.settled('again/second', 120_000);
    const folder = second.state === 'published' ? 'published' : 'quarantine';
    const report = JSON.parse((await read(folder, 'again/second.provenance.json')).toString('utf8'));
    expect(report.reasons).toEqual([]);
    expect(second.state).toBe('published');
    // The Azure ingredient is the new edit, credited from its own verdict: the photo's old edit is not the evidence.
    const azure = report.checks.find(
      (c: { name: string }) => c.name === 'Azure ingredient: Made by an allowed AI agent',
    );
    expect(azure.detail).toMatch(/this ingredient is its manifest, byte for byte/);
    // The window is checked on the new edit's own time-stamp, not on the photo's earlier one.
    expect(report.signingTime.source).toBe('timestamp');
  }, 150_000);

  it('publishes a portrait stored landscape (EXIF 6) upright, at its own size, changed only inside the mask', async () => {
    const { stored } = await portraitJpeg(1024, 1536, 6);
    const hole = { x: 200, y: 300, width: 400, height: 500 };
    await p.upload('full/portrait.jpg', stored);
    await p.upload('full/portrait.mask.png', await rectMask(1024, 1536, hole)); // painted as displayed
    const job = await p.settled('full/portrait', 120_000);
    expect(job.state).toBe('published');
    const published = await rawPixels(await read('published', 'full/portrait.jpg'));
    // The input as displayed: the stored JPEG's own pixels, turned upright.
    const input = await rawPixels(await sharp(stored).rotate().png().toBuffer());
    expect([published.width, published.height]).toEqual([1024, 1536]);
    // Outside the mask (away from its feathered edge) the pixels are the input's, up to JPEG's re-encode.
    let worstOutside = 0;
    let changedInside = 0;
    for (let y = 0; y < 1536; y += 8) {
      for (let x = 0; x < 1024; x += 8) {
        const i = (y * 1024 + x) * published.channels;
        const j = (y * 1024 + x) * input.channels;
        const diff = Math.max(...[0, 1, 2].map((c) => Math.abs(published.data[i + c]! - input.data[j + c]!)));
        const inside = x >= hole.x && x < hole.x + hole.width && y >= hole.y && y < hole.y + hole.height;
        const nearEdge =
          x >= hole.x - 16 && x < hole.x + hole.width + 16 && y >= hole.y - 16 && y < hole.y + hole.height + 16;
        if (inside && diff > 24) changedInside++;
        if (!nearEdge) worstOutside = Math.max(worstOutside, diff);
      }
    }
    expect(worstOutside).toBeLessThanOrEqual(12); // a sideways or shifted result differs by far more
    expect(changedInside).toBeGreaterThan(0);
  }, 150_000);
});

describe('re-drops of a composite', () => {
  const callsFor = (jobId: string) => p.emulator!.requests().filter((r) => r.clientRequestId?.startsWith(`${jobId}-`));
  const report = async (name: string) => JSON.parse((await read('published', name)).toString('utf8'));
  const newJob = async (key: string, known: string[]) => {
    const jobs = await p.waitFor((js) => js.some((j) => j.drop.key === key && !known.includes(j.id)), 60_000);
    const fresh = jobs.find((j) => j.drop.key === key && !known.includes(j.id))!;
    return p.settled(key, 120_000).then(() => fresh.id);
  };

  it('an identical re-upload is not edited again; a changed one replaces the composite and says so', async () => {
    const small = await gradientImage(512, 384, 'jpeg');
    const hole = await rectMask(512, 384, { x: 100, y: 100, width: 128, height: 96 });
    await p.upload('again/photo.json', JSON.stringify({ prompt: 'a kite' }));
    await p.upload('again/photo.mask.png', hole);
    await p.upload('again/photo.jpg', small);
    const first = await p.settled('again/photo', 120_000);
    expect(first.state).toBe('published');
    expect((await report('again/photo.provenance.json')).output).toBe('composite');

    // The same bytes again, as `az storage blob upload --overwrite` or a sync tool touching files does.
    await p.upload('again/photo.jpg', small);
    const againId = await newJob('again/photo', [first.id]);
    const again = (await p.runtime.ledger.get(againId))!.value;
    expect(again).toMatchObject({ state: 'rejected', error: { code: 'redrop' } });
    expect(callsFor(again.id)).toHaveLength(0);
    expect(await report('again/photo.redrop.json')).toMatchObject({
      jobId: again.id,
      note: 'already published as published/again/photo.jpg',
      earlierJob: first.id,
    });

    await p.upload('again/photo.json', JSON.stringify({ prompt: 'a red kite' }));
    const changedId = await newJob('again/photo', [first.id, again.id]);
    const changed = (await p.runtime.ledger.get(changedId))!.value;
    const replaces = { jobId: first.id, result: 'published/again/photo.jpg' };
    expect(changed).toMatchObject({ state: 'published', replaces });
    expect(await report('again/photo.provenance.json')).toMatchObject({
      output: 'composite',
      job: { id: changed.id, replaces },
    });
  }, 200_000);
});
