/**
 * The image container, checked byte by byte before c2pa-rs sees it: every PNG chunk's CRC, every JPEG
 * segment's length, every WebP chunk's size. A corrupt container is quarantined even when the data
 * hash happens to cover it (c2pa-rs does not check PNG CRCs). Also returns the embedded C2PA manifest
 * store (JUMBF) so the gate can check what c2pa-rs reports against the bytes themselves, and the byte
 * ranges that hold it (the only range a hard binding may leave out). The store is found and reassembled
 * exactly as c2pa-rs 0.91 does, so both read the same bytes (JPEG: see `readJpeg`).
 */
import { crc32 } from 'node:zlib';
import type { ImageFormat } from '../image-header.js';

export interface Range {
  start: number;
  length: number;
}

export type ContainerReading =
  { ok: true; jumbf: Uint8Array | null; storeRanges: Range[] } | { ok: false; error: string };

/** Ranges in file order with touching neighbours joined: how one exclusion can cover several segments. */
export function joinRanges(ranges: Range[]): Range[] {
  const out: Range[] = [];
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    const last = out.at(-1);
    if (last && last.start + last.length === r.start) last.length += r.length;
    else out.push({ ...r });
  }
  return out;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const corrupt = (format: string, why: string): ContainerReading => ({
  ok: false,
  error: `the ${format} is corrupt: ${why}`,
});

export function readContainer(bytes: Uint8Array, format: ImageFormat): ContainerReading {
  if (format === 'png') return readPng(bytes);
  if (format === 'jpeg') return readJpeg(bytes);
  return readWebp(bytes);
}

function readPng(bytes: Uint8Array): ContainerReading {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(PNG_SIGNATURE)) return corrupt('PNG', 'bad signature');
  let pos = 8;
  const manifests: Uint8Array[] = [];
  const storeRanges: Range[] = [];
  while (pos < buf.length) {
    if (pos + 12 > buf.length) return corrupt('PNG', `chunk header at byte ${pos} is truncated`);
    const length = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const where = `chunk ${printable(type)} at byte ${pos}`;
    if (length > 0x7fffffff || pos + 12 + length > buf.length) return corrupt('PNG', `${where} runs past the end`);
    const crc = buf.readUInt32BE(pos + 8 + length);
    if (crc32(buf.subarray(pos + 4, pos + 8 + length)) !== crc) return corrupt('PNG', `${where} has a wrong CRC`);
    if (type === 'caBX') {
      manifests.push(buf.subarray(pos + 8, pos + 8 + length));
      storeRanges.push({ start: pos, length: 12 + length });
    }
    pos += 12 + length;
    if (type === 'IEND') break;
  }
  if (pos > buf.length || buf.toString('latin1', pos - 8, pos - 4) !== 'IEND') return corrupt('PNG', 'no IEND chunk');
  if (manifests.length > 1) return corrupt('PNG', `${manifests.length} C2PA manifest chunks (caBX)`);
  return { ok: true, jumbf: manifests[0] ?? null, storeRanges };
}

function readJpeg(bytes: Uint8Array): ContainerReading {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return corrupt('JPEG', 'no start-of-image marker');
  let pos = 2;
  const store = new JpegStore();
  for (;;) {
    if (pos + 2 > buf.length) return corrupt('JPEG', `segment at byte ${pos} is truncated`);
    if (buf[pos] !== 0xff) return corrupt('JPEG', `no marker at byte ${pos}`);
    const marker = buf[pos + 1]!;
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0xd9) break;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    if (pos + 4 > buf.length) return corrupt('JPEG', `segment at byte ${pos} is truncated`);
    const length = buf.readUInt16BE(pos + 2);
    if (length < 2 || pos + 2 + length > buf.length)
      return corrupt('JPEG', `segment 0xFF${hex(marker)} at byte ${pos} is truncated`);
    if (marker === 0xeb && !store.add(buf.subarray(pos + 4, pos + 2 + length), { start: pos, length: 2 + length }))
      return corrupt('JPEG', 'two C2PA manifest stores');
    pos += 2 + length;
    if (marker === 0xda) {
      // Entropy-coded data runs to the next marker that is neither a stuffed 0xFF00 nor a restart marker.
      const isMarker = (at: number) =>
        buf[at] === 0xff && buf[at + 1] !== 0x00 && !(buf[at + 1]! >= 0xd0 && buf[at + 1]! <= 0xd7);
      while (pos + 1 < buf.length && !isMarker(pos)) pos++;
      if (pos + 1 >= buf.length) return corrupt('JPEG', 'the scan data has no end-of-image marker');
    }
  }
  return { ok: true, jumbf: store.jumbf(), storeRanges: store.ranges };
}

/**
 * The C2PA store in APP11 segments, reassembled as c2pa-rs 0.91's JPEG reader does: a segment whose
 * JUMBF description box has the C2PA UUID (bytes 24-27 "c2pa") starts the store, and every later APP11
 * segment with the same box instance number continues it (its repeated LBox/TBox dropped), in file
 * order. The packet sequence numbers are not read: c2pa-rs ignores them (Microsoft writes a single
 * segment numbered 0), and the order that counts is the order both readers use.
 */
class JpegStore {
  private instance: number | null = null;
  private readonly parts: Buffer[] = [];
  readonly ranges: Range[] = [];

  /** False when this segment starts a second store. */
  add(data: Buffer, range: Range): boolean {
    if (data.length <= 16) return true; // too short for C2PA JUMBF; c2pa-rs skips it too
    const instance = data.readUInt16BE(2);
    if (this.parts.length && instance === this.instance) {
      this.parts.push(data.subarray(16));
    } else if (data.length >= 28 && data.toString('latin1', 24, 28) === 'c2pa') {
      if (this.parts.length) return false;
      this.instance = instance;
      this.parts.push(data.subarray(8));
    } else return true;
    this.ranges.push(range);
    return true;
  }

  jumbf(): Buffer | null {
    return this.parts.length ? Buffer.concat(this.parts) : null;
  }
}

function readWebp(bytes: Uint8Array): ContainerReading {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riff = buf.length >= 12 && buf.toString('latin1', 0, 4) === 'RIFF' && buf.toString('latin1', 8, 12) === 'WEBP';
  if (!riff) return corrupt('WebP', 'bad RIFF header');
  const end = 8 + buf.readUInt32LE(4);
  if (end > buf.length) return corrupt('WebP', 'the RIFF size runs past the end');
  let pos = 12;
  const manifests: Buffer[] = [];
  const storeRanges: Range[] = [];
  while (pos < end) {
    if (pos + 8 > end) return corrupt('WebP', `chunk header at byte ${pos} is truncated`);
    const type = buf.toString('latin1', pos, pos + 4);
    const size = buf.readUInt32LE(pos + 4);
    if (pos + 8 + size > end) return corrupt('WebP', `chunk ${printable(type)} at byte ${pos} runs past the end`);
    if (type === 'C2PA') {
      manifests.push(buf.subarray(pos + 8, pos + 8 + size));
      storeRanges.push({ start: pos, length: 8 + size + (size & 1) }); // with its pad byte, part of the chunk
    }
    pos += 8 + size + (size & 1);
  }
  if (manifests.length > 1) return corrupt('WebP', `${manifests.length} C2PA chunks`);
  return { ok: true, jumbf: manifests[0] ?? null, storeRanges };
}

const hex = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');
const printable = (type: string) => JSON.stringify(type.replace(/[^\x20-\x7e]/g, '?'));
