/**
 * Real photos through the local pipeline (Azurite + Event Grid + the emulator + the local host): portrait
 * orientation, camera-sized JPEGs, big metadata, masks of every kind, animations and re-drops.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal, type JobRecord } from '../../shared/core/job.js';
import {
  asApng,
  gradientImage,
  opaqueMask,
  portraitJpeg,
  recodedMask,
  rectMask,
  transparentWebp,
  uncompressedMask,
  withBigITxt,
  withExtendedXmp,
} from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

let p: TestPipeline;
beforeAll(async () => {
  p = await startTestPipeline({ settings: { IMAGE_MODEL_RPM: '6000' } });
});
afterAll(() => p.close());

const callsFor = (job: JobRecord) => p.emulator!.requests().filter((r) => r.clientRequestId?.startsWith(`${job.id}-`));
const download = async (container: 'edited' | 'published' | 'quarantine' | 'rejected', name: string) =>
  p.runtime.containers[container].getBlobClient(name).downloadToBuffer();
const json = async (container: 'published' | 'quarantine' | 'rejected', name: string) =>
  JSON.parse((await download(container, name)).toString('utf8')) as Record<string, unknown>;

/** Uploads a drop and waits for its job (one not in `earlier`) to end. */
async function drop(
  stem: string,
  image: { ext: string; bytes: Buffer },
  mask: Buffer,
  sidecar?: object,
  earlier: JobRecord[] = [],
): Promise<JobRecord> {
  if (sidecar) await p.upload(`${stem}.json`, JSON.stringify(sidecar));
  await p.upload(`${stem}.mask.png`, mask);
  await p.upload(`${stem}.${image.ext}`, image.bytes);
  const known = new Set(earlier.map((j) => j.id));
  const isNew = (j: JobRecord) => j.drop.key === stem && !known.has(j.id);
  const jobs = await p.waitFor((js) => js.some(isNew) && js.filter(isNew).every((j) => isTerminal(j.state)), 60_000);
  return jobs
    .filter(isNew)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    .at(-1)!;
}

describe('orientation', () => {
  it('a portrait JPEG stored landscape (EXIF 6) with a mask painted as displayed: the model gets it upright', async () => {
    const { stored } = await portraitJpeg(1024, 1536, 6);
    expect(await sharp(stored).metadata()).toMatchObject({ width: 1536, height: 1024, orientation: 6 });
    const mask = await rectMask(1024, 1536, { x: 400, y: 600, width: 300, height: 300 });
    const job = await drop('photos/portrait', { ext: 'jpg', bytes: stored }, mask);
    expect(job.state).toBe('published');
    expect(job.request?.input).toEqual({
      format: 'jpeg',
      orientation: 6,
      stored: { width: 1536, height: 1024 },
      displayed: { width: 1024, height: 1536 },
    });
    expect(callsFor(job).map((c) => c.status)).toEqual([200]); // the service took image and mask as they were sent
    // With size "auto" the model answers in the orientation it was given: portrait, the red corner top-left.
    const edited = await download('edited', 'photos/portrait.png');
    expect(await sharp(edited).metadata()).toMatchObject({ width: 1024, height: 1536 });
    const corner = await sharp(edited)
      .extract({ left: 20, top: 20, width: 1, height: 1 })
      .removeAlpha()
      .raw()
      .toBuffer();
    expect([...corner]).toEqual([expect.any(Number), expect.any(Number), expect.any(Number)]);
    expect(corner[0]).toBeGreaterThan(220);
    expect(corner[1]).toBeLessThan(40);
  });

  it('a mask painted on the stored pixels is refused with both orientations named', async () => {
    const { stored } = await portraitJpeg(512, 768, 8);
    const job = await drop(
      'photos/sideways',
      { ext: 'jpg', bytes: stored },
      await rectMask(768, 512, { x: 0, y: 0, width: 50, height: 50 }),
    );
    expect(job.state).toBe('rejected');
    expect(job.problems).toEqual([
      'sideways.mask.png is 768x512 but sideways.jpg is displayed 512x768 (stored 768x512, EXIF orientation 8): the mask must ' +
        'match the image as it is displayed; this mask matches the stored pixels, so paint it on the upright picture (as viewers show it) instead',
    ]);
    expect(callsFor(job)).toHaveLength(0);
  });
});

describe('camera files', () => {
  it('a 12 MP JPEG, an RGB PNG with 5 MB of iTXt and a JPEG with 2.4 MB of extended XMP are all edited and published', async () => {
    const [camera, png, xmp] = await Promise.all([
      gradientImage(4000, 3000, 'jpeg'),
      gradientImage(600, 400).then((b) => withBigITxt(b, 5 * 1024 * 1024)),
      gradientImage(600, 400, 'jpeg').then((b) => withExtendedXmp(b, 2.4 * 1024 * 1024)),
    ]);
    const jobs = await Promise.all([
      drop(
        'camera/12mp',
        { ext: 'jpg', bytes: camera },
        await rectMask(4000, 3000, { x: 1000, y: 1000, width: 500, height: 500 }),
      ),
      drop(
        'camera/itxt',
        { ext: 'png', bytes: png },
        await rectMask(600, 400, { x: 10, y: 10, width: 50, height: 50 }),
      ),
      drop('camera/xmp', { ext: 'jpg', bytes: xmp }, await rectMask(600, 400, { x: 10, y: 10, width: 50, height: 50 })),
    ]);
    expect(jobs.map((j) => [j.drop.key, j.state])).toEqual([
      ['camera/12mp', 'published'],
      ['camera/itxt', 'published'],
      ['camera/xmp', 'published'],
    ]);
    expect(jobs[0]!.request?.input?.displayed).toEqual({ width: 4000, height: 3000 });
  });
});

