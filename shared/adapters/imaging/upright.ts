/**
 * The image the model receives: the drop's picture as it is displayed. A photo stored sideways with an
 * EXIF orientation is rotated (pixels turned, the orientation tag dropped) and re-encoded in its own
 * format, so the model sees it upright and answers upright; an upright photo is sent byte for byte.
 */
import type { ImageFormat, ImageHeader } from '../../core/image-header.js';
import { decode } from './decode.js';

export async function uprightImage(
  bytes: Buffer,
  header: Pick<ImageHeader, 'format' | 'orientation'>,
  maxDimension: number,
): Promise<Buffer> {
  if (header.orientation === 1) return bytes;
  // sharp writes no metadata unless asked, so the re-encoded file carries no orientation tag.
  const turned = decode(bytes, maxDimension).rotate();
  const encoders: Record<ImageFormat, () => Promise<Buffer>> = {
    jpeg: () => turned.jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer(),
    png: () => turned.png().toBuffer(),
    webp: () => turned.webp({ quality: 95 }).toBuffer(),
  };
  return encoders[header.format]();
}
