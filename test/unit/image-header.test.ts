import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import {
  describeSize,
  displayedSize,
  HEAD_BYTES,
  readImageHeader,
  sniffFormat,
  truncationProblem,
} from '../../shared/core/image-header.js';
import {
  animatedWebp,
  asApng,
  gradientImage,
  rectMask,
  rewritePng,
  withBigITxt,
  withExtendedXmp,
  withJpegOrientation,
  withPngOrientation,
} from '../helpers/images.js';

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
    const rgba = await sharp({ create: { width: 300, height: 200, channels: 4, background: '#00000000' } })
      .png()
      .toBuffer();
    expect(readImageHeader(await gradientImage(320, 240))).toEqual({
      ok: true,
      header: { format: 'png', width: 320, height: 240, hasAlpha: false, orientation: 1, animated: false },
    });
    expect(readImageHeader(rgba)).toEqual({
      ok: true,
      header: { format: 'png', width: 300, height: 200, hasAlpha: true, orientation: 1, animated: false },
    });
    expect(readImageHeader(await gradientImage(320, 240, 'jpeg'))).toEqual({
      ok: true,
      header: { format: 'jpeg', width: 320, height: 240, hasAlpha: false, orientation: 1, animated: false },
    });
    expect(readImageHeader(await gradientImage(320, 240, 'webp'))).toMatchObject({
      ok: true,
      header: { format: 'webp', width: 320, height: 240 },
    });
    const lossless = await sharp(rgba).webp({ lossless: true }).toBuffer();
    expect(readImageHeader(lossless)).toMatchObject({
      ok: true,
      header: { format: 'webp', width: 300, height: 200, hasAlpha: true },
    });
  });

  it('sees alpha in a palette PNG with a tRNS chunk', async () => {
    const palette = await sharp(await rectMask(64, 64, { x: 0, y: 0, width: 8, height: 8 }))
      .png({ palette: true })
      .toBuffer();
    expect(readImageHeader(palette)).toMatchObject({ ok: true, header: { hasAlpha: true } });
  });

  it('asks for more bytes when a JPEG frame header sits past the first read', async () => {
    const big = withLeadingSegments(await gradientImage(64, 48, 'jpeg'), 200_000);
    expect(readImageHeader(big.subarray(0, HEAD_BYTES))).toMatchObject({
      ok: false,
      needHeadBytes: expect.any(Number),
    });
    expect(readImageHeader(big)).toMatchObject({ ok: true, header: { width: 64, height: 48 } });
  });

  it('refuses a corrupt or absurd PNG header', async () => {
    const png = await gradientImage(32, 32);
    const badCrc = Buffer.from(png);
    badCrc[29] = badCrc[29]! ^ 0xff; // inside IHDR's CRC
    expect(readImageHeader(badCrc)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/IHDR\) fails its CRC check/),
    });
    const huge = rewritePng(png, (type, data) => {
      if (type !== 'IHDR') return data;
      const d = Buffer.from(data);
      d.writeUInt32BE(100_000, 0);
      d.writeUInt32BE(100_000, 4);
      return d;
    });
    expect(readImageHeader(huge)).toMatchObject({ ok: true, header: { width: 100_000, height: 100_000 } });
    expect(readImageHeader(Buffer.from('GIF89a....'))).toMatchObject({
      ok: false,
      problem: 'the bytes are not a PNG, JPEG or WebP image',
    });
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

