/**
 * The full-size result: the original photo, upright and at its own size, with the model's pixels
 * blended into the masked area only. The model returns at most 1536 px a side, so its output is scaled
 * back to the photo's size; the mask's edge is feathered inward, so every pixel outside the mask keeps
 * the photo's decoded value (bit-exact for PNG; JPEG and WebP re-encode the whole picture lossily).
 */
import sharp, { type Sharp } from 'sharp';

export type PhotoFormat = 'png' | 'jpeg' | 'webp';

export interface CompositeImage {
  bytes: Buffer;
  format: PhotoFormat;
  mime: `image/${PhotoFormat}`;
  width: number;
  height: number;
  /** The photo's EXIF orientation that was applied (1 when there was none). */
  orientation: number;
}

export class CompositeError extends Error {}

/** JPEG and WebP results are re-encoded at this quality, with full-resolution chroma for JPEG. */
const LOSSY_QUALITY = 95;

/** The feather's Gaussian sigma, in pixels of the full-size photo: about 0.2 % of its shorter side. */
const featherSigma = (width: number, height: number) => Math.max(1, Math.min(width, height) / 500);

/** The photo as displayed: EXIF orientations 5 to 8 swap width and height. */
export function displayedSize(meta: { width?: number; height?: number; orientation?: number }) {
  const swap = (meta.orientation ?? 1) >= 5;
  return { width: (swap ? meta.height : meta.width) ?? 0, height: (swap ? meta.width : meta.height) ?? 0 };
}

/**
 * How much of the edit each pixel takes (0–255): 255 − mask alpha, blurred, and never more than the mask
 * itself allows, so the blur softens the inside of the edge and leaves everything outside at 0.
 */
async function editWeights(mask: Uint8Array, width: number, height: number): Promise<Buffer> {
  const meta = await sharp(mask).metadata();
  if (meta.width !== width || meta.height !== height) {
    throw new CompositeError(
      `the mask is ${meta.width}x${meta.height} but the photo as displayed is ${width}x${height}`,
    );
  }
  const region = await sharp(mask).ensureAlpha().extractChannel(3).raw().toBuffer();
  for (let i = 0; i < region.length; i++) region[i] = 255 - region[i]!;
  const blurred = await sharp(region, { raw: { width, height, channels: 1 } })
    .blur(featherSigma(width, height))
    .extractChannel(0) // sharp hands one-band input back as sRGB otherwise
    .raw()
    .toBuffer();
  for (let i = 0; i < region.length; i++) if (blurred[i]! < region[i]!) region[i] = blurred[i]!;
  return region;
}

function encoder(image: Sharp, format: PhotoFormat): Sharp {
  if (format === 'jpeg') return image.jpeg({ quality: LOSSY_QUALITY, chromaSubsampling: '4:4:4' });
  if (format === 'webp') return image.webp({ quality: LOSSY_QUALITY });
  return image.png();
}

/** Composites `edit` (the model's output) into `photo` where `mask` is transparent. */
export async function composeFullSize(photo: Uint8Array, mask: Uint8Array, edit: Uint8Array): Promise<CompositeImage> {
  const meta = await sharp(photo).metadata();
  const format = meta.format === 'jpeg' || meta.format === 'png' || meta.format === 'webp' ? meta.format : undefined;
  if (!format) throw new CompositeError(`the photo is ${meta.format ?? 'of an unknown format'}, not PNG, JPEG or WebP`);
  const { width, height } = displayedSize(meta);
  // `rotate()` with no angle applies the EXIF orientation; the output carries none, so it stays upright.
  const base = await sharp(photo).rotate().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const channels = base.info.channels;
  if (base.info.width !== width || base.info.height !== height) {
    throw new CompositeError(
      `the photo decoded as ${base.info.width}x${base.info.height}, expected ${width}x${height}`,
    );
  }
  let scaled = sharp(edit).resize(width, height, { fit: 'fill' }).toColourspace('srgb');
  scaled = channels === 4 ? scaled.ensureAlpha() : scaled.removeAlpha();
  const model = await scaled.raw().toBuffer();
  const weights = await editWeights(mask, width, height);

  const out = Buffer.from(base.data);
  for (let p = 0; p < weights.length; p++) {
    const w = weights[p]!;
    if (w === 0) continue;
    for (let c = 0, i = p * channels; c < channels; c++, i++) {
      out[i] = Math.round(out[i]! + ((model[i]! - out[i]!) * w) / 255);
    }
  }
  const image = sharp(out, { raw: { width, height, channels } });
  return {
    bytes: await encoder(image, format).toBuffer(),
    format,
    mime: `image/${format}`,
    width,
    height,
    orientation: meta.orientation ?? 1,
  };
}
