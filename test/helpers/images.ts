/** Test images made on the fly (no binaries in the repository). */
import { deflateSync, inflateSync, crc32 } from 'node:zlib';
import sharp from 'sharp';
import { pngChunks } from '../../shared/image-header.js';

/** An RGB image with a smooth two-axis gradient, so that every pixel differs from its neighbours. */
export async function gradientImage(width: number, height: number, format: 'png' | 'jpeg' | 'webp' = 'png'): Promise<Buffer> {
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
  return format === 'png' ? img.png().toBuffer() : format === 'jpeg' ? img.jpeg({ quality: 90 }).toBuffer() : img.webp().toBuffer();
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A PNG mask: opaque everywhere except a transparent rectangle (the area to edit). */
export async function rectMask(width: number, height: number, hole: Rect, options: { alpha?: boolean } = {}): Promise<Buffer> {
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

export async function rawPixels(image: Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
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
  return Buffer.concat([png.subarray(0, 8), ...chunks.flatMap((c) => (c.type === 'IHDR' ? [chunk(c.type, c.data), chunk(type, data)] : [chunk(c.type, c.data)]))]);
}

/** An XMP packet (iTXt) whose dcterms:provenance points at a remote manifest. */
export function withRemoteManifestReference(png: Buffer, url: string): Buffer {
  const xmp = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dcterms="http://purl.org/dc/terms/" dcterms:provenance="${url}"/></rdf:RDF></x:xmpmeta>`;
  return insertAfterHeader(png, 'iTXt', Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\0\0\0\0', 'latin1'), Buffer.from(xmp, 'utf8')]));
}

/** The PNG's C2PA manifest store chunk (caBX). */
export function manifestChunk(png: Buffer): Buffer {
  const found = pngChunks(png).chunks.find((c) => c.type === 'caBX');
  if (!found) throw new Error('no caBX chunk');
  return Buffer.from(found.data);
}
