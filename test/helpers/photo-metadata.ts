/**
 * Reading what a photographer looks for in a file, independently of the code under test: EXIF tags
 * (IFD0, the Exif IFD and whether a GPS IFD is linked) and an ICC profile's description.
 */

export interface ExifSummary {
  /** IFD0 tag ids. */
  ifd0: number[];
  /** ASCII values by tag id, from IFD0 and the Exif IFD. */
  text: Map<number, string>;
  hasGps: boolean;
  /** IFD0 links a next IFD (IFD1, the thumbnail's). */
  hasThumbnail: boolean;
}

export const TAG = { Make: 0x10f, Model: 0x110, Orientation: 0x112, DateTimeOriginal: 0x9003, Gps: 0x8825 };

/** EXIF as sharp's metadata returns it (JPEG: with the "Exif\0\0" prefix). */
export function readExif(exif: Buffer): ExifSummary {
  const t = exif.subarray(0, 4).toString('latin1') === 'Exif' ? exif.subarray(6) : exif;
  const le = t.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number) => (le ? t.readUInt16LE(o) : t.readUInt16BE(o));
  const u32 = (o: number) => (le ? t.readUInt32LE(o) : t.readUInt32BE(o));
  const text = new Map<number, string>();
  const entries = (ifd: number) =>
    Array.from({ length: u16(ifd) }, (_, i) => {
      const e = ifd + 2 + i * 12;
      const [tag, type, count] = [u16(e), u16(e + 2), u32(e + 4)];
      if (type === 2) {
        const at = count > 4 ? u32(e + 8) : e + 8;
        text.set(tag, t.toString('latin1', at, at + count).replace(/\0+$/, ''));
      }
      return { tag, value: u32(e + 8) };
    });
  const ifd0 = entries(u32(4));
  const exifIfd = ifd0.find((e) => e.tag === 0x8769);
  if (exifIfd) entries(exifIfd.value);
  const hasThumbnail = u32(u32(4) + 2 + ifd0.length * 12) !== 0;
  return { ifd0: ifd0.map((e) => e.tag), text, hasGps: ifd0.some((e) => e.tag === TAG.Gps), hasThumbnail };
}

/** The profile's description ('desc' tag: ICC v2 textDescriptionType or v4 multiLocalizedUnicodeType). */
export function iccDescription(icc: Buffer): string {
  const count = icc.readUInt32BE(128);
  for (let i = 0; i < count; i++) {
    const entry = 132 + i * 12;
    if (icc.toString('latin1', entry, entry + 4) !== 'desc') continue;
    const at = icc.readUInt32BE(entry + 4);
    if (icc.toString('latin1', at, at + 4) === 'desc') {
      return icc.toString('latin1', at + 12, at + 12 + icc.readUInt32BE(at + 8)).replace(/\0+$/, '');
    }
    const [length, offset] = [icc.readUInt32BE(at + 20), icc.readUInt32BE(at + 24)];
    return Buffer.from(icc.subarray(at + offset, at + offset + length))
      .swap16()
      .toString('utf16le');
  }
  throw new Error('the ICC profile has no description');
}

/**
 * A camera-like APP1 Exif payload: IFD0 with Make "Thumbcam" and, when `gpsAt` is given, a GPS pointer
 * to that offset (past the end: a malformed one), then IFD1 pointing at `thumbnail`, a JPEG.
 */
export function exifWithThumbnail(thumbnail: Buffer, gpsAt?: number): Buffer {
  const entries = gpsAt === undefined ? 1 : 2;
  const ifd1 = 8 + 2 + entries * 12 + 4;
  const make = ifd1 + 2 + 2 * 12 + 4; // "Thumbcam\0", then the thumbnail
  const t = Buffer.alloc(make + 9);
  const entry = (at: number, tag: number, type: number, count: number, value: number) => {
    t.writeUInt16BE(tag, at);
    t.writeUInt16BE(type, at + 2);
    t.writeUInt32BE(count, at + 4);
    t.writeUInt32BE(value, at + 8);
  };
  t.write('MM', 0, 'latin1');
  t.writeUInt16BE(42, 2);
  t.writeUInt32BE(8, 4);
  t.writeUInt16BE(entries, 8);
  entry(10, TAG.Make, 2, 9, make);
  if (gpsAt !== undefined) entry(22, TAG.Gps, 4, 1, gpsAt);
  t.writeUInt32BE(ifd1, ifd1 - 4);
  t.writeUInt16BE(2, ifd1);
  entry(ifd1 + 2, 0x0201, 4, 1, make + 9);
  entry(ifd1 + 14, 0x0202, 4, 1, thumbnail.length);
  t.write('Thumbcam', make, 'latin1');
  return Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), t, thumbnail]);
}

/** The JPEG with `payload` as an APP1 segment right after SOI. */
export function withApp1(jpeg: Buffer, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(0xffe1, 0);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), header, payload, jpeg.subarray(2)]);
}
