/**
 * A PNG whose hard binding (`c2pa.hash.data`) is honest about the bytes it hashes, but excludes the
 * pixel data (the IDAT chunks) as well as the manifest store: c2pa-rs finds the hash matching, and any
 * pixels could be put in those bytes. c2pa-rs's builder keeps a `c2pa.hash.data` assertion given in
 * the manifest definition, so the file is signed again until the exclusions it names are where the
 * signed file puts the manifest and the pixels (the manifest's size depends on the numbers' widths).
 */
import { createHash, randomUUID } from 'node:crypto';
import { pngChunks } from '../../shared/core/image-header.js';
import { type ClaimSigner, craft, type CraftOptions } from './crafted-c2pa.js';

interface Range {
  start: number;
  length: number;
}

/** The manifest store's chunk and the pixel data's chunks, as byte ranges of the whole chunk. */
function layout(png: Buffer): Range[] {
  const { chunks } = pngChunks(png);
  const whole = (c: (typeof chunks)[number]) => ({ start: c.offset, length: c.data.length + 12 });
  const store = chunks.find((c) => c.type === 'caBX');
  const idat = chunks.filter((c) => c.type === 'IDAT');
  if (!store || idat.length === 0) throw new Error('the signed PNG has no manifest chunk or no IDAT');
  const first = whole(idat[0]!);
  const last = whole(idat.at(-1)!);
  return [whole(store), { start: first.start, length: last.start + last.length - first.start }];
}

function hashOutside(png: Buffer, exclusions: Range[]): Buffer {
  const hash = createHash('sha256');
  let at = 0;
  for (const { start, length } of [...exclusions].sort((a, b) => a.start - b.start)) {
    hash.update(png.subarray(at, start));
    at = start + length;
  }
  return hash.update(png.subarray(at)).digest();
}

export async function craftWithPixelsExcluded(
  signer: ClaimSigner,
  png: Buffer,
  options: CraftOptions = {},
): Promise<Buffer> {
  const label = options.label ?? `urn:c2pa:${randomUUID()}`;
  // The bytes outside the exclusions are the same in every signing: only the manifest chunk changes.
  let previous: { signed: Buffer; exclusions: Range[] } | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const exclusions = previous?.exclusions ?? [
      { start: 0, length: 0 },
      { start: 0, length: 0 },
    ];
    const hashData = {
      exclusions,
      name: 'jumbf manifest',
      alg: 'sha256',
      hash: [...(previous ? hashOutside(previous.signed, exclusions) : Buffer.alloc(32))],
      pad: [],
    };
    const signed = await craft(signer, png, {
      ...options,
      label,
      assertions: [...(options.assertions ?? []), { label: 'c2pa.hash.data', data: hashData }],
    });
    const found = layout(signed);
    if (previous && JSON.stringify(found) === JSON.stringify(exclusions)) return signed;
    previous = { signed, exclusions: found };
  }
  throw new Error('the exclusions did not settle');
}
