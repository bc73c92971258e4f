/**
 * A composite's pixels against the edit it records: inside the region's core blocks the composite must
 * show the edit scaled the way the pipeline scaled it, and around the region the same picture as the
 * edit (the model keeps the photo outside its mask, roughly). Both as the mean absolute error per
 * channel (0–255, the worst channel): per core block, the worst block; around the region, over all of
 * it at the edit's own size. The tolerances are measured (README, "What `verify --publisher` proves"):
 * re-encoding at quality 95 moves a core block by up to about 3 (JPEG 4:4:4) or 9 (WebP, 4:2:0), and
 * the model's own drift moves the surround (its overall tone shift is set aside). Compared in the
 * photo's colour space, as blended: the composite's pixels as stored (8 bits a channel), the edit
 * converted into the ICC profile the blend recorded.
 */
import sharp, { type OutputInfo } from 'sharp';
import { scaledEdit } from './compose.js';
import { coreRects } from '../../core/composite/core-blocks.js';
import { withProfileFile } from './photo-keeps.js';
import { sha256Hex, type CompositeBinding } from '../../core/provenance/composite-binding.js';

/** Worst core block's mean absolute error a composite of that edit may show. */
export const CORE_TOLERANCE = 16;
/** Mean absolute error around the region, composite scaled to the edit's size against the edit. */
export const SURROUND_TOLERANCE = 16;

export interface PixelMeasure {
  width: number;
  height: number;
  coreBlocks: number;
  /** The worst core block's mean absolute error (the worst channel), or null with no core block. */
  worstBlock: number | null;
  /**
   * Around the region: the mean absolute error less the global shift per channel (and that shift), or
   * null when the region leaves too little of the picture.
   */
  surround: { error: number; shift: number[] } | null;
}

function blockError(
  a: Buffer,
  aStride: number,
  b: Buffer,
  bStride: number,
  r: { x: number; y: number; width: number; height: number },
) {
  const sums = [0, 0, 0];
  for (let y = r.y; y < r.y + r.height; y++) {
    for (let x = r.x, i = y * aStride + x * 3, j = y * bStride + x * 3; x < r.x + r.width; x++, i += 3, j += 3) {
      for (let c = 0; c < 3; c++) sums[c]! += Math.abs(a[i + c]! - b[j + c]!);
    }
  }
  return Math.max(...sums) / (r.width * r.height);
}

/** Byte offsets (RGB) of the edit-sized pixels outside the region, its feather's and the kernel's reach. */
function surroundOffsets(
  size: { width: number; height: number },
  full: { width: number; height: number },
  b: CompositeBinding,
) {
  const sx = full.width / size.width;
  const sy = full.height / size.height;
  const marginX = 3 * sx + 4 * b.blend.feather.sigma;
  const marginY = 3 * sy + 4 * b.blend.feather.sigma;
  const offsets: number[] = [];
  for (let y = 0; y < size.height; y++) {
    const cy = (y + 0.5) * sy;
    const rowInside = cy > b.region.y - marginY && cy < b.region.y + b.region.height + marginY;
    for (let x = 0; x < size.width; x++) {
      const cx = (x + 0.5) * sx;
      if (rowInside && cx > b.region.x - marginX && cx < b.region.x + b.region.width + marginX) continue;
      offsets.push((y * size.width + x) * 3);
    }
  }
  return offsets;
}

/**
 * Mean absolute error of the composite (scaled to the edit's size) against the edit around the region,
 * less the mean difference per channel: a model that shifts the whole picture's tone is still showing
 * the same picture, another photo is not.
 */
async function surroundError(
  composite: Buffer,
  size: { width: number; height: number },
  edit: Uint8Array,
  b: CompositeBinding,
  profile?: string,
) {
  const { width, height } = size;
  const converted = sharp(edit).toColourspace('srgb').removeAlpha();
  const { data: e, info } = await (profile ? converted.withIccProfile(profile, { attach: false }) : converted)
    .raw()
    .toBuffer({ resolveWithObject: true });
  const small = await sharp(composite, { raw: { width, height, channels: 3 } })
    .resize(info.width, info.height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  const offsets = surroundOffsets(info, { width, height }, b);
  if (offsets.length < (info.width * info.height) / 100) return null;
  const shift = [0, 1, 2].map((c) => offsets.reduce((sum, i) => sum + small[i + c]! - e[i + c]!, 0) / offsets.length);
  const sums = [0, 1, 2].map((c) =>
    offsets.reduce((sum, i) => sum + Math.abs(small[i + c]! - e[i + c]! - shift[c]!), 0),
  );
  return { error: Math.max(...sums) / offsets.length, shift: shift.map((d) => Math.round(d)) };
}

/** The composite's pixels as stored, 8 bits a channel, and the profile the blend recorded (if it holds it). */
async function compositePixels(
  composite: Uint8Array,
  binding: CompositeBinding,
): Promise<{ data: Buffer; info: OutputInfo; icc: Buffer | undefined } | { problem: string }> {
  const recorded = binding.blend.colour?.profile;
  const { icc } = await sharp(composite).metadata();
  if (recorded && (!icc || sha256Hex(icc) !== recorded.sha256)) {
    return { problem: "the composite's ICC profile is not the one its blend recorded" };
  }
  // Kept profile: no conversion, the pixels stay in the photo's space; none recorded: sRGB as before.
  const decoded = recorded ? sharp(composite).keepIccProfile() : sharp(composite);
  const pixels = await decoded.toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { ...pixels, icc: recorded ? icc : undefined };
}

export async function measureAgainstEdit(
  composite: Uint8Array,
  edit: Uint8Array,
  binding: CompositeBinding,
): Promise<PixelMeasure | { problem: string }> {
  const read = await compositePixels(composite, binding);
  if ('problem' in read) return read;
  const { data, info, icc } = read;
  const { width, height } = info;
  const { region } = binding;
  if (region.x + region.width > width || region.y + region.height > height) {
    return { problem: `the recorded region lies outside the ${width}x${height} composite` };
  }
  return withProfileFile(icc, async (profile) => {
    const scaled = await scaledEdit(edit, width, height, region, profile).raw().toBuffer();
    const rects = coreRects(binding.core, region);
    // The composite from the region's corner, so a block's coordinates index both buffers alike.
    const atRegion = data.subarray((region.y * width + region.x) * 3);
    let worst: number | null = null;
    for (const r of rects) worst = Math.max(worst ?? 0, blockError(atRegion, width * 3, scaled, region.width * 3, r));
    const surround = await surroundError(data, { width, height }, edit, binding, profile);
    return { width, height, coreBlocks: rects.length, worstBlock: worst, surround };
  });
}
