/** One edit call's input for the model adapter's tests, with the answer's image kept in memory. */
import { createHash } from 'node:crypto';
import type { StagedOutput } from '../../shared/ports/blob-store.js';
import type { EditInput } from '../../shared/ports/image-model.js';
import { gradientImage, rectMask } from './images.js';

/** Holds the answer's image instead of staging it in storage (test/integration/output-streaming.test.ts does that). */
export async function keptInMemory(image: AsyncIterable<Buffer>): Promise<StagedOutput> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const piece of image) {
    hash.update(piece);
    bytes += piece.length;
  }
  return { bytes, sha256: hash.digest('hex'), commit: () => Promise.reject(new Error('not staged')) };
}

/** A 256x256 photo with a square to edit, "a red balloon" at low quality; `request` adds or overrides. */
export async function sampleEditInput(request: Partial<EditInput['request']> = {}): Promise<EditInput> {
  const png = (bytes: Buffer) => new Blob([new Uint8Array(bytes)], { type: 'image/png' });
  return {
    image: png(await gradientImage(256, 256)),
    imageName: 'photo.png',
    mask: png(await rectMask(256, 256, { x: 64, y: 64, width: 64, height: 64 })),
    request: {
      prompt: 'a red balloon',
      promptSource: 'sidecar',
      size: '1024x1024',
      quality: 'low',
      outputFormat: 'png',
      ...request,
    } as EditInput['request'],
    clientRequestId: 'job-1-1',
    output: keptInMemory,
  };
}
