/**
 * The pixel work the use cases need and cannot do without an image library: checking and fitting a mask,
 * and turning the drop's parts into what the model is sent. `adapters/imaging/` does it with sharp.
 */
import type { ImageFormat, ImageHeader } from '../core/image-header.js';
import type { MaskLimits } from '../core/mask-limits.js';

export type PreparedMask = { ok: true; bytes: Buffer; note?: string } | { ok: false; problem: string };

export type ModelInputs =
  { ok: true; image: Buffer; format: ImageFormat; mask: Buffer; notes: string[] } | { ok: false; problem: string };

export interface ImageTools {
  /** Checks a mask's pixels and returns the bytes to send: the drop's own, or a lossless re-encode that fits. */
  prepareMask(
    file: string,
    bytes: Buffer,
    header: Pick<ImageHeader, 'orientation'>,
    limits: MaskLimits,
  ): Promise<PreparedMask>;
  /** The image upright and the mask checked and fitted, as the model is sent them. */
  prepareModelInputs(
    files: { image: string; mask: string },
    image: Buffer,
    mask: Buffer,
    limits: MaskLimits,
  ): Promise<ModelInputs>;
}
