/** Test images made on the fly (no binaries in the repository). */
import { deflateSync, inflateSync, crc32 } from 'node:zlib';
import sharp from 'sharp';
import { pngChunks } from '../../shared/core/image-header.js';

/** An RGB image with a smooth two-axis gradient, so that every pixel differs from its neighbours. */
export async function gradientImage(
  width: number,
  height: number,
  format: 'png' | 'jpeg' | 'webp' = 'png',
): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      raw[o] = (x * 255) / (width - 1);
      raw[o + 1] = (y * 255) / (height - 1);
      raw[o + 2] = ((x + y) * 127) / (width + height);
    }
  }
  const img = sharp(raw, { raw: { width, height, channels: 3 } });
  return format === 'png'
    ? img.png().toBuffer()
    : format === 'jpeg'
      ? img.jpeg({ quality: 90 }).toBuffer()
      : img.webp().toBuffer();
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A PNG mask: opaque everywhere except a transparent rectangle (the area to edit). */
export async function rectMask(
  width: number,
  height: number,
  hole: Rect,
  options: { alpha?: boolean } = {},
): Promise<Buffer> {
  const withAlpha = options.alpha ?? true;
  const channels = withAlpha ? 4 : 3;
  const raw = Buffer.alloc(width * height * channels, 255);
  if (withAlpha) {
    for (let y = hole.y; y < hole.y + hole.height; y++) {
      for (let x = hole.x; x < hole.x + hole.width; x++) raw[(y * width + x) * 4 + 3] = 0;
    }
  }
  return sharp(raw, { raw: { width, height, channels } }).png().toBuffer();
}

export async function rawPixels(
  image: Buffer,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** Rebuilds a PNG from its chunks, letting `edit` replace or drop any of them (CRCs recomputed). */
export function rewritePng(png: Buffer, edit: (type: string, data: Buffer) => Buffer | null): Buffer {
  const { chunks } = pngChunks(png);
  const out = [png.subarray(0, 8)];
  for (const c of chunks) {
    const data = edit(c.type, c.data);
    if (data) out.push(chunk(c.type, data));
  }
  return Buffer.concat(out);
}

/**
 * Changes one byte of the first scanline's pixel data and re-deflates, keeping every other chunk
 * (Content Credentials included) byte for byte.
 */
export function changeOnePixel(png: Buffer): Buffer {
  const { chunks } = pngChunks(png);
  const idat = Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data));
  const pixels = inflateSync(idat);
  pixels[1] = pixels[1]! ^ 0x01; // byte 0 is the row's filter type
  const replaced = deflateSync(pixels);
  let written = false;
  return rewritePng(png, (type, data) => {
    if (type !== 'IDAT') return data;
    if (written) return null;
    written = true;
    return replaced;
  });
}

/** Inserts a chunk right after IHDR. */
export function insertAfterHeader(png: Buffer, type: string, data: Buffer): Buffer {
  const { chunks } = pngChunks(png);
  return Buffer.concat([
    png.subarray(0, 8),
    ...chunks.flatMap((c) =>
      c.type === 'IHDR' ? [chunk(c.type, c.data), chunk(type, data)] : [chunk(c.type, c.data)],
    ),
  ]);
}

