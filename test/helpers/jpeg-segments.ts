/**
 * Finds a JPEG segment by walking the marker structure from SOI, not by searching the bytes: a search can land
 * inside a segment's payload (a signature's random bytes hold any pair, 0xFF 0xDB included).
 */
const SOI = 0xd8;
const SOS = 0xda;

/** Byte offset of the first segment with this marker (0xDB for DQT, ...) before the scan; throws when absent. */
export function jpegSegmentAt(jpeg: Buffer, marker: number): number {
  if (jpeg[0] !== 0xff || jpeg[1] !== SOI) throw new Error('not a JPEG: no SOI');
  let at = 2;
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff) {
    const code = jpeg[at + 1]!;
    if (code === marker) return at;
    if (code === SOS) break;
    at += 2 + jpeg.readUInt16BE(at + 2);
  }
  throw new Error(`no segment 0xFF${marker.toString(16).toUpperCase()} before the scan`);
}
