/**
 * The one way the pipeline decodes pixels: sharp (libvips, prebuilt inside its npm packages), with the
 * pixel count bounded by MAX_IMAGE_DIMENSION on both sides so a decompression bomb is refused before
 * libvips allocates for it, and only the first frame of any animation.
 */
import sharp, { type Sharp } from 'sharp';

// Decoded images are not reused between calls; libvips' operation cache would only hold memory.
sharp.cache(false);

export function decode(bytes: Buffer, maxDimension: number): Sharp {
  return sharp(bytes, { limitInputPixels: maxDimension * maxDimension, animated: false });
}

export function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
