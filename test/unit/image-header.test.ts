import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { HEAD_BYTES, readImageHeader, sniffFormat, truncationProblem } from '../../shared/image-header.js';
import { gradientImage, rectMask, rewritePng } from '../helpers/images.js';

/** A JPEG with `bytes` of application data before its frame header (like a huge EXIF block). */
function withLeadingSegments(jpeg: Buffer, bytes: number): Buffer {
  const segments: Buffer[] = [];
  for (let left = bytes; left > 0; left -= 60_000) {
    const size = Math.min(60_000, left);
    const seg = Buffer.alloc(size + 4);
    seg.writeUInt16BE(0xffef, 0); // APP15
    seg.writeUInt16BE(size + 2, 2);
    segments.push(seg);
  }
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}

describe('image headers', () => {
  it('reads format, size and alpha without decoding pixels', async () => {
    const rgba = await sharp({ create: { width: 300, height: 200, channels: 4, background: '#00000000' } }).png().toBuffer();
    expect(readImageHeader(await gradientImage(320, 240))).toEqual({ ok: true, header: { format: 'png', width: 320, height: 240, hasAlpha: false } });
    expect(readImageHeader(rgba)).toEqual({ ok: true, header: { format: 'png', width: 300, height: 200, hasAlpha: true } });
    expect(readImageHeader(await gradientImage(320, 240, 'jpeg'))).toEqual({ ok: true, header: { format: 'jpeg', width: 320, height: 240, hasAlpha: false } });
    expect(readImageHeader(await gradientImage(320, 240, 'webp'))).toMatchObject({ ok: true, header: { format: 'webp', width: 320, height: 240 } });
    const lossless = await sharp(rgba).webp({ lossless: true }).toBuffer();
    expect(readImageHeader(lossless)).toMatchObject({ ok: true, header: { format: 'webp', width: 300, height: 200, hasAlpha: true } });
  });

  it('sees alpha in a palette PNG with a tRNS chunk', async () => {
    const palette = await sharp(await rectMask(64, 64, { x: 0, y: 0, width: 8, height: 8 })).png({ palette: true }).toBuffer();
    expect(readImageHeader(palette)).toMatchObject({ ok: true, header: { hasAlpha: true } });
  });

  it('asks for more bytes when a JPEG frame header sits past the first read', async () => {
    const big = withLeadingSegments(await gradientImage(64, 48, 'jpeg'), 200_000);
    expect(readImageHeader(big.subarray(0, HEAD_BYTES))).toMatchObject({ ok: false, needMoreBytes: true });
    expect(readImageHeader(big)).toMatchObject({ ok: true, header: { width: 64, height: 48 } });
  });

  it('refuses a corrupt or absurd PNG header', async () => {
    const png = await gradientImage(32, 32);
    const badCrc = Buffer.from(png);
    badCrc[29] = badCrc[29]! ^ 0xff; // inside IHDR's CRC
    expect(readImageHeader(badCrc)).toMatchObject({ ok: false, problem: expect.stringMatching(/IHDR\) fails its CRC check/) });
    const huge = rewritePng(png, (type, data) => {
      if (type !== 'IHDR') return data;
      const d = Buffer.from(data);
      d.writeUInt32BE(100_000, 0);
      d.writeUInt32BE(100_000, 4);
      return d;
    });
    expect(readImageHeader(huge)).toMatchObject({ ok: true, header: { width: 100_000, height: 100_000 } });
    expect(readImageHeader(Buffer.from('GIF89a....'))).toMatchObject({ ok: false, problem: 'the bytes are not a PNG, JPEG or WebP image' });
    expect(sniffFormat(Buffer.alloc(0))).toBeUndefined();
  });

  it('detects truncation from the tail', async () => {
    const png = await gradientImage(64, 64);
    expect(truncationProblem('png', png, png, png.length)).toBeUndefined();
    const cut = png.subarray(0, png.length - 40);
    expect(truncationProblem('png', cut, cut, cut.length)).toMatch(/IEND/);
    const jpeg = await gradientImage(64, 64, 'jpeg');
    expect(truncationProblem('jpeg', jpeg, jpeg, jpeg.length)).toBeUndefined();
    const cutJpeg = jpeg.subarray(0, jpeg.length - 100);
    expect(truncationProblem('jpeg', cutJpeg, cutJpeg, cutJpeg.length)).toMatch(/end-of-image/);
    const webp = await gradientImage(64, 64, 'webp');
    expect(truncationProblem('webp', webp, webp, webp.length)).toBeUndefined();
    expect(truncationProblem('webp', webp, webp, webp.length - 10)).toMatch(/truncated/);
  });
});
