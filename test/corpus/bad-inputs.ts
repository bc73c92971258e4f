/**
 * The bad-input corpus, generated here at test time (never hand-edited binaries). Each case is a drop
 * that must end in a specific rejection report without a model call.
 */
import sharp from 'sharp';
import { classifyBlobName, dropBlobName } from '../../shared/core/drop.js';
import { gradientImage, rectMask, rewritePng } from '../helpers/images.js';

export interface CorpusFile {
  name: string;
  bytes: Buffer;
  /** Upload with a raw HTTP path, so that client-side URL normalisation cannot tidy the name. */
  rawPath?: boolean;
}

export interface BadDrop {
  id: string;
  files: CorpusFile[];
  /** Where the report lands in `rejected/`. */
  report: string;
  /** What the report must say. */
  problem: RegExp;
}

/** A name outside the contract reports under its sanitized name plus a hash of the exact name (`my_photo~0f06394c8e43.json`). */
const reportFor = (name: string) => dropBlobName(classifyBlobName(name).drop, '.json');

export async function badInputCorpus(prefix = 'bad'): Promise<BadDrop[]> {
  const image = await gradientImage(128, 128);
  const mask = await rectMask(128, 128, { x: 8, y: 8, width: 16, height: 16 });
  const json = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
  const pair = (
    stem: string,
    overrides: { image?: Buffer; mask?: Buffer; imageName?: string; sidecar?: Buffer } = {},
  ): CorpusFile[] => [
    { name: `${prefix}/${overrides.imageName ?? `${stem}.png`}`, bytes: overrides.image ?? image },
    { name: `${prefix}/${stem}.mask.png`, bytes: overrides.mask ?? mask },
    ...(overrides.sidecar ? [{ name: `${prefix}/${stem}.json`, bytes: overrides.sidecar }] : []),
  ];
  const withIhdr = (edit: (d: Buffer) => void) =>
    rewritePng(image, (type, data) => {
      if (type !== 'IHDR') return data;
      const d = Buffer.from(data);
      edit(d);
      return d;
    });
  const badCrc = Buffer.from(image);
  badCrc[29] = badCrc[29]! ^ 0xff; // a byte of IHDR's CRC
  const sixtyMegabytes = Buffer.concat([image.subarray(0, 33), Buffer.alloc(60 * 1024 * 1024 - 33, 1)]);

  return [
    {
      id: 'truncated PNG',
      files: pair('truncated', { image: image.subarray(0, image.length - 64) }),
      report: `${prefix}/truncated.json`,
      problem: /truncated\.png: the PNG does not end with its IEND chunk/,
    },
    {
      id: 'bad CRC',
      files: pair('badcrc', { image: badCrc }),
      report: `${prefix}/badcrc.json`,
      problem: /badcrc\.png: the PNG header chunk \(IHDR\) fails its CRC check/,
    },
    {
      id: 'absurd dimensions (decompression bomb)',
      files: pair('bomb', { image: withIhdr((d) => (d.writeUInt32BE(200_000, 0), d.writeUInt32BE(200_000, 4))) }),
      report: `${prefix}/bomb.json`,
      problem: /bomb\.png declares 200000x200000 pixels; the limit is 8192/,
    },
    {
      id: 'mask without alpha',
      files: pair('noalpha', { mask: await rectMask(128, 128, { x: 0, y: 0, width: 1, height: 1 }, { alpha: false }) }),
      report: `${prefix}/noalpha.json`,
      problem: /noalpha\.mask\.png has no alpha channel/,
    },
    {
      id: 'mask of another size',
      files: pair('mismatch', { mask: await rectMask(64, 64, { x: 0, y: 0, width: 8, height: 8 }) }),
      report: `${prefix}/mismatch.json`,
      problem: /mismatch\.mask\.png is 64x64 but mismatch\.png is 128x128/,
    },
    {
      id: 'JPEG bytes named .png',
      files: pair('liar', { image: await sharp(image).jpeg().toBuffer() }),
      report: `${prefix}/liar.json`,
      problem: /liar\.png holds JPEG data, not PNG/,
    },
    {
      id: 'zero bytes',
      files: pair('empty', { image: Buffer.alloc(0) }),
      report: `${prefix}/empty.json`,
      problem: /empty\.png is empty \(0 bytes\)/,
    },
    {
      id: '60 MB image',
      files: pair('huge', { image: sixtyMegabytes }),
      report: `${prefix}/huge.json`,
      problem: /huge\.png is 60\.0 MB; the limit is 50\.0 MB/,
    },
    {
      id: 'name with spaces',
      files: [{ name: `${prefix}/my photo.png`, bytes: image }],
      report: reportFor(`${prefix}/my photo.png`),
      problem: /contains spaces/,
    },
    {
      id: 'unicode name',
      files: [{ name: `${prefix}/café.png`, bytes: image }],
      report: reportFor(`${prefix}/café.png`),
      problem: /non-ASCII characters/,
    },
    {
      id: "'..' in the name",
      files: [{ name: `${prefix}/x/../escape.png`, bytes: image, rawPath: true }],
      report: reportFor(`${prefix}/x/../escape.png`),
      problem: /'\.' or '\.\.' path segment/,
    },
    {
      id: 'invalid sidecar JSON',
      files: pair('badjson', { sidecar: json('{"prompt": "a hat",}') }),
      report: `${prefix}/badjson.json`,
      problem: /sidecar: the sidecar is not valid JSON/,
    },
    {
      id: 'sidecar field of the wrong type',
      files: pair('badtype', { sidecar: json({ prompt: 'a hat', quality: 7 }) }),
      report: `${prefix}/badtype.json`,
      problem: /sidecar: "quality" must be one of "low", "medium", "high", got 7/,
    },
    {
      id: 'unknown sidecar field',
      files: pair('unknown', { sidecar: json({ promt: 'a hat' }) }),
      report: `${prefix}/unknown.json`,
      problem: /unknown field "promt" \(did you mean "prompt"\?\)/,
    },
    {
      id: 'empty prompt',
      files: pair('noprompt', { sidecar: json({ prompt: '' }) }),
      report: `${prefix}/noprompt.json`,
      problem: /"prompt" must not be empty/,
    },
    {
      id: 'over-long prompt',
      files: pair('longprompt', { sidecar: json({ prompt: 'x'.repeat(32_001) }) }),
      report: `${prefix}/longprompt.json`,
      problem: /"prompt" is 32001 characters long; the limit is 32000/,
    },
    {
      id: 'unsupported file type',
      files: [{ name: `${prefix}/notes.txt`, bytes: Buffer.from('hello') }],
      report: reportFor(`${prefix}/notes.txt`),
      problem: /"\.txt" files are not part of the drop contract/,
    },
  ];
}
