import { beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { loadConfig } from '../../shared/config.js';
import type { DropSample, PartSample } from '../../shared/validation.js';
import { validateDrop } from '../../shared/validation.js';
import { gradientImage, rectMask, rewritePng } from '../helpers/images.js';

const config = loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com', MAX_IMAGE_BYTES: '2000000' }).drop;
const part = (name: string, bytes: Buffer): PartSample => ({ name, bytes: bytes.length, head: bytes, tail: bytes });

let image: Buffer;
let mask: Buffer;
beforeAll(async () => {
  image = await gradientImage(256, 256);
  mask = await rectMask(256, 256, { x: 10, y: 10, width: 20, height: 20 });
});

function sample(overrides: Partial<DropSample> = {}): DropSample {
  return { image: part('d/cat.png', image), mask: part('d/cat.mask.png', mask), sidecarText: undefined, metadataPrompt: undefined, ...overrides };
}

function problemsOf(s: DropSample): string[] {
  const r = validateDrop(s, config);
  return r.ok ? [] : r.problems;
}

describe('cheap validation', () => {
  it('accepts a good drop and resolves the prompt sidecar → metadata → default', () => {
    const bySidecar = validateDrop(sample({ sidecarText: '{"prompt":"from sidecar"}', metadataPrompt: 'from metadata' }), config);
    expect(bySidecar).toMatchObject({ ok: true, request: { prompt: 'from sidecar', promptSource: 'sidecar', size: 'auto', quality: 'medium', outputFormat: 'png' } });
    expect(validateDrop(sample({ metadataPrompt: 'from metadata' }), config)).toMatchObject({ ok: true, request: { prompt: 'from metadata', promptSource: 'metadata' } });
    expect(validateDrop(sample(), config)).toMatchObject({ ok: true, request: { prompt: config.defaultPrompt, promptSource: 'default' } });
  });

  it.each<[string, () => Promise<Partial<DropSample>>, RegExp]>([
    ['mask without alpha', async () => ({ mask: part('d/cat.mask.png', await rectMask(256, 256, { x: 0, y: 0, width: 1, height: 1 }, { alpha: false })) }), /cat\.mask\.png has no alpha channel/],
    ['mask of another size', async () => ({ mask: part('d/cat.mask.png', await rectMask(128, 128, { x: 0, y: 0, width: 1, height: 1 })) }), /cat\.mask\.png is 128x128 but cat\.png is 256x256/],
    ['JPEG bytes named .png', async () => ({ image: part('d/cat.png', await gradientImage(256, 256, 'jpeg')) }), /cat\.png holds JPEG data, not PNG/],
    ['zero bytes', async () => ({ image: part('d/cat.png', Buffer.alloc(0)) }), /cat\.png is empty \(0 bytes\)/],
    ['over the size limit', async () => ({ image: { ...part('d/cat.png', image), bytes: 3_000_000 } }), /cat\.png is 2\.9 MB; the limit is 1\.9 MB/],
    ['a decompression bomb header', async () => ({ image: part('d/cat.png', rewritePng(image, (t, d) => (t === 'IHDR' ? Buffer.concat([Buffer.from([0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0]), d.subarray(8)]) : d))) }), /declares 100000x100000 pixels; the limit is 8192/],
    ['a truncated PNG', async () => ({ image: part('d/cat.png', image.subarray(0, image.length - 30)) }), /cat\.png: the PNG does not end with its IEND chunk/],
    ['not an image at all', async () => ({ image: part('d/cat.png', Buffer.from('hello, world')) }), /cat\.png: the bytes are not a PNG, JPEG or WebP image/],
    ['a mask that is a JPEG', async () => ({ mask: part('d/cat.mask.png', await sharp(mask).jpeg().toBuffer()) }), /cat\.mask\.png holds JPEG data, not PNG/],
    ['invalid sidecar JSON', async () => ({ sidecarText: '{prompt: "x"}' }), /sidecar: the sidecar is not valid JSON/],
    ['an ill-typed sidecar field', async () => ({ sidecarText: '{"quality": 3}' }), /sidecar: "quality" must be one of/],
    ['an empty prompt', async () => ({ sidecarText: '{"prompt": ""}' }), /sidecar: "prompt" must not be empty/],
    ['an empty metadata prompt', async () => ({ metadataPrompt: ' ' }), /"prompt" metadata is empty/],
    ['compression for PNG output', async () => ({ sidecarText: '{"output_compression": 50}' }), /output_compression" applies only to JPEG output/],
  ])('%s', async (_name, make, problem) => {
    const found = problemsOf(sample(await make()));
    expect(found.join('\n')).toMatch(problem);
  });
});