/** An XMP packet (iTXt) whose dcterms:provenance points at a remote manifest. */
export function withRemoteManifestReference(png: Buffer, url: string): Buffer {
  const xmp = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dcterms="http://purl.org/dc/terms/" dcterms:provenance="${url}"/></rdf:RDF></x:xmpmeta>`;
  return insertAfterHeader(
    png,
    'iTXt',
    Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\0\0\0\0', 'latin1'), Buffer.from(xmp, 'utf8')]),
  );
}

/** The PNG's C2PA manifest store chunk (caBX). */
export function manifestChunk(png: Buffer): Buffer {
  const found = pngChunks(png).chunks.find((c) => c.type === 'caBX');
  if (!found) throw new Error('no caBX chunk');
  return Buffer.from(found.data);
}

/** A TIFF structure (EXIF payload) holding only IFD0's Orientation tag. */
export function exifWithOrientation(orientation: number): Buffer {
  const tiff = Buffer.alloc(26);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(8, 4); // IFD0 right after the header
  tiff.writeUInt16BE(1, 8); // one entry
  tiff.writeUInt16BE(0x0112, 10); // Orientation
  tiff.writeUInt16BE(3, 12); // SHORT
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt16BE(orientation, 18);
  tiff.writeUInt32BE(0, 22); // no next IFD
  return tiff;
}

/** Inserts JPEG segments right after SOI. */
function withJpegSegments(jpeg: Buffer, segments: Buffer[]): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)]);
}

function jpegSegment(marker: number, data: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(marker, 0);
  header.writeUInt16BE(data.length + 2, 2);
  return Buffer.concat([header, data]);
}

/** The JPEG with an APP1 Exif segment declaring `orientation`. */
export function withJpegOrientation(jpeg: Buffer, orientation: number): Buffer {
  return withJpegSegments(jpeg, [
    jpegSegment(0xffe1, Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), exifWithOrientation(orientation)])),
  ]);
}

/** The PNG with an eXIf chunk declaring `orientation`. */
export function withPngOrientation(png: Buffer, orientation: number): Buffer {
  return insertAfterHeader(png, 'eXIf', exifWithOrientation(orientation));
}

/** Extended XMP as Photoshop and Lightroom write it: APP1 segments of up to 64 KB before the frame header. */
export function withExtendedXmp(jpeg: Buffer, bytes: number): Buffer {
  const signature = Buffer.from('http://ns.adobe.com/xmp/extension/\0', 'latin1');
  const segments: Buffer[] = [];
  for (let left = bytes; left > 0; left -= 65_000) {
    segments.push(jpegSegment(0xffe1, Buffer.concat([signature, Buffer.alloc(Math.min(65_000, left), 0x20)])));
  }
  return withJpegSegments(jpeg, segments);
}

/** An iTXt chunk of `bytes` (an XMP packet padded with spaces) right after IHDR, before the image data. */
export function withBigITxt(png: Buffer, bytes: number): Buffer {
  return insertAfterHeader(
    png,
    'iTXt',
    Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\0\0\0\0', 'latin1'), Buffer.alloc(bytes, 0x20)]),
  );
}

/** Marks a PNG as animated (an APNG's acTL chunk before IDAT: 2 frames, looping). */
export function asApng(png: Buffer): Buffer {
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(2, 0);
  return insertAfterHeader(png, 'acTL', actl);
}

/**
 * A photo as a portrait camera stores it: the upright picture `width`x`height` (a red block in its
 * top-left corner, so the orientation shows) turned to landscape in the pixels, with the EXIF
 * orientation that turns it back (6: rotate 90° clockwise to display; 8: 90° anticlockwise).
 */
export async function portraitJpeg(
  width: number,
  height: number,
  orientation: 6 | 8,
): Promise<{ stored: Buffer; upright: Buffer }> {
  const upright = await sharp(await gradientImage(width, height, 'png'))
    .composite([
      {
        input: {
          create: { width: Math.round(width / 4), height: Math.round(height / 4), channels: 3, background: '#ff0000' },
        },
        left: 0,
        top: 0,
      },
    ])
    .png()
    .toBuffer();
  const stored = await sharp(upright)
    .rotate(orientation === 6 ? 270 : 90)
    .jpeg({ quality: 92 })
    .toBuffer();
  return { stored: withJpegOrientation(stored, orientation), upright };
}

/** A mask of `width`x`height` with a hole, in another encoding: greyscale with alpha, or palette with tRNS. */
export async function recodedMask(
  width: number,
  height: number,
  hole: Rect,
  as: 'grey-alpha' | 'palette',
): Promise<Buffer> {
  const rgba = await rectMask(width, height, hole);
  return as === 'grey-alpha'
    ? sharp(rgba).toColourspace('b-w').png().toBuffer()
    : sharp(rgba).png({ palette: true, dither: 0 }).toBuffer();
}

/** A mask stored without compression, so it is as large as its pixels (1920x1920 RGBA: 14.1 MiB). */
export async function uncompressedMask(width: number, height: number, hole: Rect): Promise<Buffer> {
  return sharp(await rectMask(width, height, hole))
    .png({ compressionLevel: 0 })
    .toBuffer();
}

/** A fully opaque RGBA mask: it has alpha but marks nothing to edit. */
export async function opaqueMask(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 1 } } })
    .png()
    .toBuffer();
}

/** A lossy WebP with an alpha channel (VP8X with the alpha flag). */
export async function transparentWebp(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 10, g: 120, b: 200, alpha: 0.5 } } })
    .webp()
    .toBuffer();
}

function riffChunk(fourcc: string, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.write(fourcc, 0, 'latin1');
  header.writeUInt32LE(data.length, 4);
  return Buffer.concat([header, data, data.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

/** An animated WebP (VP8X with the animation flag, ANIM, two ANMF frames) made from a still lossy WebP. */
export async function animatedWebp(width: number, height: number): Promise<Buffer> {
  const still = await sharp(await gradientImage(width, height))
    .webp()
    .toBuffer();
  const frame = still.subarray(12); // the VP8 chunk
  const vp8x = Buffer.alloc(10);
  vp8x[0] = 0x02; // animation
  vp8x.writeUIntLE(width - 1, 4, 3);
  vp8x.writeUIntLE(height - 1, 7, 3);
  const anmf = (delay: number) => {
    const head = Buffer.alloc(16);
    head.writeUIntLE(width - 1, 6, 3);
    head.writeUIntLE(height - 1, 9, 3);
    head.writeUIntLE(delay, 12, 3);
    return riffChunk('ANMF', Buffer.concat([head, frame]));
  };
  const body = Buffer.concat([
    Buffer.from('WEBP', 'latin1'),
    riffChunk('VP8X', vp8x),
    riffChunk('ANIM', Buffer.alloc(6)),
    anmf(100),
    anmf(100),
  ]);
  const riff = Buffer.alloc(8);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(body.length, 4);
  return Buffer.concat([riff, body]);
}
