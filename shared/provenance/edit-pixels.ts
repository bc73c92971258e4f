/**
 * A composite's pixels against the edit it records: inside the region's core blocks the composite must
 * show the edit scaled the way the pipeline scaled it, and around the region the same picture as the
 * edit (the model keeps the photo outside its mask, roughly). Both as the mean absolute error per
 * channel (0–255, the worst channel): per core block, the worst block; around the region, over all of
 * it at the edit's own size. The tolerances are measured (README, "What verify proves"): JPEG and WebP
 * re-encoding at quality 95 move a core block by about 1–3, and the model's own drift moves the surround.
 */
import sharp from 'sharp';
import { scaledEdit } from '../composite/compose.js';
import { coreRects } from '../composite/core-blocks.js';
import type { CompositeBinding } from './composite-binding.js';

/** Worst core block's mean absolute error a composite of that edit may show. */
export const CORE_TOLERANCE = 12;
/** Mean absolute error around the region, composite scaled to the edit's size against the edit. */
export const SURROUND_TOLERANCE = 16;

export interface PixelMeasure {
  width: number;
  height: number;
  coreBlocks: number;
  /** The worst core block's mean absolute error (the worst channel), or null with no core block. */
  worstBlock: number | null;
  /** Mean absolute error around the region, or null when the region leaves too little of the picture. */
  surround: number | null;
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

/** Mean absolute error of the composite (scaled to the edit's size) against the edit, outside the region. */
async function surroundError(composite: Buffer, width: number, height: number, edit: Uint8Array, b: CompositeBinding) {
  const { data: e, info } = await sharp(edit)
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const small = await sharp(composite, { raw: { width, height, channels: 3 } })
    .resize(info.width, info.height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer();
  // Leave out the region, the feather's reach and three of the edit's pixels (the scaling kernel's reach).
  const sx = width / info.width;
  const sy = height / info.height;
  const marginX = 3 * sx + 4 * b.blend.feather.sigma;
  const marginY = 3 * sy + 4 * b.blend.feather.sigma;
  const sums = [0, 0, 0];
  let n = 0;
  for (let y = 0; y < info.height; y++) {
    const cy = (y + 0.5) * sy;
    const rowInside = cy > b.region.y - marginY && cy < b.region.y + b.region.height + marginY;
    for (let x = 0, i = y * info.width * 3; x < info.width; x++, i += 3) {
      const cx = (x + 0.5) * sx;
      if (rowInside && cx > b.region.x - marginX && cx < b.region.x + b.region.width + marginX) continue;
      for (let c = 0; c < 3; c++) sums[c]! += Math.abs(small[i + c]! - e[i + c]!);
      n++;
    }
  }
  return n < (info.width * info.height) / 100 ? null : Math.max(...sums) / n;
}

export async function measureAgainstEdit(
  composite: Uint8Array,
  edit: Uint8Array,
  binding: CompositeBinding,
): Promise<PixelMeasure | { problem: string }> {
  const { data, info } = await sharp(composite)
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height } = info;
  const { region } = binding;
  if (region.x + region.width > width || region.y + region.height > height) {
    return { problem: `the recorded region lies outside the ${width}x${height} composite` };
  }
  const scaled = await scaledEdit(edit, width, height, region).raw().toBuffer();
  const rects = coreRects(binding.core, region);
  // The composite from the region's corner, so a block's coordinates index both buffers alike.
  const atRegion = data.subarray((region.y * width + region.x) * 3);
  let worst: number | null = null;
  for (const r of rects) worst = Math.max(worst ?? 0, blockError(atRegion, width * 3, scaled, region.width * 3, r));
  const surround = await surroundError(data, width, height, edit, binding);
  return { width, height, coreBlocks: rects.length, worstBlock: worst, surround };
}
