/**
 * Cheap image checks from a file's first and last bytes: real format (by signature, not by name),
 * dimensions, alpha, header integrity and truncation. No pixels are decoded, so a decompression bomb
 * costs nothing to refuse. Pure: no I/O.
 */
import { crc32 } from 'node:zlib';

export type ImageFormat = 'png' | 'jpeg' | 'webp';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  hasAlpha: boolean;
}

export type HeaderResult = { ok: true; header: ImageHeader } | { ok: false; problem: string; needMoreBytes?: boolean };

/** How many leading bytes to read first; JPEGs with large metadata may ask for more. */
export const HEAD_BYTES = 64 * 1024;
export const MAX_HEAD_BYTES = 1024 * 1024;
/** How many trailing bytes the truncation check reads. */
export const TAIL_BYTES = 64 * 1024;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 8 && b.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return undefined;
}

export const FORMAT_NAMES: Record<ImageFormat, string> = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP' };

export interface PngChunk {
  type: string;
  /** Offset of the chunk's length field. */
  offset: number;
  data: Buffer;
  crcOk: boolean;
}

/** The PNG chunks wholly inside `bytes` (a prefix of the file is fine). */
export function pngChunks(bytes: Uint8Array): { chunks: PngChunk[]; complete: boolean } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks: PngChunk[] = [];
  let off = 8;
  while (off + 12 <= b.length) {
    const length = b.readUInt32BE(off);
    const end = off + 12 + length;
    if (end > b.length) return { chunks, complete: false };
    const type = b.toString('latin1', off + 4, off + 8);
    const crc = b.readUInt32BE(end - 4);
    chunks.push({ type, offset: off, data: b.subarray(off + 8, end - 4), crcOk: crc32(b.subarray(off + 4, end - 4)) === crc });
    if (type === 'IEND') return { chunks, complete: true };
    off = end;
  }
  return { chunks, complete: false };
}

const PNG_COLOR_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

function pngHeader(head: Uint8Array): HeaderResult {
  const { chunks } = pngChunks(head);
  const ihdr = chunks[0];
  if (!ihdr || ihdr.type !== 'IHDR' || ihdr.data.length !== 13) return { ok: false, problem: 'the PNG has no valid IHDR header chunk' };
  if (!ihdr.crcOk) return { ok: false, problem: 'the PNG header chunk (IHDR) fails its CRC check: the file is corrupt' };
  const width = ihdr.data.readUInt32BE(0);
  const height = ihdr.data.readUInt32BE(4);
  const depth = ihdr.data[8]!;
  const colorType = ihdr.data[9]!;
  if (width === 0 || height === 0) return { ok: false, problem: `the PNG declares impossible dimensions ${width}x${height}` };
  if (!PNG_COLOR_DEPTHS[colorType]?.includes(depth)) return { ok: false, problem: `the PNG declares an invalid color type ${colorType} with bit depth ${depth}` };
  if (ihdr.data[10] !== 0 || ihdr.data[11] !== 0 || ihdr.data[12]! > 1) return { ok: false, problem: 'the PNG declares an unknown compression, filter or interlace method' };
  const bad = chunks.find((c) => !c.crcOk);
  if (bad) return { ok: false, problem: `the PNG chunk ${bad.type} at byte ${bad.offset} fails its CRC check: the file is corrupt` };
  let hasAlpha = colorType === 4 || colorType === 6;
  if (!hasAlpha) {
    // A tRNS chunk must come before the first IDAT; if the head ends before IDAT, read more.
    const idat = chunks.findIndex((c) => c.type === 'IDAT');
    if (idat === -1 && !chunks.some((c) => c.type === 'IEND')) {
      return head.length >= MAX_HEAD_BYTES
        ? { ok: false, problem: 'the PNG has more than 1 MB of chunks before its image data' }
        : { ok: false, problem: 'need more bytes', needMoreBytes: true };
    }
    hasAlpha = chunks.slice(0, idat === -1 ? undefined : idat).some((c) => c.type === 'tRNS');
  }
  return { ok: true, header: { format: 'png', width, height, hasAlpha } };
}

