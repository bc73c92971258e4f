/**
 * Cheap image checks from a file's first and last bytes: real format (by signature, not by name),
 * dimensions, alpha, EXIF orientation, animation, header integrity and truncation. No pixels are
 * decoded, so a decompression bomb costs nothing to refuse. Pure: no I/O.
 */
import { crc32 } from 'node:zlib';

export type ImageFormat = 'png' | 'jpeg' | 'webp';

/** EXIF orientation (TIFF tag 0x0112): 1 is upright; 5–8 swap width and height when displayed. */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

export interface ImageHeader {
  format: ImageFormat;
  /** Stored dimensions (as the pixels are encoded, before EXIF orientation). */
  width: number;
  height: number;
  hasAlpha: boolean;
  /** From the file's EXIF (JPEG APP1, PNG eXIf, WebP EXIF chunk); 1 when there is none. */
  orientation: Orientation;
  /** An APNG (acTL before IDAT) or an animated WebP (VP8X animation flag). */
  animated: boolean;
}

/**
 * The bytes of a file that a header read has: its first bytes, and optionally its last bytes and total
 * size (a WebP keeps its EXIF chunk after the image data, usually within the tail).
 */
export interface HeaderBytes {
  head: Uint8Array;
  tail?: Uint8Array;
  totalBytes?: number;
}

export type HeaderResult =
  | { ok: true; header: ImageHeader }
  /** `needHeadBytes`: the header goes on past `head`; read at least this many leading bytes and ask again. */
  | { ok: false; problem: string; needHeadBytes?: number };

/** How many leading bytes to read first; files with large metadata before the image data ask for more. */
export const HEAD_BYTES = 64 * 1024;
/** How many trailing bytes the truncation check reads. */
export const TAIL_BYTES = 64 * 1024;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_IEND = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

const asBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  const b = asBuffer(bytes);
  if (b.length >= 8 && b.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return undefined;
}

export const FORMAT_NAMES: Record<ImageFormat, string> = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP' };

/** Whether the orientation turns the picture a quarter (displayed width and height swap). */
export function swapsAxes(orientation: Orientation): boolean {
  return orientation >= 5;
}

/** The size the picture has as viewers display it (EXIF orientation applied). */
type Geometry = Pick<ImageHeader, 'width' | 'height' | 'orientation'>;

export function displayedSize(header: Geometry): { width: number; height: number } {
  return swapsAxes(header.orientation)
    ? { width: header.height, height: header.width }
    : { width: header.width, height: header.height };
}

/** "displayed 1024x1536 (stored 1536x1024, EXIF orientation 6)", or just "1024x1536" when upright. */
export function describeSize(header: Geometry): string {
  const shown = displayedSize(header);
  if (header.orientation === 1) return `${shown.width}x${shown.height}`;
  const stored = `stored ${header.width}x${header.height}, EXIF orientation ${header.orientation}`;
  return `displayed ${shown.width}x${shown.height} (${stored})`;
}

/** The Orientation tag of IFD0 in a TIFF structure (EXIF payload), or 1 when absent or unreadable. */
export function exifOrientation(tiff: Uint8Array): Orientation {
  let b = asBuffer(tiff);
  if (b.length >= 6 && b.toString('latin1', 0, 6) === 'Exif\0\0') b = b.subarray(6);
  if (b.length < 8) return 1;
  const order = b.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return 1;
  const le = order === 'II';
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  if (u16(2) !== 42) return 1;
  const ifd = u32(4);
  if (ifd + 2 > b.length) return 1;
  const entries = u16(ifd);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > b.length) return 1;
    if (u16(entry) !== 0x0112) continue;
    const value = u16(entry + 2) === 3 ? u16(entry + 8) : 0; // type SHORT, value inline
    return value >= 1 && value <= 8 ? (value as Orientation) : 1;
  }
  return 1;
}

