/**
 * The full-size result: the original photo, upright and at its own size, with the model's pixels
 * blended into the masked area only. The model returns at most 1536 px a side, so its output is scaled
 * back to the photo's size; the mask's edge is feathered inward, so every pixel outside the mask keeps
 * the photo's decoded value (bit-exact for PNG; JPEG and WebP re-encode the whole picture lossily).
 * Each input is decoded once, and only the mask's bounding box (the region) is computed beyond the
 * photo: the blend is one sharp pipeline from the photo's decode to the encoded result. What a
 * photographer keeps is kept (shared/adapters/imaging/photo-keeps.ts): bit depth, ICC profile, EXIF.
 */
import sharp, { type Sharp } from 'sharp';
import { coreBlocks } from '../../core/composite/core-blocks.js';
import { colourOf, encodeWithExif, keptColour, keptProfile, withProfileFile } from './photo-keeps.js';
import { type Colour } from '../../core/composite/composite-image.js';
import {
  type PhotoFormat,
  type Region,
  type BlendParameters,
  type ComposeOptions,
  type CompositeImage,
} from '../../core/composite/composite-image.js';

export class CompositeError extends Error {}

/** JPEG and WebP results are re-encoded at this quality, with full-resolution chroma for JPEG. */
export const LOSSY_QUALITY = 95;

/** The feather's Gaussian sigma, in pixels of the full-size photo: about 0.2 % of its shorter side. */
const featherSigma = (width: number, height: number) => Math.max(1, Math.min(width, height) / 500);

/** The photo as displayed: EXIF orientations 5 to 8 swap width and height. */
export function displayedSize(meta: { width?: number; height?: number; orientation?: number }) {
  const swap = (meta.orientation ?? 1) >= 5;
  return { width: (swap ? meta.height : meta.width) ?? 0, height: (swap ? meta.width : meta.height) ?? 0 };
}

/** The mask's alpha, decoded once, and the bounding box of its not fully opaque pixels. */
async function readMask(mask: Uint8Array, width: number, height: number) {
  const { data, info } = await sharp(mask).ensureAlpha().extractChannel(3).raw().toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height) {
    throw new CompositeError(
      `the mask is ${info.width}x${info.height} but the photo as displayed is ${width}x${height}`,
    );
  }
  // Fully opaque rows are skipped by a native comparison; only rows with an edit are scanned.
  const opaque = Buffer.alloc(width, 255);
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    const row = data.subarray(y * width, (y + 1) * width);
    if (row.equals(opaque)) continue;
    let left = 0;
    while (row[left] === 255) left++;
    let right = width - 1;
    while (row[right] === 255) right--;
    if (y < y0) y0 = y;
    y1 = y;
    x0 = Math.min(x0, left);
    x1 = Math.max(x1, right);
  }
  if (x1 < 0) throw new CompositeError('the mask has no transparent area to edit');
  return { alpha: data, region: { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 } };
}

/**
 * How much of the edit each pixel of the region takes (0–255): 255 − mask alpha, blurred, and never
 * more than the mask itself allows, so the blur softens the inside of the edge and leaves everything
 * outside at 0. Blurred over the region plus the kernel's reach, which is the whole-image blur there.
 */
async function editWeights(alpha: Buffer, width: number, height: number, region: Region, sigma: number) {
  const reach = Math.ceil(sigma * 4);
  const x0 = Math.max(0, region.x - reach);
  const y0 = Math.max(0, region.y - reach);
  const w = Math.min(width, region.x + region.width + reach) - x0;
  const h = Math.min(height, region.y + region.height + reach) - y0;
  const inverted = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) {
    const row = (y0 + y) * width + x0;
    for (let x = 0; x < w; x++) inverted[y * w + x] = 255 - alpha[row + x]!;
  }
  const blurred = await sharp(inverted, { raw: { width: w, height: h, channels: 1 } })
    .blur(sigma)
    .extractChannel(0) // sharp hands one-band input back as sRGB otherwise
    .raw()
    .toBuffer();
  const weights = Buffer.alloc(region.width * region.height);
  for (let y = 0; y < region.height; y++) {
    const from = (region.y - y0 + y) * w + (region.x - x0);
    for (let x = 0; x < region.width; x++)
      weights[y * region.width + x] = Math.min(blurred[from + x]!, inverted[from + x]!);
  }
  return weights;
}