describe('masks', () => {
  it('an opaque mask is refused with a report before any model call', async () => {
    const job = await drop(
      'masks/opaque',
      { ext: 'png', bytes: await gradientImage(256, 256) },
      await opaqueMask(256, 256),
    );
    expect(job).toMatchObject({ state: 'rejected', error: { code: 'invalid_mask' } });
    expect(callsFor(job)).toHaveLength(0);
    expect(await json('rejected', 'masks/opaque.json')).toMatchObject({
      problems: [
        expect.stringMatching(
          /^opaque\.mask\.png has no fully transparent pixel \(alpha 0\), so it marks nothing to edit/,
        ),
      ],
    });
  });

  it('a 14 MB mask is re-encoded losslessly under 4 MB and the edit publishes; grey+alpha and palette masks work', async () => {
    const image = await gradientImage(1920, 1920);
    const hole = { x: 300, y: 300, width: 600, height: 400 };
    const big = await uncompressedMask(1920, 1920, hole);
    expect(big.length).toBeGreaterThan(14 * 1024 * 1024);
    const small = await gradientImage(256, 256);
    const jobs = await Promise.all([
      drop('masks/big', { ext: 'png', bytes: image }, big),
      drop(
        'masks/grey',
        { ext: 'png', bytes: small },
        await recodedMask(256, 256, { x: 8, y: 8, width: 32, height: 32 }, 'grey-alpha'),
      ),
      drop(
        'masks/palette',
        { ext: 'png', bytes: small },
        await recodedMask(256, 256, { x: 8, y: 8, width: 32, height: 32 }, 'palette'),
      ),
    ]);
    expect(jobs.map((j) => j.state)).toEqual(['published', 'published', 'published']);
    // The emulator, like Azure, answers 400 to a mask of 4 MB or more: one 200 means the fitted mask went.
    expect(callsFor(jobs[0]!).map((c) => c.status)).toEqual([200]);
    expect(
      p.logs.some((l) => /big\.mask\.png was re-encoded losslessly from 14\.\d MB to 0\.\d MB/.test(l.message)),
    ).toBe(true);
  });

  it('an animated PNG and a transparent WebP are refused with the reason, never silently changed', async () => {
    const [apng, webp] = await Promise.all([
      drop(
        'masks/apng',
        { ext: 'png', bytes: asApng(await gradientImage(128, 128)) },
        await rectMask(128, 128, { x: 0, y: 0, width: 8, height: 8 }),
      ),
      drop(
        'masks/webp',
        { ext: 'webp', bytes: await transparentWebp(128, 128) },
        await rectMask(128, 128, { x: 0, y: 0, width: 8, height: 8 }),
      ),
    ]);
    expect(apng.problems).toEqual([
      'apng.png is an animated PNG (APNG): the model edits one still picture; export the frame you want as a still image',
    ]);
    expect(webp.problems).toEqual([
      'webp.webp is a WebP with transparency, which the service flattens: save it as a PNG with alpha to keep its transparency',
    ]);
    expect([...callsFor(apng), ...callsFor(webp)]).toHaveLength(0);
  });
});

describe('re-drops', () => {
  it('an identical re-drop says where the result already is; a changed one publishes anew and names the job it replaced', async () => {
    const image = await gradientImage(256, 256);
    const mask = await rectMask(256, 256, { x: 64, y: 64, width: 64, height: 64 });
    const first = await drop('again/kite', { ext: 'png', bytes: image }, mask, { prompt: 'a kite' });
    expect(first.state).toBe('published');
    // The hashes a re-drop is compared by: the image's streamed, the mask's and sidecar's from intake's own reads.
    const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    expect(first.inputs.image?.sha256).toBe(sha256(image));
    expect(first.inputs.mask?.sha256).toBe(sha256(mask));
    expect(first.inputs.sidecar?.sha256).toBe(sha256(JSON.stringify({ prompt: 'a kite' })));
    await sleep(1_100); // a later upload, as a person copying the drop again makes it
    const again = await drop('again/kite', { ext: 'png', bytes: image }, mask, { prompt: 'a kite' }, [first]);
    expect(again.id).not.toBe(first.id);
    expect(again).toMatchObject({ state: 'rejected', error: { code: 'redrop' } });
    expect(callsFor(again)).toHaveLength(0);
    expect(await json('published', 'again/kite.redrop.json')).toMatchObject({
      jobId: again.id,
      note: 'already published as published/again/kite.png',
      earlierJob: first.id,
    });
    await sleep(1_100);
    const changed = await drop('again/kite', { ext: 'png', bytes: image }, mask, { prompt: 'a red kite' }, [
      first,
      again,
    ]);
    expect(changed).toMatchObject({
      state: 'published',
      replaces: { jobId: first.id, result: 'published/again/kite.png' },
    });
    expect(await json('published', 'again/kite.provenance.json')).toMatchObject({
      job: { id: changed.id, replaces: { jobId: first.id, result: 'published/again/kite.png' } },
    });
  });
});