const JPEG_SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function jpegHeader(head: Uint8Array): HeaderResult {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  let off = 2;
  while (off + 4 <= b.length) {
    if (b[off] !== 0xff) return { ok: false, problem: `the JPEG is corrupt: no marker at byte ${off}` };
    const marker = b[off + 1]!;
    if (marker === 0xff) {
      off += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      off += 2;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return { ok: false, problem: 'the JPEG has no frame header (SOF) before its image data' };
    const length = b.readUInt16BE(off + 2);
    if (length < 2) return { ok: false, problem: `the JPEG is corrupt: segment at byte ${off} has length ${length}` };
    if (JPEG_SOF.has(marker)) {
      if (off + 9 > b.length) break;
      const height = b.readUInt16BE(off + 5);
      const width = b.readUInt16BE(off + 7);
      if (width === 0 || height === 0) return { ok: false, problem: `the JPEG declares impossible dimensions ${width}x${height}` };
      return { ok: true, header: { format: 'jpeg', width, height, hasAlpha: false } };
    }
    off += 2 + length;
  }
  return head.length >= MAX_HEAD_BYTES
    ? { ok: false, problem: 'the JPEG has more than 1 MB of metadata before its frame header' }
    : { ok: false, problem: 'need more bytes', needMoreBytes: true };
}

function webpHeader(head: Uint8Array): HeaderResult {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length < 30) return { ok: false, problem: 'the WebP file is too short to hold a header' };
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8X') {
    const hasAlpha = (b[20]! & 0x10) !== 0;
    const width = 1 + b.readUIntLE(24, 3);
    const height = 1 + b.readUIntLE(27, 3);
    return { ok: true, header: { format: 'webp', width, height, hasAlpha } };
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return { ok: false, problem: 'the lossless WebP header is corrupt' };
    const bits = b.readUInt32LE(21);
    const width = 1 + (bits & 0x3fff);
    const height = 1 + ((bits >>> 14) & 0x3fff);
    return { ok: true, header: { format: 'webp', width, height, hasAlpha: ((bits >>> 28) & 1) === 1 } };
  }
  if (chunk === 'VP8 ') {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return { ok: false, problem: 'the lossy WebP frame header is corrupt' };
    return { ok: true, header: { format: 'webp', width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff, hasAlpha: false } };
  }
  return { ok: false, problem: `the WebP file starts with an unknown chunk "${chunk}"` };
}

/** Format, dimensions and alpha from the first bytes of a file. */
export function readImageHeader(head: Uint8Array): HeaderResult {
  const format = sniffFormat(head);
  if (format === 'png') return pngHeader(head);
  if (format === 'jpeg') return jpegHeader(head);
  if (format === 'webp') return webpHeader(head);
  return { ok: false, problem: 'the bytes are not a PNG, JPEG or WebP image' };
}

/** Detects a cut-off file from its last bytes (and, for WebP, its declared size). */
export function truncationProblem(format: ImageFormat, head: Uint8Array, tail: Uint8Array, totalBytes: number): string | undefined {
  const t = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength);
  if (format === 'png') {
    return t.length >= 12 && t.subarray(t.length - 12).equals(PNG_IEND)
      ? undefined
      : 'the PNG does not end with its IEND chunk: the file is truncated or has data appended';
  }
  if (format === 'jpeg') {
    // Some cameras append trailers after the end-of-image marker, so look for it near the end.
    return t.includes(Buffer.from([0xff, 0xd9])) ? undefined : 'the JPEG has no end-of-image marker: the file is truncated';
  }
  const declared = Buffer.from(head.buffer, head.byteOffset, head.byteLength).readUInt32LE(4) + 8;
  return declared === totalBytes ? undefined : `the WebP declares ${declared} bytes but the file has ${totalBytes}: it is truncated or has data appended`;
}