export interface PngChunk {
  type: string;
  /** Offset of the chunk's length field. */
  offset: number;
  data: Buffer;
  crcOk: boolean;
}

/**
 * The PNG chunks wholly inside `bytes` (a prefix of the file is fine). When the prefix ends inside a
 * chunk, `next` is that chunk: its type (if its header was read) and where it ends, plus the next
 * chunk's length and type.
 */
export function pngChunks(bytes: Uint8Array): {
  chunks: PngChunk[];
  complete: boolean;
  next?: { type?: string; readTo: number };
} {
  const b = asBuffer(bytes);
  const chunks: PngChunk[] = [];
  let off = 8;
  while (off + 12 <= b.length) {
    const length = b.readUInt32BE(off);
    const end = off + 12 + length;
    const type = b.toString('latin1', off + 4, off + 8);
    if (end > b.length) return { chunks, complete: false, next: { type, readTo: end + 8 } };
    const crc = b.readUInt32BE(end - 4);
    chunks.push({
      type,
      offset: off,
      data: b.subarray(off + 8, end - 4),
      crcOk: crc32(b.subarray(off + 4, end - 4)) === crc,
    });
    if (type === 'IEND') return { chunks, complete: true };
    off = end;
  }
  const type = off + 8 <= b.length ? b.toString('latin1', off + 4, off + 8) : undefined;
  return { chunks, complete: false, next: { ...(type ? { type } : {}), readTo: off + 12 } };
}

const PNG_COLOR_DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/** How far to read next: what the parser needs, but at least double what it has (few round trips). */
function needMore(problem: string, head: Uint8Array, needed: number): HeaderResult {
  return { ok: false, problem, needHeadBytes: Math.max(needed, head.length * 2) };
}

function pngHeader({ head, totalBytes }: HeaderBytes): HeaderResult {
  const { chunks, next } = pngChunks(head);
  const ihdr = chunks[0];
  if (!ihdr && next && (totalBytes === undefined || head.length < totalBytes)) {
    return needMore('the PNG header chunk (IHDR) goes on past the bytes read', head, next.readTo);
  }
  if (!ihdr || ihdr.type !== 'IHDR' || ihdr.data.length !== 13)
    return { ok: false, problem: 'the PNG has no valid IHDR header chunk' };
  if (!ihdr.crcOk)
    return { ok: false, problem: 'the PNG header chunk (IHDR) fails its CRC check: the file is corrupt' };
  const width = ihdr.data.readUInt32BE(0);
  const height = ihdr.data.readUInt32BE(4);
  const depth = ihdr.data[8]!;
  const colorType = ihdr.data[9]!;
  if (width === 0 || height === 0)
    return { ok: false, problem: `the PNG declares impossible dimensions ${width}x${height}` };
  if (!PNG_COLOR_DEPTHS[colorType]?.includes(depth))
    return { ok: false, problem: `the PNG declares an invalid color type ${colorType} with bit depth ${depth}` };
  if (ihdr.data[10] !== 0 || ihdr.data[11] !== 0 || ihdr.data[12]! > 1)
    return { ok: false, problem: 'the PNG declares an unknown compression, filter or interlace method' };
  const bad = chunks.find((c) => !c.crcOk);
  if (bad)
    return {
      ok: false,
      problem: `the PNG chunk ${bad.type} at byte ${bad.offset} fails its CRC check: the file is corrupt`,
    };
  // tRNS, acTL and eXIf all come before the first IDAT (PNG spec, chunk ordering), whatever the colour type:
  // read on until IDAT, however much metadata comes first.
  // The image data may start in a chunk whose header is all that was read: its type is enough.
  let idat = chunks.findIndex((c) => c.type === 'IDAT' || c.type === 'IEND');
  if (idat === -1 && next?.type === 'IDAT') idat = chunks.length;
  if (idat === -1) {
    if (totalBytes !== undefined && head.length >= totalBytes) {
      return { ok: false, problem: 'the PNG ends before its image data (no IDAT chunk)' };
    }
    return needMore('the PNG image data (IDAT) comes after the bytes read', head, next?.readTo ?? head.length + 12);
  }
  const before = chunks.slice(0, idat);
  const exif = before.find((c) => c.type === 'eXIf');
  return {
    ok: true,
    header: {
      format: 'png',
      width,
      height,
      hasAlpha: colorType === 4 || colorType === 6 || before.some((c) => c.type === 'tRNS'),
      orientation: exif ? exifOrientation(exif.data) : 1,
      animated: before.some((c) => c.type === 'acTL'),
    },
  };
}

