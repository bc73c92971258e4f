/**
 * What photographers keep, through the local runtime (Azurite + emulator + host, publisher in memory):
 * a Display P3 phone JPEG stored sideways (EXIF orientation 6) with camera EXIF and a GPS position, and
 * a 16-bit PNG. The published composite keeps the ICC profile (pixels left in P3), the bit depth, the
 * camera's EXIF without orientation (stored upright) and without GPS unless STRIP_GPS=false; its
 * parent ingredient is still the photo, and it still checks against its edit (`verify --edit`).
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../shared/core/job.js';
import type { ProvenanceReport } from '../../shared/core/provenance/gate.js';
import { rectMask, type Rect } from '../helpers/images.js';
import { iccDescription, readExif, TAG } from '../helpers/photo-metadata.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

const CAMERA = {
  IFD0: { Make: 'Apple', Model: 'iPhone 15 Pro' },
  IFD2: { DateTimeOriginal: '2026:11:28 09:41:07' },
  IFD3: {
    GPSLatitudeRef: 'N',
    GPSLatitude: '48/1 51/1 2400/100',
    GPSLongitudeRef: 'E',
    GPSLongitude: '2/1 17/1 4000/100',
  },
};
/** Stored landscape, displayed portrait (EXIF 6); the hole is in displayed pixels. */
const STORED = { width: 960, height: 720 };
const JPEG_HOLE: Rect = { x: 200, y: 300, width: 300, height: 300 };
const PNG_SIZE = { width: 480, height: 360 };
const PNG_HOLE: Rect = { x: 100, y: 80, width: 160, height: 120 };

/** Saturated, direction-telling colours (a wrong rotation or a conversion to sRGB shows). */
function rawGradient<T extends Uint8Array | Uint16Array>(raw: T, width: number, height: number, max: number): T {
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const values = [(x / width) * max, (y / height) * max * 0.3, ((width - x + y) / (width + height)) * max];
      // In 16 bits, low bits an 8-bit result would lose.
      values.forEach((v, c) => (raw[(y * width + x) * 3 + c] = max > 255 ? Math.round(v) ^ (x & 7) : Math.round(v)));
    }
  }
  return raw;
}

async function phoneJpeg(): Promise<Buffer> {
  const raw = rawGradient(new Uint8Array(STORED.width * STORED.height * 3), STORED.width, STORED.height, 255);
  return sharp(raw, { raw: { ...STORED, channels: 3 } })
    .withMetadata({ orientation: 6, icc: 'p3', exif: CAMERA })
    .jpeg({ quality: 92 })
    .toBuffer();
}

async function png16(): Promise<Buffer> {
  const { width, height } = PNG_SIZE;
  // A Uint16Array is raw input of 16 bits a sample.
  const raw = rawGradient(new Uint16Array(width * height * 3), width, height, 65535);
  return sharp(raw, { raw: { ...PNG_SIZE, channels: 3 } })
    .toColourspace('rgb16')
    .withExif(CAMERA)
    .png()
    .toBuffer();
}

/** Pixels as stored (no colour conversion), upright; 16-bit samples stay 16-bit. */
const storedPixels = async (image: Buffer, sixteen = false) =>
  sharp(image)
    .rotate()
    .keepIccProfile()
    .toColourspace(sixteen ? 'rgb16' : 'srgb')
    .raw({ depth: sixteen ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });

/** The largest and the mean difference of the samples outside `hole`. */
function outside(a: Buffer, b: Buffer, width: number, height: number, hole: Rect, sixteen = false) {
  const bytes = sixteen ? 2 : 1;
  let [worst, sum, n] = [0, 0, 0];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (x >= hole.x && x < hole.x + hole.width && y >= hole.y && y < hole.y + hole.height) continue;
      for (let c = 0, at = (y * width + x) * 3 * bytes; c < 3; c++, at += bytes) {
        const d = sixteen ? Math.abs(a.readUInt16LE(at) - b.readUInt16LE(at)) : Math.abs(a[at]! - b[at]!);
        [worst, sum, n] = [Math.max(worst, d), sum + d, n + 1];
      }
    }
  }
  return { worst, mean: sum / n };
}

const failed = (r: ProvenanceReport) => r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function pipelineFor(settings: Record<string, string>) {
  const ctx = {} as { p: TestPipeline };
  beforeAll(async () => {
    ctx.p = await startTestPipeline({ publisher: 'memory', settings });
  }, 60_000);
  afterAll(() => ctx.p?.close());
  return ctx;
}

