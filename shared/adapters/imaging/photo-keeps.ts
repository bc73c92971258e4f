/**
 * What a photographer keeps in the composite: the photo's bits per channel where the format allows
 * (16-bit PNG stays 16-bit; JPEG and WebP are 8-bit by format), its ICC profile with the pixels left in
 * that colour space (the edit is converted into it, not the photo into sRGB), and its EXIF: without the
 * orientation (the result is stored upright) or the thumbnail and, with STRIP_GPS, without the GPS
 * position (shared/core/composite/exif-trim.ts).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { ExifError, trimExif } from '../../core/composite/exif-trim.js';
import { type Colour } from '../../core/composite/composite-image.js';

/**
 * Only an RGB photo's profile is kept: a CMYK or grey profile does not describe the RGB result, so such
 * a photo is converted to sRGB as before.
 */
export const keptProfile = (meta: Metadata) =>
  meta.icc && (meta.space === 'srgb' || meta.space === 'rgb16') && (meta.channels ?? 0) >= 3 ? meta.icc : undefined;

const sixteenBit = (meta: Metadata) => meta.depth === 'ushort' && meta.format === 'png';

export function colourOf(meta: Metadata): Colour {
  const icc = keptProfile(meta);
  return {
    profile: icc ? { sha256: createHash('sha256').update(icc).digest('hex') } : null,
    intent: 'perceptual',
    bitsPerChannel: sixteenBit(meta) ? 16 : 8,
  };
}

/**
 * The photo's pipeline left in the photo's colour space and bit depth: 16-bit photos are composited
 * in 16 bits (sharp composites in 8-bit sRGB unless told), the 8-bit overlay scaled up to them.
 */
export function keptColour(image: Sharp, meta: Metadata): Sharp {
  const kept = keptProfile(meta) ? image.keepIccProfile() : image;
  return sixteenBit(meta) ? kept.pipelineColourspace('rgb16').toColourspace('rgb16') : kept.toColourspace('srgb');
}

/**
 * Runs `use` with a file holding the ICC profile `icc` (sharp converts into a profile named by path
 * only), or with none when there is no profile to convert into (sRGB).
 */
export async function withProfileFile<T>(icc: Buffer | undefined, use: (profile?: string) => Promise<T>): Promise<T> {
  if (!icc) return use();
  const dir = await mkdtemp(path.join(tmpdir(), 'imagegen-icc-'));
  try {
    const file = path.join(dir, 'photo.icc');
    await writeFile(file, icc);
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Encodes with the photo's EXIF, trimmed (no orientation, no thumbnail; with `noGps`, no GPS position).
 * EXIF that cannot be read well enough to trim is left out whole: the location's privacy comes before
 * the camera's details.
 */
export async function encodeWithExif(
  encoder: Sharp,
  meta: Metadata,
  format: 'png' | 'jpeg' | 'webp',
  noGps: boolean,
): Promise<Buffer> {
  if (!meta.exif) return encoder.toBuffer();
  const without = encoder.clone();
  const bytes = await encoder.keepExif().toBuffer();
  const { exif } = await sharp(bytes).metadata();
  if (!exif) return bytes;
  try {
    return trimExif(bytes, exif, format, noGps);
  } catch (err) {
    if (!(err instanceof ExifError)) throw err;
    return without.toBuffer();
  }
}
