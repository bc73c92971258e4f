/**
 * The edit step's input preparation: from the drop's image and mask as stored to what the model is sent,
 * the image upright (./upright.ts) and the mask checked and fitted (./mask.ts). Intake has already run
 * the same mask checks, so a refusal here means the drop changed in a way intake never saw.
 */
import { readImageHeader } from '../../core/image-header.js';
import { prepareMask } from './mask.js';
import { type MaskLimits } from '../../core/mask-limits.js';
import { uprightImage } from './upright.js';
import { type ModelInputs } from '../../ports/imaging.js';

export async function prepareModelInputs(
  files: { image: string; mask: string },
  image: Buffer,
  mask: Buffer,
  limits: MaskLimits,
): Promise<ModelInputs> {
  const imageHeader = readImageHeader(image);
  const maskHeader = readImageHeader(mask);
  if (!imageHeader.ok) return { ok: false, problem: `${files.image}: ${imageHeader.problem}` };
  if (!maskHeader.ok) return { ok: false, problem: `${files.mask}: ${maskHeader.problem}` };
  try {
    const fitted = await prepareMask(files.mask, mask, maskHeader.header, limits);
    if (!fitted.ok) return fitted;
    const { format, orientation } = imageHeader.header;
    const notes = [
      ...(orientation !== 1
        ? [`${files.image} was turned upright for the model (EXIF orientation ${orientation})`]
        : []),
      ...(fitted.note ? [fitted.note] : []),
    ];
    const upright = await uprightImage(image, imageHeader.header, limits.maxDimension);
    return { ok: true, image: upright, format, mask: fitted.bytes, notes };
  } catch (err) {
    // libvips' own words (a corrupt stream, too many pixels) are the most specific report there is.
    return { ok: false, problem: `the pixels could not be decoded (${(err as Error).message.trim()})` };
  }
}
