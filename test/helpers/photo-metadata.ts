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
  return { ifd0: ifd0.map((e) => e.tag), text, hasGps: ifd0.some((e) => e.tag === TAG.Gps) };
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