describe('headers of real photos', () => {
  it('reads the EXIF orientation from JPEG APP1, PNG eXIf and the WebP EXIF chunk', async () => {
    const jpeg = withJpegOrientation(await gradientImage(300, 200, 'jpeg'), 6);
    expect(readImageHeader(jpeg)).toMatchObject({ ok: true, header: { width: 300, height: 200, orientation: 6 } });
    const png = withPngOrientation(await gradientImage(300, 200), 8);
    expect(readImageHeader(png)).toMatchObject({ ok: true, header: { format: 'png', orientation: 8 } });
    const webp = await sharp(await gradientImage(300, 200))
      .webp()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect(readImageHeader(webp)).toMatchObject({
      ok: true,
      header: { format: 'webp', width: 300, height: 200, orientation: 6 },
    });
    const ok = readImageHeader(jpeg);
    if (!ok.ok) throw new Error(ok.problem);
    expect(displayedSize(ok.header)).toEqual({ width: 200, height: 300 });
    expect(describeSize(ok.header)).toBe('displayed 200x300 (stored 300x200, EXIF orientation 6)');
  });

  it('finds a WebP EXIF chunk in the tail, without reading the image data in between', async () => {
    const webp = await sharp(await gradientImage(600, 400))
      .webp({ quality: 100 })
      .withMetadata({ orientation: 8 })
      .toBuffer();
    const head = webp.subarray(0, 1024); // VP8X, ICCP and the image chunk's header
    expect(readImageHeader({ head, tail: webp.subarray(webp.length - 512), totalBytes: webp.length })).toMatchObject({
      ok: true,
      header: { orientation: 8 },
    });
    expect(readImageHeader({ head, totalBytes: webp.length })).toMatchObject({
      ok: false,
      needHeadBytes: expect.any(Number),
    });
  });

  /** Reads like the intake's sampler: 64 KB, then as far as the parser asks (at least double), to the end at most. */
  function readLikeIntake(file: Buffer): {
    result: ReturnType<typeof readImageHeader>;
    reads: number;
    headBytes: number;
  } {
    let head = HEAD_BYTES;
    for (let reads = 1; ; reads++) {
      const result = readImageHeader({ head: file.subarray(0, head), totalBytes: file.length });
      if (result.ok || result.needHeadBytes === undefined || head >= file.length)
        return { result, reads, headBytes: head };
      head = Math.min(file.length, result.needHeadBytes);
    }
  }

  it('reads on past 5 MB of iTXt in an RGB PNG and 2.4 MB of extended XMP in a JPEG, in a few ranged reads', async () => {
    const png = withBigITxt(await gradientImage(64, 48), 5 * 1024 * 1024);
    expect(readImageHeader({ head: png.subarray(0, HEAD_BYTES), totalBytes: png.length })).toMatchObject({
      ok: false,
      needHeadBytes: expect.any(Number),
    });
    const pngRead = readLikeIntake(png);
    expect(pngRead.result).toMatchObject({ ok: true, header: { width: 64, height: 48, hasAlpha: false } });
    expect(pngRead.reads).toBeLessThanOrEqual(3);
    const jpeg = withExtendedXmp(await gradientImage(64, 48, 'jpeg'), 2.4 * 1024 * 1024);
    const jpegRead = readLikeIntake(jpeg);
    expect(jpegRead.result).toMatchObject({ ok: true, header: { width: 64, height: 48 } });
    expect(jpegRead.reads).toBeLessThanOrEqual(7); // 64 KB doubling to past 2.4 MB
    // An ordinary photo needs only the first read.
    expect(readLikeIntake(await gradientImage(640, 480, 'jpeg')).reads).toBe(1);
  });

  it('sees animation: an APNG (acTL) and an animated WebP', async () => {
    expect(readImageHeader(asApng(await gradientImage(32, 32)))).toMatchObject({
      ok: true,
      header: { animated: true },
    });
    const frame = await gradientImage(32, 32);
    const animated = await animatedWebp(32, 32);
    expect((await sharp(animated, { pages: -1 }).metadata()).pages).toBe(2); // a real animation, as libvips reads it
    expect(readImageHeader(animated)).toMatchObject({ ok: true, header: { format: 'webp', animated: true } });
    expect(readImageHeader(await sharp(frame).webp().toBuffer())).toMatchObject({
      ok: true,
      header: { animated: false },
    });
  });

  it('refuses a file that ends before its header does', async () => {
    const png = withBigITxt(await gradientImage(16, 16), 1000);
    const cut = png.subarray(0, 200);
    expect(readImageHeader({ head: cut, totalBytes: cut.length })).toMatchObject({
      ok: false,
      problem: 'the PNG ends before its image data (no IDAT chunk)',
    });
    const jpeg = withExtendedXmp(await gradientImage(16, 16, 'jpeg'), 1000);
    expect(readImageHeader({ head: jpeg.subarray(0, 300), totalBytes: 300 })).toMatchObject({
      ok: false,
      problem: 'the JPEG ends before its frame header (SOF)',
    });
  });
});
