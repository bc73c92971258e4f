import { beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { loadConfig } from '../../shared/core/config.js';
import type { DropSample, PartSample } from '../../shared/core/validation.js';
import { validateDrop } from '../../shared/core/validation.js';
import {
  animatedWebp,
  asApng,
  gradientImage,
  portraitJpeg,
  recodedMask,
  rectMask,
  rewritePng,
  transparentWebp,
  withBigITxt,
} from '../helpers/images.js';

const config = loadConfig({
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com',
  MAX_IMAGE_BYTES: '2000000',
}).drop;
const part = (name: string, bytes: Buffer): PartSample => ({ name, bytes: bytes.length, head: bytes, tail: bytes });

let image: Buffer;
let mask: Buffer;
beforeAll(async () => {
  image = await gradientImage(256, 256);
  mask = await rectMask(256, 256, { x: 10, y: 10, width: 20, height: 20 });
});

function sample(overrides: Partial<DropSample> = {}): DropSample {
  return {
    image: part('d/cat.png', image),
    mask: part('d/cat.mask.png', mask),
    sidecarText: undefined,
    metadataPrompt: undefined,
    ...overrides,
  };
}

function problemsOf(s: DropSample): string[] {
  const r = validateDrop(s, config);
  return r.ok ? [] : r.problems;
}

describe('cheap validation', () => {
  it('accepts a good drop and resolves the prompt sidecar → metadata → default', () => {
    const bySidecar = validateDrop(
      sample({ sidecarText: '{"prompt":"from sidecar"}', metadataPrompt: 'from metadata' }),
      config,
    );
    expect(bySidecar).toMatchObject({
      ok: true,
      request: {
        prompt: 'from sidecar',
        promptSource: 'sidecar',
        size: 'auto',
        quality: 'medium',
        outputFormat: 'png',
      },
    });
    expect(validateDrop(sample({ metadataPrompt: 'from metadata' }), config)).toMatchObject({
      ok: true,
      request: { prompt: 'from metadata', promptSource: 'metadata' },
    });
    expect(validateDrop(sample(), config)).toMatchObject({
      ok: true,
      request: { prompt: config.defaultPrompt, promptSource: 'default' },
    });
  });

  it.each<[string, () => Promise<Partial<DropSample>>, RegExp]>([
    [
      'mask without alpha',
      async () => ({
        mask: part('d/cat.mask.png', await rectMask(256, 256, { x: 0, y: 0, width: 1, height: 1 }, { alpha: false })),
      }),
      /cat\.mask\.png has no alpha channel/,
    ],
    [
      'mask of another size',
      async () => ({ mask: part('d/cat.mask.png', await rectMask(128, 128, { x: 0, y: 0, width: 1, height: 1 })) }),
      /cat\.mask\.png is 128x128 but cat\.png is 256x256/,
    ],
    [
      'JPEG bytes named .png',
      async () => ({ image: part('d/cat.png', await gradientImage(256, 256, 'jpeg')) }),
      /cat\.png holds JPEG data, not PNG/,
    ],
    ['zero bytes', async () => ({ image: part('d/cat.png', Buffer.alloc(0)) }), /cat\.png is empty \(0 bytes\)/],
    [
      'over the size limit',
      async () => ({ image: { ...part('d/cat.png', image), bytes: 3_000_000 } }),
      /cat\.png is 2\.9 MB; the limit is 1\.9 MB/,
    ],
    [
      'a decompression bomb header',
      async () => ({
        image: part(
          'd/cat.png',
          rewritePng(image, (t, d) =>
            t === 'IHDR' ? Buffer.concat([Buffer.from([0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0]), d.subarray(8)]) : d,
          ),
        ),
      }),
      /declares 100000x100000 pixels; the limit is 8192/,
    ],
    [
      'a truncated PNG',
      async () => ({ image: part('d/cat.png', image.subarray(0, image.length - 30)) }),
      /cat\.png: the PNG does not end with its IEND chunk/,
    ],
    [
      'not an image at all',
      async () => ({ image: part('d/cat.png', Buffer.from('hello, world')) }),
      /cat\.png: the bytes are not a PNG, JPEG or WebP image/,
    ],
    [
      'a mask that is a JPEG',
      async () => ({ mask: part('d/cat.mask.png', await sharp(mask).jpeg().toBuffer()) }),
      /cat\.mask\.png holds JPEG data, not PNG/,
    ],
    ['invalid sidecar JSON', async () => ({ sidecarText: '{prompt: "x"}' }), /sidecar: the sidecar is not valid JSON/],
    [
      'an ill-typed sidecar field',
      async () => ({ sidecarText: '{"quality": 3}' }),
      /sidecar: "quality" must be one of/,
    ],
    ['an empty prompt', async () => ({ sidecarText: '{"prompt": ""}' }), /sidecar: "prompt" must not be empty/],
    ['an empty metadata prompt', async () => ({ metadataPrompt: ' ' }), /"prompt" metadata is empty/],
    [
      'compression for PNG output',
      async () => ({ sidecarText: '{"output_compression": 50}' }),
      /output_compression" applies only to JPEG output/,
    ],
  ])('%s', async (_name, make, problem) => {
    const found = problemsOf(sample(await make()));
    expect(found.join('\n')).toMatch(problem);
  });
});

describe('validation follows the configured model', () => {
  const withModel = (IMAGE_MODEL: string) =>
    loadConfig({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com',
      IMAGE_MODEL,
    }).drop;

  it('leaves a mask of 4 MB or more to intake, which re-encodes it to fit or refuses it', () => {
    const big = validateDrop(
      sample({ mask: { ...part('d/cat.mask.png', mask), bytes: 4_404_019 } }),
      withModel('gpt-image-2'),
    );
    expect(big.ok).toBe(true);
  });

  it('checks sidecar sizes, input_fidelity and the metadata prompt against the model', () => {
    const custom = sample({ sidecarText: '{"size": "2048x1152", "input_fidelity": "high"}' });
    expect(validateDrop(custom, withModel('gpt-image-1.5')).ok).toBe(false); // 2048x1152 is gpt-image-2's only
    const flexible = sample({ sidecarText: '{"size": "2048x1152"}' });
    expect(validateDrop(flexible, withModel('gpt-image-2'))).toMatchObject({
      ok: true,
      request: { size: '2048x1152' },
    });
    const fidelity = sample({ sidecarText: '{"input_fidelity": "high"}' });
    expect(validateDrop(fidelity, withModel('gpt-image-1.5'))).toMatchObject({
      ok: true,
      request: { inputFidelity: 'high' },
    });
    const mini = validateDrop(custom, withModel('gpt-image-1-mini'));
    expect(mini.ok ? [] : mini.problems).toEqual([
      'sidecar: "size" gpt-image-1-mini accepts "auto", "1024x1024", "1024x1536", "1536x1024", not "2048x1152"',
      'sidecar: "input_fidelity" is not supported by gpt-image-1-mini; remove it or choose another IMAGE_MODEL',
    ]);
    const long = validateDrop(sample({ metadataPrompt: 'x'.repeat(32_001) }), withModel('gpt-image-2'));
    expect(long.ok ? [] : long.problems).toEqual([
      'the image\'s "prompt" metadata is 32001 characters; the limit is 32000',
    ]);
  });

  it('refuses a transparent background with JPEG output, and transparency where the model has none', () => {
    const jpeg = validateDrop(
      sample({ sidecarText: '{"background": "transparent", "output_format": "jpeg"}' }),
      withModel('gpt-image-1.5'),
    );
    expect(jpeg.ok ? [] : jpeg.problems).toEqual([
      'sidecar: "background": "transparent" needs PNG output; JPEG has no transparency (set "output_format": "png")',
    ]);
    const png = sample({ sidecarText: '{"background": "transparent"}' });
    expect(validateDrop(png, withModel('gpt-image-1.5'))).toMatchObject({
      ok: true,
      request: { background: 'transparent', outputFormat: 'png' },
    });
    const two = validateDrop(png, withModel('gpt-image-2'));
    expect(two.ok ? [] : two.problems).toEqual([
      'sidecar: "background" must be one of "opaque", "auto", got "transparent"',
    ]);
  });

  it('accepts the input formats the model takes: PNG, JPEG and WebP', async () => {
    for (const [name, format] of [
      ['d/cat.jpg', 'jpeg'],
      ['d/cat.webp', 'webp'],
    ] as const) {
      const bytes = await gradientImage(256, 256, format);
      expect(validateDrop(sample({ image: part(name, bytes) }), withModel('gpt-image-2')).ok).toBe(true);
    }
  });
});

describe('real photos', () => {
  const roomy = loadConfig({
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com',
  }).drop;

  it('compares the mask with the photo as displayed (EXIF orientation 6), and records the orientation', async () => {
    const { stored } = await portraitJpeg(96, 144, 6); // stored 144x96
    const displayedMask = await rectMask(96, 144, { x: 0, y: 0, width: 10, height: 10 });
    const ok = validateDrop(
      sample({ image: part('d/cat.jpg', stored), mask: part('d/cat.mask.png', displayedMask) }),
      roomy,
    );
    expect(ok).toMatchObject({
      ok: true,
      request: {
        input: {
          format: 'jpeg',
          orientation: 6,
          stored: { width: 144, height: 96 },
          displayed: { width: 96, height: 144 },
        },
      },
    });
    const storedMask = await rectMask(144, 96, { x: 0, y: 0, width: 10, height: 10 });
    expect(problemsOf(sample({ image: part('d/cat.jpg', stored), mask: part('d/cat.mask.png', storedMask) }))).toEqual([
      'cat.mask.png is 144x96 but cat.jpg is displayed 96x144 (stored 144x96, EXIF orientation 6): the mask must match the image as ' +
        'it is displayed; this mask matches the stored pixels, so paint it on the upright picture (as viewers show it) instead',
    ]);
  });

  it('accepts an RGB PNG with 5 MB of iTXt before its image data, like an RGBA one', async () => {
    const rgb = withBigITxt(image, 5 * 1024 * 1024);
    const rgba = withBigITxt(await sharp(image).ensureAlpha().png().toBuffer(), 5 * 1024 * 1024);
    for (const big of [rgb, rgba]) expect(validateDrop(sample({ image: part('d/cat.png', big) }), roomy).ok).toBe(true);
  });

  it('refuses animations and a transparent WebP with the reason, and keeps grey+alpha and palette masks', async () => {
    expect(problemsOf(sample({ image: part('d/cat.png', asApng(image)) }))).toEqual([
      'cat.png is an animated PNG (APNG): the model edits one still picture; export the frame you want as a still image',
    ]);
    expect(problemsOf(sample({ image: part('d/cat.webp', await animatedWebp(256, 256)) }))).toEqual([
      'cat.webp is an animated WebP: the model edits one still picture; export the frame you want as a still image',
    ]);
    expect(problemsOf(sample({ image: part('d/cat.webp', await transparentWebp(256, 256)) }))).toEqual([
      'cat.webp is a WebP with transparency, which the service flattens: save it as a PNG with alpha to keep its transparency',
    ]);
    for (const as of ['grey-alpha', 'palette'] as const) {
      const recoded = await recodedMask(256, 256, { x: 10, y: 10, width: 20, height: 20 }, as);
      expect(validateDrop(sample({ mask: part('d/cat.mask.png', recoded) }), roomy).ok).toBe(true);
    }
  });
});
