/** The image and mask the pipeline benchmarks drop. */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';

/** A noise PNG of `size`×`size` and a mask clearing its top third. */
export async function pair(size: number): Promise<{ image: Buffer; mask: Buffer }> {
  // Noise compresses like a photo does (not at all), so the files have realistic sizes.
  const raw = randomBytes(size * size * 3);
  const maskRaw = Buffer.alloc(size * size * 4, 255);
  for (let i = 3; i < maskRaw.length / 3; i += 4) maskRaw[i] = 0;
  return {
    image: await sharp(raw, { raw: { width: size, height: size, channels: 3 } })
      .png()
      .toBuffer(),
    mask: await sharp(maskRaw, { raw: { width: size, height: size, channels: 4 } })
      .png()
      .toBuffer(),
  };
}
