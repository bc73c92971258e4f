/**
 * The console keeps its memory bounded, through the real local runtime (Azurite, host): file answers are
 * streamed from storage, at most CONSOLE_MAX_TRANSFERS downloads run at once per instance (more get 503
 * with Retry-After until one ends), and a submission larger than any drop can be is refused by its size.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobRecord } from '../../shared/core/job.js';
import { gradientImage, insertAfterHeader, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

const MB = 1024 * 1024;
let p: TestPipeline;
let job: JobRecord;
let image: Buffer;

beforeAll(async () => {
  p = await startTestPipeline({
    settings: { IMAGE_MODEL_RPM: '6000', CONSOLE_MAX_TRANSFERS: '2', MAX_IMAGE_BYTES: String(20 * MB) },
    outcomeTopic: false,
  });
  // A 16 MB picture (metadata makes it large), rejected at once for its mask: the job's input is the big file.
  image = insertAfterHeader(await gradientImage(256, 256), 'tEXt', Buffer.alloc(16 * MB, 0x61));
  await p.upload('big/photo.png', image);
  await p.upload('big/photo.mask.png', await rectMask(128, 128, { x: 0, y: 0, width: 8, height: 8 }));
  job = await p.settled('big/photo');
});
afterAll(() => p?.close());

const fileUrl = () => `${p.host.url}/api/console/api/file/${job.id}?part=input`;

describe('console downloads', () => {
  it('streams the file with its length, whole', async () => {
    const res = await fetch(fileUrl());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(image.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(image)).toBe(true);
  });

  it('at most CONSOLE_MAX_TRANSFERS at once: the next is told to come back, and gets in once one ends', async () => {
    // Two downloads whose readers do not read: each holds its slot while its stream waits.
    const held = [await fetch(fileUrl()), await fetch(fileUrl())];
    expect(held.map((r) => r.status)).toEqual([200, 200]);
    const refused = await fetch(fileUrl());
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(((await refused.json()) as { error: string }).error).toMatch(/too many downloads at once/);

    await held[0]!.body!.cancel(); // the browser went away: its slot comes back
    let next = await fetch(fileUrl());
    for (let i = 0; next.status === 503 && i < 50; i++) {
      await next.arrayBuffer();
      await sleep(100);
      next = await fetch(fileUrl());
    }
    expect(next.status).toBe(200);
    expect((await next.arrayBuffer()).byteLength).toBe(image.length);
    await held[1]!.arrayBuffer();
  });
});

describe('console submissions', () => {
  const submit = (body: Buffer, headers: Record<string, string> = {}) =>
    fetch(`${p.host.url}/api/console/api/drops`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=x', ...headers },
      body: new Uint8Array(body),
    });

  it('one larger than an image and a mask can be is refused by its Content-Length, before it is parsed', async () => {
    // MAX_IMAGE_BYTES (20 MB) + the model's mask limit (4 MB) + 1 MB of form: 25 MB at most.
    const res = await submit(Buffer.alloc(26 * MB, 0x2d));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toBe(
      `a submission may be at most ${25 * MB} bytes (an image and its mask); this one is ${26 * MB}`,
    );
    expect((await p.blobNames('inbox')).filter((n) => n.startsWith('console/'))).toEqual([]);
  });
});
