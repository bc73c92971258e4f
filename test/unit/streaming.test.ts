import { describe, expect, it } from 'vitest';
import { AnswerProblem, checkedImage, decodeBase64Image } from '../../shared/adapters/azure/streaming-image.js';
import { encodeMultipart, standIn } from '../../shared/adapters/azure/streaming-parts.js';
import { type UploadPart } from '../../shared/ports/image-model.js';
import { gradientImage } from '../helpers/images.js';

async function* chunks(text: string, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < text.length; i += size) yield Buffer.from(text.slice(i, i + size), 'latin1');
}

async function pieces(source: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const piece of source) out.push(piece);
  return out;
}

async function* asPieces(bytes: Buffer, size: number): AsyncIterable<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe("decoding the answer's image as it arrives", () => {
  const image = Buffer.from(Array.from({ length: 3001 }, (_, i) => (i * 37) % 256));
  const answer = JSON.stringify({
    created: 1,
    data: [{ b64_json: image.toString('base64') }],
    usage: { total_tokens: 9 },
  });

  it('gives back the exact bytes however the body is cut, in pieces no larger than the chunks they came in', async () => {
    for (const size of [1, 3, 7, 64, 1024, answer.length]) {
      const decoded = await pieces(decodeBase64Image(chunks(answer, size)));
      expect(Buffer.concat(decoded)).toEqual(image);
      expect(Math.max(...decoded.map((d) => d.length))).toBeLessThanOrEqual(Math.ceil((size * 3) / 4) + 3);
    }
  });

  it('reads base64 whose slashes JSON escaped', async () => {
    for (const size of [1, 2, 5])
      expect(Buffer.concat(await pieces(decodeBase64Image(chunks(answer.replace(/\//g, '\\/'), size))))).toEqual(image);
  });

  it('gives nothing when the answer carries no image', async () => {
    expect(await pieces(decodeBase64Image(chunks('{"created":1,"data":[{"url":"https://x"}]}', 4)))).toEqual([]);
  });

  it('fails when the body ends inside the image, after passing on what came', async () => {
    const cut = answer.slice(0, answer.length / 2);
    const passed: Buffer[] = [];
    const reading = (async () => {
      for await (const piece of decodeBase64Image(chunks(cut, 256))) passed.push(piece);
    })();
    await expect(reading).rejects.toThrow(AnswerProblem);
    await expect(reading).rejects.toMatchObject({
      code: 'incomplete_response',
      message: "the model's answer ended inside its image",
    });
    expect(passed.length).toBeGreaterThan(0);
  });
});

describe('checking the image on its way to storage', () => {
  it('passes a whole PNG on unchanged', async () => {
    const png = await gradientImage(64, 64);
    for (const size of [1, 5, 4096]) {
      expect(Buffer.concat(await pieces(checkedImage(asPieces(png, size), 'png')))).toEqual(png);
    }
  });

  it('stops a JPEG where a PNG was asked for before a byte is passed on', async () => {
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(100), Buffer.from([0xff, 0xd9])]);
    const passed: Buffer[] = [];
    const reading = (async () => {
      for await (const piece of checkedImage(asPieces(jpeg, 10), 'png')) passed.push(piece);
    })();
    await expect(reading).rejects.toMatchObject({
      code: 'invalid_output',
      message: 'the model answered with a JPEG where a PNG was asked for',
    });
    expect(passed).toEqual([]);
  });

  it('fails a PNG cut short at its end, and an answer without an image', async () => {
    const png = await gradientImage(64, 64);
    await expect(pieces(checkedImage(asPieces(png.subarray(0, png.length - 20), 100), 'png'))).rejects.toMatchObject({
      code: 'invalid_output',
      message: expect.stringMatching(/does not end with its IEND chunk/),
    });
    const nothing = checkedImage(asPieces(Buffer.alloc(0), 1), 'png');
    await expect(pieces(nothing)).rejects.toMatchObject({ code: 'empty_response' });
    await expect(pieces(checkedImage(asPieces(Buffer.from('<html>'), 1), 'jpeg'))).rejects.toMatchObject({
      message: 'the model answered with bytes that are no image where a JPEG was asked for',
    });
  });
});

describe('a multipart body with parts read from storage', () => {
  it('sends what the parts hold, under the Content-Length announced, and a server parses it', async () => {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    let opened = 0;
    const part: UploadPart = {
      name: 'ignored',
      type: 'image/png',
      size: bytes.length,
      async open() {
        opened++;
        return chunks(bytes.toString('latin1'), 8192);
      },
    };
    const { file, release } = standIn({ ...part, name: 'photo "1".png' });
    const form = new FormData();
    form.append('prompt', 'a red balloon');
    form.append('image', file, file.name);
    form.append('mask', new File([Buffer.from('small mask')], 'mask.png', { type: 'image/png' }));
    const encoded = await encodeMultipart(form);
    release();
    expect(opened).toBe(0); // nothing is read before the body is sent
    const sent: Buffer[] = [];
    for await (const c of encoded.body) sent.push(Buffer.from(c));
    const body = Buffer.concat(sent);
    expect(body.length).toBe(encoded.length);
    const parsed = await new Response(body, { headers: { 'content-type': encoded.contentType } }).formData();
    expect(parsed.get('prompt')).toBe('a red balloon');
    const image = parsed.get('image') as File;
    expect(image.type).toBe('image/png');
    expect(Buffer.from(await image.arrayBuffer())).toEqual(bytes);
    expect(await (parsed.get('mask') as File).text()).toBe('small mask');
  });

  it('fails the body, not silently, when a part is shorter than announced', async () => {
    const { file } = standIn({ name: 'p.png', type: 'image/png', size: 10, open: async () => chunks('12345', 2) });
    const form = new FormData();
    form.append('image', file, 'p.png');
    const encoded = await encodeMultipart(form);
    await expect(async () => {
      for await (const _ of encoded.body);
    }).rejects.toThrow(/read 5 bytes where 10 were expected/);
  });
});