/** Drops photo + mask, waits for the job and reads what it published. */
async function publish(p: TestPipeline, stem: string, ext: string, photo: Buffer, mask: Buffer) {
  await p.upload(`${stem}.mask.png`, mask);
  await p.upload(`${stem}.${ext}`, photo);
  const job: JobRecord = await p.settled(stem, 60_000);
  expect(job.state).toBe('published');
  const read = (container: 'published' | 'edited', name: string) =>
    p.runtime.containers[container].getBlobClient(name).downloadToBuffer();
  const [published, edited, report] = await Promise.all([
    read('published', `${stem}.${ext}`),
    read('edited', job.edit!.output!.name),
    read('published', `${stem}.provenance.json`).then((b) => JSON.parse(b.toString('utf8')) as ProvenanceReport),
  ]);
  // `verify --publisher … --edit`: the composite's pixels against the edit it records.
  const publisher = (await p.runtime.publisher!())!;
  const verified = await publisher.verifier.verify(published, { file: stem, binding: { edit: edited, pixels: true } });
  return { published, report, verified };
}

describe('a Display P3 phone JPEG (EXIF orientation 6, camera EXIF, GPS), STRIP_GPS default', () => {
  const ctx = pipelineFor({});
  let photo: Buffer;
  let result: Awaited<ReturnType<typeof publish>>;
  beforeAll(async () => {
    photo = await phoneJpeg();
    const mask = await rectMask(STORED.height, STORED.width, JPEG_HOLE);
    result = await publish(ctx.p, 'phone/IMG_0042', 'jpg', photo, mask);
  }, 90_000);

  it('keeps the P3 profile with the pixels in P3, upright, and passes verify --edit', async () => {
    const [inMeta, outMeta] = await Promise.all([sharp(photo).metadata(), sharp(result.published).metadata()]);
    expect(outMeta).toMatchObject({ format: 'jpeg', width: 720, height: 960 });
    expect(outMeta.orientation).toBeUndefined();
    expect(iccDescription(outMeta.icc!)).toBe(iccDescription(inMeta.icc!));
    expect(iccDescription(outMeta.icc!)).toMatch(/P3/);
    // The stored values outside the mask are the photo's own, upright, re-encoded at quality 95: not
    // converted to sRGB (that moves this picture's samples by about 9 on average) nor turned.
    const [before, after] = await Promise.all([storedPixels(photo), storedPixels(result.published)]);
    expect(after.info).toMatchObject({ width: 720, height: 960 });
    expect(outside(before.data, after.data, 720, 960, JPEG_HOLE).mean).toBeLessThan(1.5);
    expect(failed(result.verified)).toEqual([]);
  });

  it('keeps the camera EXIF without orientation and without GPS; the parent ingredient is the photo', async () => {
    const exif = readExif((await sharp(result.published).metadata()).exif!);
    expect(exif.text.get(TAG.Make)).toBe('Apple');
    expect(exif.text.get(TAG.Model)).toBe('iPhone 15 Pro');
    expect(exif.text.get(TAG.DateTimeOriginal)).toBe('2026:11:28 09:41:07');
    expect(exif.ifd0).not.toContain(TAG.Orientation);
    expect(exif.hasGps).toBe(false);
    expect(result.published.includes(Buffer.from('48/1'))).toBe(false);
    const parent = result.report.manifest!.ingredients.find((i) => i.relationship === 'parentOf');
    expect(parent?.title).toBe('IMG_0042.jpg');
    // The binding records the photo's hash (a CBOR text string in the publisher's manifest).
    expect(result.published.includes(Buffer.from(sha256(photo)))).toBe(true);
  });
});

describe('a 16-bit PNG with EXIF and GPS, STRIP_GPS default', () => {
  const ctx = pipelineFor({});
  let photo: Buffer;
  let result: Awaited<ReturnType<typeof publish>>;
  beforeAll(async () => {
    photo = await png16();
    result = await publish(ctx.p, 'scans/deep', 'png', photo, await rectMask(480, 360, PNG_HOLE));
  }, 90_000);

  it('stays 16-bit, every sample outside the mask exact, and passes verify --edit', async () => {
    expect(await sharp(result.published).metadata()).toMatchObject({ format: 'png', depth: 'ushort' });
    const [before, after] = await Promise.all([storedPixels(photo, true), storedPixels(result.published, true)]);
    expect(outside(before.data, after.data, 480, 360, PNG_HOLE, true).worst).toBe(0);
    expect(failed(result.verified)).toEqual([]);
  });

  it('keeps the camera EXIF without the GPS position', async () => {
    const exif = readExif((await sharp(result.published).metadata()).exif!);
    expect(exif.text.get(TAG.Make)).toBe('Apple');
    expect(exif.text.get(TAG.DateTimeOriginal)).toBe('2026:11:28 09:41:07');
    expect(exif.hasGps).toBe(false);
  });
});

describe('STRIP_GPS=false', () => {
  const ctx = pipelineFor({ STRIP_GPS: 'false' });

  it("keeps the phone JPEG's GPS position", async () => {
    const mask = await rectMask(STORED.height, STORED.width, JPEG_HOLE);
    const { published } = await publish(ctx.p, 'phone/IMG_0043', 'jpg', await phoneJpeg(), mask);
    const exif = readExif((await sharp(published).metadata()).exif!);
    expect(exif.text.get(TAG.Model)).toBe('iPhone 15 Pro');
    expect(exif.hasGps).toBe(true);
  }, 90_000);
});
