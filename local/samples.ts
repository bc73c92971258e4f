/**
 * The demo's sample drops, drawn here rather than committed as binaries (the demo draws them into out/demo-drops):
 *   valid/lighthouse       a pair with a sidecar prompt            → published
 *   wrong-size/harbor      a mask half the image's size             → rejected before any model call
 *   blocked/garden         a prompt the content filter refuses      → rejected by the model
 * and the one starter pair that is committed, in samples/, for a first drop by hand.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

export const BLOCKED_WORD = 'forbidden';

export interface Sample {
  drop: string;
  expected: 'published' | 'rejected';
  why: string;
}

export const SAMPLES: Sample[] = [
  { drop: 'valid/lighthouse', expected: 'published', why: 'a valid pair with a sidecar prompt' },
  { drop: 'wrong-size/harbor', expected: 'rejected', why: "the mask is not the image's size" },
  { drop: 'blocked/garden', expected: 'rejected', why: 'the prompt trips the content filter' },
];

function scene(width: number, height: number, hue: number): Buffer {
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
  <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
    <stop offset="0" stop-color="hsl(${hue},60%,75%)"/><stop offset="1" stop-color="hsl(${hue + 30},50%,92%)"/></linearGradient></defs>
  <rect width="${width}" height="${height}" fill="url(#sky)"/>
  <rect y="${height * 0.62}" width="${width}" height="${height * 0.38}" fill="hsl(205,55%,35%)"/>
  <polygon points="${width * 0.46},${height * 0.62} ${width * 0.54},${height * 0.62} ${width * 0.52},${height * 0.3} ${width * 0.48},${height * 0.3}" fill="#f4f1ea"/>
  <rect x="${width * 0.475}" y="${height * 0.25}" width="${width * 0.05}" height="${height * 0.06}" fill="#c0392b"/>
  <circle cx="${width * 0.8}" cy="${height * 0.2}" r="${width * 0.06}" fill="#fff6c8"/>
</svg>`);
}

/** A PNG mask, opaque except a transparent rectangle: the area to edit. */
async function mask(
  width: number,
  height: number,
  hole: { x: number; y: number; w: number; h: number },
): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 4, 255);
  for (let y = hole.y; y < hole.y + hole.h; y++)
    for (let x = hole.x; x < hole.x + hole.w; x++) raw[(y * width + x) * 4 + 3] = 0;
  return sharp(raw, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

export async function writeSamples(dir: string): Promise<void> {
  const put = (name: string, bytes: Buffer | string) => {
    const file = path.join(dir, ...name.split('/'));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, bytes);
  };
  const size = 1024;
  const sky = { x: 600, y: 80, w: 360, h: 260 };
  put(
    'valid/lighthouse.png',
    await sharp(scene(size, size, 200))
      .png()
      .toBuffer(),
  );
  put('valid/lighthouse.mask.png', await mask(size, size, sky));
  put(
    'valid/lighthouse.json',
    JSON.stringify({ prompt: 'a flock of seagulls circling the sun', quality: 'medium', size: '1024x1024' }, null, 2),
  );

  put(
    'wrong-size/harbor.png',
    await sharp(scene(size, size, 20))
      .png()
      .toBuffer(),
  );
  put('wrong-size/harbor.mask.png', await mask(size / 2, size / 2, { x: 10, y: 10, w: 100, h: 100 }));
  put('wrong-size/harbor.json', JSON.stringify({ prompt: 'a sailing boat on the water' }, null, 2));

  put(
    'blocked/garden.png',
    await sharp(scene(size, size, 110))
      .png()
      .toBuffer(),
  );
  put('blocked/garden.mask.png', await mask(size, size, sky));
  put('blocked/garden.json', JSON.stringify({ prompt: `a ${BLOCKED_WORD} symbol painted in the sky` }, null, 2));
}

/** The pair (and prompt) committed in `samples/` for the README's first screen: `cp samples/lighthouse.* drop/`. */
export async function writeStarterPair(dir: string): Promise<void> {
  const [width, height] = [1024, 768];
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => path.join(dir, name);
  writeFileSync(
    file('lighthouse.png'),
    await sharp(scene(width, height, 200))
      .png()
      .toBuffer(),
  );
  writeFileSync(file('lighthouse.mask.png'), await mask(width, height, { x: 600, y: 60, w: 360, h: 200 }));
  writeFileSync(
    file('lighthouse.json'),
    `${JSON.stringify({ prompt: 'a flock of seagulls circling the sun' }, null, 2)}\n`,
  );
}

/** An image written straight into edited/ with no Content Credentials: the gate must quarantine it. */
export async function uncredentialedImage(): Promise<Buffer> {
  return sharp(scene(512, 512, 300))
    .png()
    .toBuffer();
}

// `npm run build && node dist/local/samples.js samples` draws the committed starter pair again.
if (process.argv[1] === fileURLToPath(import.meta.url)) await writeStarterPair(process.argv[2] ?? 'samples');