function encoder(image: Sharp, format: PhotoFormat): Sharp {
  // One Huffman pass: optimised coding is a second pass over 12 MP for about 5 % smaller files.
  if (format === 'jpeg')
    return image.jpeg({ quality: LOSSY_QUALITY, chromaSubsampling: '4:4:4', optimiseCoding: false });
  // effort 1 of 6: a third to a half the encoding time of the default 4; files about the same to 30 % larger.
  if (format === 'webp') return image.webp({ quality: LOSSY_QUALITY, effort: 1 });
  return image.png();
}

function blendParameters(
  format: PhotoFormat,
  orientation: number,
  from: Region,
  sigma: number,
  colour: Colour,
): BlendParameters {
  return {
    resize: { kernel: 'lanczos3', fit: 'fill', from: { width: from.width, height: from.height } },
    feather: { method: 'gaussian blur of the mask, clamped to the mask (inward only)', sigma },
    orientation,
    colour,
    encoding: {
      format,
      quality: format === 'png' ? null : LOSSY_QUALITY,
      chromaSubsampling: format === 'jpeg' ? '4:4:4' : format === 'webp' ? '4:2:0' : null,
    },
  };
}

/**
 * The edit scaled to the photo's size and cut to the region, in the photo's colour space (`profile`: a
 * file holding its ICC profile; none: sRGB): what the composite shows where the weight is 255.
 */
export function scaledEdit(edit: Uint8Array, width: number, height: number, region: Region, profile?: string): Sharp {
  const scaled = sharp(edit)
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .extract({ left: region.x, top: region.y, width: region.width, height: region.height })
    .toColourspace('srgb')
    .removeAlpha();
  return profile ? scaled.withIccProfile(profile, { attach: false }) : scaled;
}

/** RGB pixels and their weights as one RGBA overlay (sharp drops a joined channel when it removes alpha). */
function withWeights(rgb: Buffer, weights: Buffer): Buffer {
  const out = Buffer.alloc(weights.length * 4);
  for (let p = 0, i = 0, o = 0; p < weights.length; p++, i += 3, o += 4) {
    out[o] = rgb[i]!;
    out[o + 1] = rgb[i + 1]!;
    out[o + 2] = rgb[i + 2]!;
    out[o + 3] = weights[p]!;
  }
  return out;
}

/** Composites `edit` (the model's output) into `photo` where `mask` is transparent. */
export async function composeFullSize(
  photo: Uint8Array,
  mask: Uint8Array,
  edit: Uint8Array,
  options: ComposeOptions = { stripGps: true },
): Promise<CompositeImage> {
  const meta = await sharp(photo).metadata();
  const format = meta.format === 'jpeg' || meta.format === 'png' || meta.format === 'webp' ? meta.format : undefined;
  if (!format) throw new CompositeError(`the photo is ${meta.format ?? 'of an unknown format'}, not PNG, JPEG or WebP`);
  const { width, height } = displayedSize(meta);
  const sigma = featherSigma(width, height);
  const [editMeta, { alpha, region }] = await Promise.all([sharp(edit).metadata(), readMask(mask, width, height)]);
  // The weights and the scaled edit are independent: with a free core, libvips computes both at once.
  const [weights, rgb] = await Promise.all([
    editWeights(alpha, width, height, region, sigma),
    withProfileFile(keptProfile(meta), (profile) => scaledEdit(edit, width, height, region, profile).raw().toBuffer()),
  ]);
  const overlay = withWeights(rgb, weights);
  // `rotate()` with no angle applies the EXIF orientation; the result's EXIF is trimmed of it (upright).
  let image = sharp(photo)
    .rotate()
    .composite([
      {
        input: overlay,
        raw: { width: region.width, height: region.height, channels: 4 },
        left: region.x,
        top: region.y,
      },
    ]);
  // The overlay's weights are not the result's alpha: a photo without one keeps none.
  if (!meta.hasAlpha) image = image.removeAlpha();
  const orientation = meta.orientation ?? 1;
  const from = { x: 0, y: 0, width: editMeta.width ?? 0, height: editMeta.height ?? 0 };
  const bytes = await encodeWithExif(encoder(keptColour(image, meta), format), meta, format, options.stripGps);
  return {
    bytes,
    format,
    mime: `image/${format}`,
    width,
    height,
    orientation,
    region,
    blend: blendParameters(format, orientation, from, sigma, colourOf(meta)),
    core: coreBlocks(weights, region),
  };
}
