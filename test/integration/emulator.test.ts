import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureOpenAI, toFile } from 'openai';
import sharp from 'sharp';
import type { Emulator } from '../../local/emulator/server.js';
import { loadC2pa } from '../../shared/adapters/c2pa.js';
import { changeOnePixel, gradientImage, rawPixels, rectMask } from '../helpers/images.js';
import { emulatorTrustContext, startTestEmulator } from '../helpers/emulator.js';

const API_VERSION = '2025-04-01-preview';
const HOLE = { x: 256, y: 256, width: 512, height: 256 };

let emulator: Emulator;
let image: Buffer;
let mask: Buffer;

beforeAll(async () => {
  emulator = await startTestEmulator({ apiKey: 'local-key', blockWords: ['forbidden'] });
  image = await gradientImage(1024, 1024);
  mask = await rectMask(1024, 1024, HOLE);
});
afterAll(() => emulator.close());

function client(auth: { apiKey: string } | { azureADTokenProvider: () => Promise<string> }) {
  return new AzureOpenAI({ endpoint: emulator.url, apiVersion: API_VERSION, deployment: 'gpt-image-1', maxRetries: 0, timeout: 30_000, ...auth });
}

async function editForm(fields: Record<string, string | Blob>): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'string') form.append(k, v);
    else form.append(k, v, k === 'mask' ? 'mask.png' : 'image.png');
  }
  return fetch(`${emulator.url}/openai/deployments/gpt-image-1/images/edits?api-version=${API_VERSION}`, {
    method: 'POST',
    headers: { 'api-key': 'local-key' },
    body: form,
  });
}

const png = (bytes: Buffer) => new Blob([new Uint8Array(bytes)], { type: 'image/png' });
const blob = (bytes: Buffer) => new Blob([new Uint8Array(bytes)]);