const JPEG_SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function jpegHeader({ head, totalBytes }: HeaderBytes): HeaderResult {
  const b = asBuffer(head);
  let orientation: Orientation = 1;
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
    if (marker === 0xda || marker === 0xd9)
      return { ok: false, problem: 'the JPEG has no frame header (SOF) before its image data' };
    const length = b.readUInt16BE(off + 2);
    if (length < 2) return { ok: false, problem: `the JPEG is corrupt: segment at byte ${off} has length ${length}` };
    const end = off + 2 + length;
    if (end > b.length) break; // the segment goes on past the bytes read
    if (marker === 0xe1 && b.toString('latin1', off + 4, off + 10) === 'Exif\0\0') {
      orientation = exifOrientation(b.subarray(off + 10, end));
    }
    if (JPEG_SOF.has(marker)) {
      if (length < 7) return { ok: false, problem: `the JPEG frame header at byte ${off} is too short` };
      const height = b.readUInt16BE(off + 5);
      const width = b.readUInt16BE(off + 7);
      if (width === 0 || height === 0)
        return { ok: false, problem: `the JPEG declares impossible dimensions ${width}x${height}` };
      return { ok: true, header: { format: 'jpeg', width, height, hasAlpha: false, orientation, animated: false } };
    }
    off = end;
  }
  if (totalBytes !== undefined && head.length >= totalBytes) {
    return { ok: false, problem: 'the JPEG ends before its frame header (SOF)' };
  }
  const needed = off + 4 <= b.length ? off + 2 + b.readUInt16BE(off + 2) + 4 : off + 4;
  return needMore('the JPEG frame header (SOF) comes after the bytes read', head, needed);
}

/** A RIFF chunk of a WebP, read from the head or the tail of the file. */
function riffChunkAt(bytes: HeaderBytes, offset: number): { fourcc: string; size: number; data?: Buffer } | undefined {
  const head = asBuffer(bytes.head);
  const tail = bytes.tail ? asBuffer(bytes.tail) : undefined;
  const total = bytes.totalBytes ?? head.length;
  const tailStart = tail ? total - tail.length : total;
  const pick = (from: number, length: number): Buffer | undefined => {
    if (from + length <= head.length) return head.subarray(from, from + length);
    if (tail && from >= tailStart && from + length <= total) {
      return tail.subarray(from - tailStart, from - tailStart + length);
    }
    return undefined;
  };
  const header = pick(offset, 8);
  if (!header) return undefined;
  const size = header.readUInt32LE(4);
  const data = pick(offset + 8, size);
  return { fourcc: header.toString('latin1', 0, 4), size, ...(data ? { data } : {}) };
}

/** The EXIF orientation of an extended WebP, whose EXIF chunk follows the image data. */
function webpOrientation(bytes: HeaderBytes): { orientation: Orientation } | { needHeadBytes: number } {
  const total = bytes.totalBytes ?? bytes.head.length;
  for (let off = 12; off + 8 <= total;) {
    const chunk = riffChunkAt(bytes, off);
    if (!chunk) return { needHeadBytes: off + 8 };
    if (chunk.fourcc === 'EXIF') {
      return chunk.data ? { orientation: exifOrientation(chunk.data) } : { needHeadBytes: off + 8 + chunk.size };
    }
    off += 8 + chunk.size + (chunk.size % 2);
  }
  return { orientation: 1 };
}

