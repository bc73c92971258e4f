/**
 * Trims an encoded file's EXIF, as libvips wrote it: the orientation tag goes (libvips writes one even
 * for an upright picture, and the result is stored upright); the thumbnail (IFD1) goes, as it is a small
 * copy of the photo before the edit; and, with STRIP_GPS, the GPS IFD goes. What goes is unlinked and
 * its bytes zeroed, with every value it points to, so neither an EXIF reader nor a scan of the bytes
 * finds it. In place: no length changes, so JPEG segments and WebP chunks stay valid as they are; a PNG
 * chunk's CRC is recomputed. sharp has no way to drop one tag and keep the others.
 */
import { crc32 } from 'node:zlib';

/** Bytes per value of each TIFF field type (1 BYTE … 12 DOUBLE; 13 IFD). */
const TYPE_SIZE = [0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4];
const GPS_POINTER = 0x8825;
const ORIENTATION = 0x0112;
const THUMBNAIL_OFFSET = 0x0201;
const THUMBNAIL_LENGTH = 0x0202;
const ENTRY = 12;

export class ExifError extends Error {}

function tiffReader(t: Buffer) {
  const order = t.toString('latin1', 0, 4);
  if (order !== 'II*\0' && order !== 'MM\0*') throw new ExifError('the EXIF data has no TIFF header');
  const le = order === 'II*\0';
  const at = (offset: number, size: number) => {
    if (offset < 0 || offset + size > t.length) throw new ExifError('an EXIF offset points past its data');
    return offset;
  };
  return {
    u16: (o: number) => (le ? t.readUInt16LE(at(o, 2)) : t.readUInt16BE(at(o, 2))),
    u32: (o: number) => (le ? t.readUInt32LE(at(o, 4)) : t.readUInt32BE(at(o, 4))),
    set16: (o: number, v: number) => (le ? t.writeUInt16LE(v, at(o, 2)) : t.writeUInt16BE(v, at(o, 2))),
    set32: (o: number, v: number) => (le ? t.writeUInt32LE(v, at(o, 4)) : t.writeUInt32BE(v, at(o, 4))),
    zero: (o: number, size: number) => t.fill(0, at(o, size), o + size),
  };
}

/** Zeroes an IFD: its entries, their out-of-line values and its next-IFD offset. */
function zeroIfd(r: ReturnType<typeof tiffReader>, ifd: number) {
  const count = r.u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * ENTRY;
    const size = (TYPE_SIZE[r.u16(entry + 2)] ?? 1) * r.u32(entry + 4);
    if (size > 4) r.zero(r.u32(entry + 8), size);
  }
  r.zero(ifd, 2 + count * ENTRY + 4);
}

/** Removes IFD0's entries with these tags, in place; returns the removed entries' values. */
function removeFromIfd0(r: ReturnType<typeof tiffReader>, tiff: Buffer, tags: number[]): Map<number, number> {
  const ifd0 = r.u32(4);
  let count = r.u16(ifd0);
  const removed = new Map<number, number>();
  for (let i = 0; i < count;) {
    const entry = ifd0 + 2 + i * ENTRY;
    const tag = r.u16(entry);
    if (!tags.includes(tag)) {
      i++;
      continue;
    }
    removed.set(tag, r.u32(entry + 8));
    // The entries after it, and the next-IFD offset, move up one entry; the freed tail is zeroed.
    const end = ifd0 + 2 + count * ENTRY + 4;
    tiff.copyWithin(entry, entry + ENTRY, end);
    r.zero(end - ENTRY, ENTRY);
    r.set16(ifd0, --count);
  }
  return removed;
}

/** Unlinks IFD1 (the thumbnail) from IFD0 and zeroes it and its JPEG; false when there was none. */
function dropThumbnail(r: ReturnType<typeof tiffReader>): boolean {
  const ifd0 = r.u32(4);
  const next = ifd0 + 2 + r.u16(ifd0) * ENTRY;
  const ifd1 = r.u32(next);
  if (ifd1 === 0) return false;
  r.set32(next, 0);
  const values = new Map<number, number>();
  for (let i = 0; i < r.u16(ifd1); i++) values.set(r.u16(ifd1 + 2 + i * ENTRY), r.u32(ifd1 + 2 + i * ENTRY + 8));
  const [offset, length] = [values.get(THUMBNAIL_OFFSET), values.get(THUMBNAIL_LENGTH)];
  if (offset !== undefined && length) r.zero(offset, length);
  zeroIfd(r, ifd1);
  return true;
}

/** Trims a TIFF structure in place (orientation, thumbnail; GPS with `noGps`); false when nothing changed. */
export function trimTiff(tiff: Buffer, noGps: boolean): boolean {
  const r = tiffReader(tiff);
  const removed = removeFromIfd0(r, tiff, noGps ? [ORIENTATION, GPS_POINTER] : [ORIENTATION]);
  const gps = removed.get(GPS_POINTER);
  if (gps !== undefined) zeroIfd(r, gps);
  const thumbnail = dropThumbnail(r);
  return removed.size > 0 || thumbnail;
}

/** The PNG chunk holding `offset`, so its CRC can be recomputed. */
function pngChunkAt(file: Buffer, offset: number) {
  for (let p = 8; p + 12 <= file.length;) {
    const length = file.readUInt32BE(p);
    if (offset >= p + 8 && offset < p + 8 + length) return { start: p, length };
    p += 12 + length;
  }
  throw new ExifError('the EXIF data is in no PNG chunk');
}

/**
 * The file with its EXIF (`exif`, as sharp's metadata reads it) trimmed. The EXIF's TIFF part is found
 * byte for byte in the file: it is one copy of it, written by libvips just before.
 */
export function trimExif(file: Buffer, exif: Buffer, format: 'png' | 'jpeg' | 'webp', noGps: boolean): Buffer {
  const start = exif.indexOf('II*\0', 0, 'latin1') === 0 || exif.indexOf('MM\0*', 0, 'latin1') === 0 ? 0 : 6;
  const tiff = exif.subarray(start); // JPEG's APP1 payload starts with "Exif\0\0"
  const at = file.indexOf(tiff);
  if (at < 0 || file.indexOf(tiff, at + 1) >= 0) throw new ExifError('the EXIF data is not found once in the file');
  const out = Buffer.from(file);
  if (!trimTiff(out.subarray(at, at + tiff.length), noGps)) return file;
  if (format === 'png') {
    const { start: chunk, length } = pngChunkAt(out, at);
    out.writeUInt32BE(crc32(out.subarray(chunk + 4, chunk + 8 + length)), chunk + 8 + length);
  }
  return out;
}
