/**
 * A mask as the service needs it: in the image's displayed orientation, with something to edit (at least
 * one fully transparent pixel), and under the model's size limit. Only the alpha channel carries meaning
 * (alpha 0 = edit here), so an oversized mask is re-encoded losslessly as a greyscale-with-alpha PNG whose
 * grey is constant: the alpha values are kept exactly and the colour planes compress to nothing.
 */
import sharp from 'sharp';
import type { ImageHeader } from '../../core/image-header.js';
import { decode, megabytes } from './decode.js';
import { type MaskLimits } from '../../core/mask-limits.js';
import { type PreparedMask } from '../../ports/imaging.js';

/** Checks a mask's pixels and returns the bytes to send: the drop's own, or a lossless re-encode that fits. */
export async function prepareMask(
  file: string,
  bytes: Buffer,
  header: Pick<ImageHeader, 'orientation'>,
  limits: MaskLimits,
): Promise<PreparedMask> {
  const upright = header.orientation !== 1;
  const decoded = decode(bytes, limits.maxDimension);
  // rotate() with no angle applies the EXIF orientation; ensureAlpha + band 3 is alpha whatever the colour type.
  const { data: alpha, info } = await (upright ? decoded.rotate() : decoded)
    .ensureAlpha()
    .extractChannel(3)
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (!alpha.includes(0)) {
    return {
      ok: false,
      problem:
        `${file} has no fully transparent pixel (alpha 0), so it marks nothing to edit: ` +
        'make the area to change transparent and keep the rest opaque',
    };
  }
  if (!upright && bytes.length < limits.maxBytesExclusive) return { ok: true, bytes };
  const greyAlpha = Buffer.alloc(alpha.length * 2);
  for (let i = 0; i < alpha.length; i++) greyAlpha[i * 2 + 1] = alpha[i]!;
  const fitted = await sharp(greyAlpha, { raw: { width: info.width, height: info.height, channels: 2 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 9, adaptiveFiltering: true })
    .toBuffer();
  if (fitted.length >= limits.maxBytesExclusive) {
    return {
      ok: false,
      problem:
        `${file} is ${megabytes(bytes.length)}; ` +
        `${limits.modelName} takes masks under ${megabytes(limits.maxBytesExclusive)}, ` +
        `and even re-encoded losslessly (greyscale with alpha, maximum compression) it is ${megabytes(fitted.length)}: ` +
        'use a simpler mask (fewer distinct alpha values or edges)',
    };
  }
  const why = [
    ...(upright ? [`turned upright (EXIF orientation ${header.orientation})`] : []),
    ...(bytes.length >= limits.maxBytesExclusive
      ? [
          `re-encoded losslessly from ${megabytes(bytes.length)} to ${megabytes(fitted.length)} ` +
            `to fit under ${megabytes(limits.maxBytesExclusive)}`,
        ]
      : []),
  ];
  return { ok: true, bytes: fitted, note: `${file} was ${why.join(' and ')}; its alpha values are unchanged` };
}