describe('images/edits through the openai SDK', () => {
  it('keeps pixels outside the mask and repaints the transparent area', async () => {
    const result = await client({ apiKey: 'local-key' }).images.edit({
      model: 'gpt-image-1',
      image: await toFile(image, 'photo.png', { type: 'image/png' }),
      mask: await toFile(mask, 'photo.mask.png', { type: 'image/png' }),
      prompt: 'a red balloon',
      size: '1024x1024',
    });
    expect(result.data).toHaveLength(1);
    expect(result.usage?.total_tokens).toBeGreaterThan(0);
    const out = await rawPixels(Buffer.from(result.data![0]!.b64_json!, 'base64'));
    const input = await rawPixels(image);
    expect([out.width, out.height]).toEqual([1024, 1024]);
    let outsideSame = 0;
    let outsideTotal = 0;
    let insideChanged = 0;
    let insideTotal = 0;
    for (let y = 0; y < 1024; y += 7) {
      for (let x = 0; x < 1024; x += 7) {
        const i = (y * 1024 + x) * 3;
        const same = out.data[i] === input.data[i] && out.data[i + 1] === input.data[i + 1] && out.data[i + 2] === input.data[i + 2];
        const inside = x >= HOLE.x && x < HOLE.x + HOLE.width && y >= HOLE.y && y < HOLE.y + HOLE.height;
        if (inside) {
          insideTotal++;
          if (!same) insideChanged++;
        } else {
          outsideTotal++;
          if (same) outsideSame++;
        }
      }
    }
    expect(outsideSame).toBe(outsideTotal);
    expect(insideChanged / insideTotal).toBeGreaterThan(0.9);
  });

  it('authenticates with an Entra ID token provider', async () => {
    const result = await client({ azureADTokenProvider: async () => 'fake-entra-token' }).images.edit({
      model: 'gpt-image-1',
      image: await toFile(image, 'photo.png', { type: 'image/png' }),
      mask: await toFile(mask, 'mask.png', { type: 'image/png' }),
      prompt: 'a red balloon',
      size: '1024x1024',
      quality: 'low',
    });
    expect(result.data?.[0]?.b64_json).toBeTruthy();
  });

  it('gives the same pixels for the same inputs and different pixels for another prompt', async () => {
    const edit = async (prompt: string) => {
      const r = await editForm({ image: png(image), mask: png(mask), prompt, size: '1024x1024' });
      const body = (await r.json()) as { data: { b64_json: string }[] };
      return (await rawPixels(Buffer.from(body.data[0]!.b64_json, 'base64'))).data;
    };
    const [a, b, c] = [await edit('a red balloon'), await edit('a red balloon'), await edit('a blue kite')];
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('serves the v1 route with the deployment named by model, and generations as JSON', async () => {
    const form = new FormData();
    form.append('image[]', png(image), 'photo.png');
    form.append('prompt', 'a kite');
    form.append('model', 'gpt-image-1-mini');
    form.append('output_format', 'jpeg');
    form.append('size', '1536x1024');
    const edit = await fetch(`${emulator.url}/openai/v1/images/edits?api-version=preview`, { method: 'POST', headers: { authorization: 'Bearer t' }, body: form });
    expect(edit.status).toBe(200);
    const editBody = (await edit.json()) as { data: { b64_json: string }[] };
    const meta = await sharp(Buffer.from(editBody.data[0]!.b64_json, 'base64')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', 1536, 1024]);

    const gen = await fetch(`${emulator.url}/openai/deployments/gpt-image-1/images/generations?api-version=${API_VERSION}`, {
      method: 'POST',
      headers: { 'api-key': 'local-key', 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'a lighthouse', size: '1024x1536', n: 2 }),
    });
    const genBody = (await gen.json()) as { data: { b64_json: string }[] };
    expect(genBody.data).toHaveLength(2);
    expect((await sharp(Buffer.from(genBody.data[1]!.b64_json, 'base64')).metadata()).height).toBe(1536);
  });
});

describe('validation like the service', () => {
  const cases: [string, () => Promise<Response>, number, string, string?][] = [
    ['missing api key', () => fetch(`${emulator.url}/openai/deployments/gpt-image-1/images/edits?api-version=${API_VERSION}`, { method: 'POST' }), 401, '401'],
    ['wrong api key', () => fetch(`${emulator.url}/openai/deployments/gpt-image-1/images/edits?api-version=${API_VERSION}`, { method: 'POST', headers: { 'api-key': 'nope' } }), 401, '401'],
    ['missing api-version', () => fetch(`${emulator.url}/openai/deployments/gpt-image-1/images/edits`, { method: 'POST', headers: { 'api-key': 'local-key' } }), 400, 'MissingApiVersionParameter'],
    ['unknown deployment', () => fetch(`${emulator.url}/openai/deployments/dall-e-9/images/generations?api-version=${API_VERSION}`, { method: 'POST', headers: { 'api-key': 'local-key', 'content-type': 'application/json' }, body: '{"prompt":"x"}' }), 404, 'DeploymentNotFound'],
    ['missing prompt', () => editForm({ image: png(image), mask: png(mask) }), 400, 'invalid_request_error', 'prompt'],
    ['over-long prompt', () => editForm({ image: png(image), prompt: 'x'.repeat(32_001) }), 400, 'string_above_max_length', 'prompt'],
    ['unsupported size', () => editForm({ image: png(image), prompt: 'p', size: '512x512' }), 400, 'invalid_value', 'size'],
    ['unsupported quality', () => editForm({ image: png(image), prompt: 'p', quality: 'ultra' }), 400, 'invalid_value', 'quality'],
    ['unsupported output_format', () => editForm({ image: png(image), prompt: 'p', output_format: 'gif' }), 400, 'invalid_value', 'output_format'],
    ['n above 10', () => editForm({ image: png(image), prompt: 'p', n: '11' }), 400, 'invalid_value', 'n'],
    ['n below 1', () => editForm({ image: png(image), prompt: 'p', n: '0' }), 400, 'invalid_value', 'n'],
    ['image not an image', () => editForm({ image: new Blob([Buffer.from('GIF89a not really')]), prompt: 'p' }), 400, 'invalid_image_format', 'image'],
    ['image over 50 MB', () => editForm({ image: blob(Buffer.concat([image, Buffer.alloc(50 * 1024 * 1024)])), prompt: 'p' }), 400, 'image_too_large', 'image'],
  ];
  it.each(cases.map(([name, send, status, code, param]) => ({ name, send, status, code, param })))('$name → $status $code', async ({ send, status, code, param }) => {
    const r = await send();
    expect(r.status).toBe(status);
    const body = (await r.json()) as { error: { code: string; message: string; param?: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(10);
    if (param) expect(body.error.param).toBe(param);
  });

  it('refuses a mask that is not a PNG, has no alpha, or differs in size from the image', async () => {
    const jpegMask = await sharp(mask).jpeg().toBuffer();
    const noAlpha = await rectMask(1024, 1024, HOLE, { alpha: false });
    const small = await rectMask(512, 512, { x: 0, y: 0, width: 10, height: 10 });
    const codes = [];
    for (const m of [jpegMask, noAlpha, small]) {
      const r = await editForm({ image: png(image), mask: blob(m), prompt: 'p' });
      expect(r.status).toBe(400);
      const body = (await r.json()) as { error: { code: string; param: string } };
      expect(body.error.param).toBe('mask');
      codes.push(body.error.code);
    }
    expect(codes).toEqual(['invalid_image_format', 'invalid_mask_image_format', 'invalid_mask_size']);
  });

  it('answers prompts on the block list with a content_policy_violation', async () => {
    const r = await editForm({ image: png(image), mask: png(mask), prompt: 'something FORBIDDEN here' });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { code: string; inner_error: { code: string; content_filter_results: object } } };
    expect(body.error.code).toBe('content_policy_violation');
    expect(body.error.inner_error.code).toBe('ResponsibleAIPolicyViolation');
    expect(Object.keys(body.error.inner_error.content_filter_results)).toContain('violence');
  });
});

describe('quota', () => {
  it('throttles past the RPM limit with a usable Retry-After and rate-limit headers on every response', async () => {
    const throttled = await startTestEmulator({ rpm: 60 }); // a bucket of 10, refilled one per second
    try {
      const send = () =>
        fetch(`${throttled.url}/openai/deployments/gpt-image-1/images/generations?api-version=${API_VERSION}`, {
          method: 'POST',
          headers: { 'api-key': 'k', 'content-type': 'application/json' },
          body: '{}', // invalid on purpose: requests count against the quota before validation, and fail fast
        });
      const statuses = [];
      let last: Response | undefined;
      for (let i = 0; i < 11; i++) {
        last = await send();
        statuses.push(last.status);
        expect(last.headers.get('x-ratelimit-limit-requests')).toBe('60');
        expect(last.headers.get('x-ratelimit-remaining-requests')).toMatch(/^\d+$/);
      }
      expect(statuses.slice(0, 10).every((s) => s === 400)).toBe(true);
      expect(statuses[10]).toBe(429);
      const retryMs = Number(last!.headers.get('retry-after-ms'));
      expect(retryMs).toBeGreaterThan(0);
      expect(retryMs).toBeLessThanOrEqual(1000);
      expect(Number(last!.headers.get('retry-after'))).toBe(Math.ceil(retryMs / 1000));
      await new Promise((r) => setTimeout(r, retryMs + 20));
      expect((await send()).status).toBe(400);
    } finally {
      await throttled.close();
    }
  });
});

describe('fault injection', () => {
  const request = (url: string, signal?: AbortSignal) => {
    const form = new FormData();
    form.append('image', png(image), 'photo.png');
    form.append('prompt', 'p');
    return fetch(`${url}/openai/deployments/gpt-image-1/images/edits?api-version=${API_VERSION}`, { method: 'POST', headers: { 'api-key': 'k' }, body: form, ...(signal ? { signal } : {}) });
  };

  it.each([
    ['http500', 500, 'InternalServerError'],
    ['http503', 503, 'ServiceUnavailable'],
  ] as const)('%s answers %i', async (fault, status, code) => {
    const faulty = await startTestEmulator({ faults: { [fault]: 1 } });
    try {
      const r = await request(faulty.url);
      expect(r.status).toBe(status);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe(code);
      expect(faulty.requests().at(-1)?.outcome).toBe(`fault:${fault}`);
    } finally {
      await faulty.close();
    }
  });

  it('reset cuts the connection', async () => {
    const faulty = await startTestEmulator({ faults: { reset: 1 } });
    try {
      await expect(request(faulty.url)).rejects.toThrow();
    } finally {
      await faulty.close();
    }
  });

  it('hang never answers until the client gives up', async () => {
    const faulty = await startTestEmulator({ faults: { hang: 1 } });
    try {
      const started = Date.now();
      await expect(request(faulty.url, AbortSignal.timeout(300))).rejects.toThrow();
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    } finally {
      await faulty.close();
    }
  });

  it('truncate sends half a body, then drops the connection', async () => {
    const faulty = await startTestEmulator({ faults: { truncate: 1 } });
    try {
      const r = await request(faulty.url);
      expect(r.status).toBe(200);
      await expect(r.json()).rejects.toThrow();
    } finally {
      await faulty.close();
    }
  });

  it('adds configured latency', async () => {
    const slow = await startTestEmulator({ latency: { min: 200, max: 250 } });
    try {
      const started = Date.now();
      expect((await request(slow.url)).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    } finally {
      await slow.close();
    }
  });
});

describe('Content Credentials', () => {
  let signed: Buffer;
  beforeAll(async () => {
    const r = await editForm({ image: png(image), mask: png(mask), prompt: 'a red balloon', size: '1024x1024' });
    signed = Buffer.from(((await r.json()) as { data: { b64_json: string }[] }).data[0]!.b64_json, 'base64');
  });

  const read = async (bytes: Buffer, context?: string) => {
    const c2pa = await loadC2pa();
    const reader = await c2pa.WasmReader.fromBytes('image/png', bytes, context ?? JSON.stringify({ verify: { verify_trust: true, remote_manifest_fetch: false } }));
    try {
      return reader.manifestStore() as {
        validation_state: string;
        active_manifest: string;
        manifests: Record<string, { assertions: { label: string; data: { actions: Record<string, unknown>[] } }[] }>;
        validation_results: { activeManifest: { success: { code: string }[]; failure: { code: string }[] } };
      };
    } finally {
      reader.free();
    }
  };

  it('is Trusted when the emulator CA is a trust anchor, with an action shaped like Azure OpenAI', async () => {
    const store = await read(signed, emulatorTrustContext(emulator.caPem));
    expect(store.validation_state).toBe('Trusted');
    const actions = store.manifests[store.active_manifest]!.assertions.find((a) => a.label.startsWith('c2pa.actions'))!.data.actions;
    expect(actions[0]).toMatchObject({
      action: 'c2pa.created',
      softwareAgent: { name: 'Azure OpenAI ImageGen' },
      digitalSourceType: 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia',
      description: 'AI Generated Image',
    });
    expect(typeof actions[0]!.when).toBe('string');
    const codes = store.validation_results.activeManifest.success.map((s) => s.code);
    expect(codes).toEqual(expect.arrayContaining(['signingCredential.trusted', 'timeStamp.trusted', 'assertion.dataHash.match']));
  });

  it('is signingCredential.untrusted without the emulator CA', async () => {
    const store = await read(signed);
    expect(store.validation_results.activeManifest.failure.map((f) => f.code)).toContain('signingCredential.untrusted');
    expect(store.validation_state).not.toBe('Trusted');
  });

  it('reports assertion.dataHash.mismatch after one pixel changes', async () => {
    const store = await read(changeOnePixel(signed), emulatorTrustContext(emulator.caPem));
    expect(store.validation_results.activeManifest.failure.map((f) => f.code)).toContain('assertion.dataHash.mismatch');
  });

  it('serves its CA at /emulator/ca.pem, named so nobody mistakes it for Microsoft', async () => {
    const pem = await (await fetch(`${emulator.url}/emulator/ca.pem`)).text();
    expect(pem).toBe(emulator.caPem);
    const { X509Certificate } = await import('node:crypto');
    const cert = new X509Certificate(pem);
    expect(cert.subject).toMatch(/not Microsoft/);
    expect(cert.ca).toBe(true);
  });
});
