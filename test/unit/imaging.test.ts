import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { readImageHeader } from '../../shared/core/image-header.js';
import { prepareMask } from '../../shared/adapters/imaging/mask.js';
import { type MaskLimits } from '../../shared/core/mask-limits.js';
import { prepareModelInputs } from '../../shared/adapters/imaging/model-inputs.js';
import {
  opaqueMask,
  portraitJpeg,
  recodedMask,
  rectMask,
  uncompressedMask,
  withPngOrientation,
} from '../helpers/images.js';

const limits: MaskLimits = { maxBytesExclusive: 4 * 1024 * 1024, maxDimension: 8192, modelName: 'gpt-image-2' };
const alphaOf = (png: Buffer) => sharp(png).ensureAlpha().extractChannel(3).raw().toBuffer();

describe('masks', () => {
  it('refuses a mask with no transparent pixel: nothing to edit', async () => {
    expect(await prepareMask('cat.mask.png', await opaqueMask(64, 64), { orientation: 1 }, limits)).toEqual({
      ok: false,
      problem:
        'cat.mask.png has no fully transparent pixel (alpha 0), so it marks nothing to edit: make the area to change ' +
        'transparent and keep the rest opaque',
    });
  });

  it('sends a grey+alpha or palette+tRNS mask under the limit byte for byte', async () => {
    for (const as of ['grey-alpha', 'palette'] as const) {
      const mask = await recodedMask(64, 64, { x: 8, y: 8, width: 8, height: 8 }, as);
      expect(await prepareMask('m.png', mask, { orientation: 1 }, limits)).toEqual({ ok: true, bytes: mask });
    }
  });

  it('re-encodes a 14 MB mask losslessly under 4 MB: the same alpha, greyscale with alpha', async () => {
    const big = await uncompressedMask(1920, 1920, { x: 300, y: 200, width: 700, height: 500 });
    expect(big.length).toBeGreaterThan(14 * 1024 * 1024);
    const prepared = await prepareMask('big.mask.png', big, { orientation: 1 }, limits);
    if (!prepared.ok) throw new Error(prepared.problem);
    expect(prepared.bytes.length).toBeLessThan(limits.maxBytesExclusive);
    expect(prepared.note).toMatch(
      /^big\.mask\.png was re-encoded losslessly from 14\.\d MB to 0\.\d MB to fit under 4\.0 MB/,
    );
    expect((await alphaOf(prepared.bytes)).equals(await alphaOf(big))).toBe(true);
    expect(readImageHeader(prepared.bytes)).toMatchObject({
      ok: true,
      header: { width: 1920, height: 1920, hasAlpha: true },
    });
  });

  it('refuses a mask that does not fit even re-encoded, with both sizes', async () => {
    const noise = randomBytes(2048 * 2048 * 4);
    const mask = await sharp(noise, { raw: { width: 2048, height: 2048, channels: 4 } })
      .png({ compressionLevel: 0 })
      .toBuffer();
    const prepared = await prepareMask('noise.mask.png', mask, { orientation: 1 }, limits);
    expect(prepared).toMatchObject({
      ok: false,
      problem: expect.stringMatching(
        /is 16\.0 MB; .* even re-encoded losslessly .* it is \d\.\d MB: use a simpler mask/,
      ),
    });
  });

  it('turns a mask with its own EXIF orientation upright', async () => {
    const stored = withPngOrientation(await rectMask(30, 20, { x: 0, y: 0, width: 5, height: 5 }), 6);
    const prepared = await prepareMask('m.png', stored, { orientation: 6 }, limits);
    if (!prepared.ok) throw new Error(prepared.problem);
    expect(await sharp(prepared.bytes).metadata()).toMatchObject({ width: 20, height: 30 });
  });
});

describe('the image the model receives', () => {
  it.each([6, 8] as const)(
    'a portrait JPEG with EXIF orientation %i goes upright, its tag dropped',
    async (orientation) => {
      const { stored, upright } = await portraitJpeg(96, 144, orientation);
      const mask = await rectMask(96, 144, { x: 40, y: 60, width: 20, height: 20 });
      const inputs = await prepareModelInputs({ image: 'p.jpg', mask: 'p.mask.png' }, stored, mask, limits);
      if (!inputs.ok) throw new Error(inputs.problem);
      expect(inputs.format).toBe('jpeg');
      expect(inputs.mask).toBe(mask);
      expect(inputs.notes).toEqual([`p.jpg was turned upright for the model (EXIF orientation ${orientation})`]);
      const meta = await sharp(inputs.image).metadata();
      expect([meta.width, meta.height, meta.orientation]).toEqual([96, 144, undefined]);
      // The red block is back in the top-left corner, where the photographer saw it.
      const [sent, expected] = await Promise.all(
        [inputs.image, upright].map((b) => sharp(b).extract({ left: 4, top: 4, width: 1, height: 1 }).raw().toBuffer()),
      );
      expect(Math.abs(sent![0]! - expected![0]!)).toBeLessThan(12);
      expect(sent![0]).toBeGreaterThan(220);
    },
  );

  it('an upright photo is sent byte for byte', async () => {
    const { upright } = await portraitJpeg(96, 144, 6);
    const mask = await rectMask(96, 144, { x: 40, y: 60, width: 20, height: 20 });
    const inputs = await prepareModelInputs({ image: 'p.png', mask: 'p.mask.png' }, upright, mask, limits);
    expect(inputs).toMatchObject({ ok: true, image: upright, format: 'png', notes: [] });
  });
});
