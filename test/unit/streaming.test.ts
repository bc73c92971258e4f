import { describe, expect, it } from 'vitest';
import { readBase64Image } from '../../shared/adapters/streaming-image.js';
import { encodeMultipart, standIn, type UploadPart } from '../../shared/adapters/streaming-parts.js';

async function* chunks(text: string, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < text.length; i += size) yield Buffer.from(text.slice(i, i + size), 'latin1');
}

describe("decoding the answer's image as it arrives", () => {
  const image = Buffer.from(Array.from({ length: 3001 }, (_, i) => (i * 37) % 256));
  const answer = JSON.stringify({ created: 1, data: [{ b64_json: image.toString('base64') }], usage: { total_tokens: 9 } });

  it('gives back the exact bytes however the body is cut', async () => {
    for (const size of [1, 3, 7, 64, 4096, answer.length]) expect(await readBase64Image(chunks(answer, size))).toEqual(image);
  });

  it('reads base64 whose slashes JSON escaped', async () => {
    expect(await readBase64Image(chunks(answer.replace(/\//g, '\\/'), 5))).toEqual(image);
  });

  it('says there is no image when the answer carries none', async () => {
    expect(await readBase64Image(chunks('{"created":1,"data":[{"url":"https://x"}]}', 4))).toBeUndefined();
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