function webpHeader(bytes: HeaderBytes): HeaderResult {
  const b = asBuffer(bytes.head);
  if (b.length < 30) return { ok: false, problem: 'the WebP file is too short to hold a header' };
  const chunk = b.toString('latin1', 12, 16);
  if (chunk === 'VP8X') {
    const flags = b[20]!;
    const width = 1 + b.readUIntLE(24, 3);
    const height = 1 + b.readUIntLE(27, 3);
    let orientation: Orientation = 1;
    if (flags & 0x08) {
      const found = webpOrientation(bytes);
      if ('needHeadBytes' in found) {
        return needMore('the WebP EXIF chunk lies past the bytes read', bytes.head, found.needHeadBytes);
      }
      orientation = found.orientation;
    }
    const [hasAlpha, animated] = [(flags & 0x10) !== 0, (flags & 0x02) !== 0];
    return { ok: true, header: { format: 'webp', width, height, hasAlpha, orientation, animated } };
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return { ok: false, problem: 'the lossless WebP header is corrupt' };
    const bits = b.readUInt32LE(21);
    const width = 1 + (bits & 0x3fff);
    const height = 1 + ((bits >>> 14) & 0x3fff);
    const hasAlpha = ((bits >>> 28) & 1) === 1;
    return { ok: true, header: { format: 'webp', width, height, hasAlpha, orientation: 1, animated: false } };
  }
  if (chunk === 'VP8 ') {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a)
      return { ok: false, problem: 'the lossy WebP frame header is corrupt' };
    const [width, height] = [b.readUInt16LE(26) & 0x3fff, b.readUInt16LE(28) & 0x3fff];
    return { ok: true, header: { format: 'webp', width, height, hasAlpha: false, orientation: 1, animated: false } };
  }
  return { ok: false, problem: `the WebP file starts with an unknown chunk "${chunk}"` };
}

/**
 * Format, dimensions, alpha, orientation and animation from a file's first bytes. When the header goes on
 * past them, the result says how many leading bytes to read next; with `totalBytes`, a file that ends
 * first is refused instead.
 */
export function readImageHeader(bytes: Uint8Array | HeaderBytes): HeaderResult {
  const sample: HeaderBytes = bytes instanceof Uint8Array ? { head: bytes } : bytes;
  const format = sniffFormat(sample.head);
  if (format === 'png') return pngHeader(sample);
  if (format === 'jpeg') return jpegHeader(sample);
  if (format === 'webp') return webpHeader(sample);
  return { ok: false, problem: 'the bytes are not a PNG, JPEG or WebP image' };
}

/** Detects a cut-off file from its last bytes (and, for WebP, its declared size). */
export function truncationProblem(
  format: ImageFormat,
  head: Uint8Array,
  tail: Uint8Array,
  totalBytes: number,
): string | undefined {
  const t = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength);
  if (format === 'png') {
    return t.length >= 12 && t.subarray(t.length - 12).equals(PNG_IEND)
      ? undefined
      : 'the PNG does not end with its IEND chunk: the file is truncated or has data appended';
  }
  if (format === 'jpeg') {
    // Some cameras append trailers after the end-of-image marker, so look for it near the end.
    return t.includes(Buffer.from([0xff, 0xd9]))
      ? undefined
      : 'the JPEG has no end-of-image marker: the file is truncated';
  }
  const declared = Buffer.from(head.buffer, head.byteOffset, head.byteLength).readUInt32LE(4) + 8;
  return declared === totalBytes
    ? undefined
    : `the WebP declares ${declared} bytes but the file has ${totalBytes}: it is truncated or has data appended`;
}

/** The content type of each image format the pipeline reads and writes. */
export const IMAGE_MIME: Record<ImageFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };
