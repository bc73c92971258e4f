import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { AzureOpenAI, toFile } from 'openai';
import sharp from 'sharp';
import { parseDeploymentSpecs } from '../../local/emulator/deployments.js';
import { parseLatency } from '../../local/emulator/faults.js';
import { loadOrCreateIdentity } from '../../local/emulator/identity.js';
import { type Emulator, WELL_KNOWN_API_KEY } from '../../local/emulator/server.js';
import { loadC2pa } from '../../shared/adapters/c2pa/c2pa-wasm.js';
import { loadGateConfig } from '../../shared/core/config.js';
import { createVerifier } from '../../shared/adapters/c2pa/verifier.js';
import { changeOnePixel, gradientImage, insertAfterHeader, rawPixels, type Rect, rectMask } from '../helpers/images.js';
import { emulatorTrustContext, startTestEmulator, TEST_CA_DIR } from '../helpers/emulator.js';

const API_VERSION = '2025-04-01-preview';
const HOLE = { x: 256, y: 256, width: 512, height: 256 };
const KEY = { 'api-key': WELL_KNOWN_API_KEY };

let emulator: Emulator;
let image: Buffer;
let mask: Buffer;

beforeAll(async () => {
  emulator = await startTestEmulator({
    blockWords: ['forbidden'],
    deployments: { 'gpt-image-2': 'gpt-image-2', 'small-images': 'gpt-image-1-mini' },
  });
  image = await gradientImage(1024, 1024);
  mask = await rectMask(1024, 1024, HOLE);
});
afterAll(() => emulator.close());

const png = (bytes: Buffer) => new Blob([new Uint8Array(bytes)], { type: 'image/png' });
const untyped = (bytes: Buffer) => new Blob([new Uint8Array(bytes)], { type: 'application/octet-stream' });
const datedUrl = (deployment = 'gpt-image-2', op = 'edits') =>
  `${emulator.url}/openai/deployments/${deployment}/images/${op}?api-version=${API_VERSION}`;

async function editForm(
  fields: Record<string, string | Blob>,
  url = datedUrl(),
  headers: Record<string, string> = KEY,
): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (typeof v === 'string') form.append(k, v);
    else form.append(k, v, k === 'mask' ? 'mask.png' : 'image.png');
  }
  return fetch(url, { method: 'POST', headers, body: form });
}

const imageOf = async (r: Response) =>
  Buffer.from(((await r.json()) as { data: { b64_json: string }[] }).data[0]!.b64_json, 'base64');

/** Share of sampled pixels inside `hole` that changed, and of those outside that stayed the same. */
async function compareAround(before: Buffer, after: Buffer, hole: Rect) {
  const [a, b] = [await rawPixels(before), await rawPixels(after)];
  const counts = { inside: 0, insideChanged: 0, outside: 0, outsideSame: 0 };
  for (let y = 0; y < a.height; y += 7) {
    for (let x = 0; x < a.width; x += 7) {
      const i = (y * a.width + x) * a.channels;
      const same = [0, 1, 2].every((c) => a.data[i + c] === b.data[i + c]);
      const inside = x >= hole.x && x < hole.x + hole.width && y >= hole.y && y < hole.y + hole.height;
      if (inside) [counts.inside, counts.insideChanged] = [counts.inside + 1, counts.insideChanged + (same ? 0 : 1)];
      else [counts.outside, counts.outsideSame] = [counts.outside + 1, counts.outsideSame + (same ? 1 : 0)];
    }
  }
  return { insideChanged: counts.insideChanged / counts.inside, outsideSame: counts.outsideSame / counts.outside };
}

describe('both routes through the real openai SDK', () => {
  const editParams = async () => ({
    image: await toFile(image, 'photo.png', { type: 'image/png' }),
    mask: await toFile(mask, 'photo.mask.png', { type: 'image/png' }),
    prompt: 'a red balloon',
    size: '1024x1024' as const,
  });

  it('GA v1 route: OpenAI with baseURL …/openai/v1, the deployment as model, the well-known key', async () => {
    const client = new OpenAI({ baseURL: `${emulator.url}/openai/v1`, apiKey: WELL_KNOWN_API_KEY, maxRetries: 0 });
    const result = await client.images.edit({ model: 'gpt-image-2', ...(await editParams()) });
    expect(result.usage?.total_tokens).toBeGreaterThan(0);
    const out = Buffer.from(result.data![0]!.b64_json!, 'base64');
    const { insideChanged, outsideSame } = await compareAround(image, out, HOLE);
    expect(outsideSame).toBe(1);
    expect(insideChanged).toBeGreaterThan(0.9);
    expect(emulator.requests().at(-1)).toMatchObject({
      path: '/openai/v1/images/edits',
      deployment: 'gpt-image-2',
      model: 'gpt-image-2',
      status: 200,
    });
  });

  it('dated route: AzureOpenAI with an api-version and a token the emulator issued (Entra stand-in)', async () => {
    const client = new AzureOpenAI({
      endpoint: emulator.url,
      apiVersion: API_VERSION,
      deployment: 'gpt-image-2',
      maxRetries: 0,
      azureADTokenProvider: async () => emulator.issueToken().access_token,
    });
    const result = await client.images.edit({ model: 'gpt-image-2', ...(await editParams()), quality: 'low' });
    expect(result.data?.[0]?.b64_json).toBeTruthy();
    expect(emulator.requests().at(-1)).toMatchObject({
      path: '/openai/deployments/gpt-image-2/images/edits',
      status: 200,
    });
  });

  it('a deployment serves the model it was created with: gpt-image-1-mini refuses input_fidelity', async () => {
    const client = new OpenAI({ baseURL: `${emulator.url}/openai/v1`, apiKey: WELL_KNOWN_API_KEY, maxRetries: 0 });
    const refused = client.images.edit({ model: 'small-images', ...(await editParams()), input_fidelity: 'high' });
    await expect(refused).rejects.toMatchObject({
      status: 400,
      code: 'unsupported_parameter',
      param: 'input_fidelity',
    });
    const ok = await client.images.edit({ model: 'small-images', ...(await editParams()) });
    expect(ok.data).toHaveLength(1);
    expect(emulator.requests().at(-1)).toMatchObject({ deployment: 'small-images', model: 'gpt-image-1-mini' });
  });
});

describe('the REST quickstart: generate, then edit with a mask and the same prompt', () => {
  const prompt = 'a sea otter in a tuxedo';
  let edited: Buffer;
  let generated: Buffer;

  beforeAll(async () => {
    const gen = await fetch(`${emulator.url}/openai/v1/images/generations`, {
      method: 'POST',
      headers: { ...KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-image-2', prompt, size: '1024x1024', quality: 'medium' }),
    });
    expect(gen.status).toBe(200);
    generated = await imageOf(gen);
    const edit = await editForm(
      { model: 'gpt-image-2', image: png(generated), mask: png(mask), prompt },
      `${emulator.url}/openai/v1/images/edits`,
    );
    expect(edit.status).toBe(200);
    edited = await imageOf(edit);
  });

  it('visibly edits the masked area and keeps the rest', async () => {
    const { insideChanged, outsideSame } = await compareAround(generated, edited, HOLE);
    expect(insideChanged).toBeGreaterThan(0.9);
    expect(outsideSame).toBe(1);
  });

  it("passes the gate under the emulator's two roots only, through the tolerated soft-binding path", async () => {
    const verifier = await createVerifier(loadGateConfig({}), undefined, {
      noDefaultTrust: true,
      extraPems: [emulator.caPem],
    });
    const report = await verifier.verify(edited, { file: 'edit.png' });
    expect(report.verdict).toBe('publish');
    expect(report.validation.failures).toEqual([]);
    expect(report.validation.tolerated.map((t) => `${t.code} ${t.url?.split('/').pop()}`)).toEqual([
      'claim.malformed c2pa.soft-binding',
    ]);
    expect(report.manifest?.signer).toMatchObject({
      trusted: true,
      timestampAuthority: expect.stringMatching(/emulator time-stamping/),
    });
  });
});

describe('Content Credentials shaped like Azure OpenAI', () => {
  let signed: Buffer;
  beforeAll(async () => {
    signed = await imageOf(
      await editForm({ image: png(image), mask: png(mask), prompt: 'a red balloon', size: '1024x1024' }),
    );
  });

  const read = async (bytes: Buffer, context?: string) => {
    const c2pa = await loadC2pa();
    const reader = await c2pa.WasmReader.fromBytes(
      'image/png',
      bytes,
      context ?? JSON.stringify({ verify: { verify_trust: true, remote_manifest_fetch: false } }),
    );
    try {
      return reader.manifestStore() as {
        validation_state: string;
        active_manifest: string;
        manifests: Record<
          string,
          { signature_info: { alg: string }; assertions: { label: string; data: Record<string, unknown> }[] }
        >;
        validation_results: {
          activeManifest: {
            success: { code: string }[];
            failure: { code: string; url: string; explanation: string }[];
          };
        };
      };
    } finally {
      reader.free();
    }
  };

  it('c2pa-rs reports claim.malformed on c2pa.soft-binding and nothing else, as for real Azure images', async () => {
    const store = await read(signed, emulatorTrustContext(emulator.caPem));
    const { success, failure } = store.validation_results.activeManifest;
    expect(failure.map((f) => `${f.code} ${f.url.split('/').pop()}: ${f.explanation}`)).toEqual([
      'claim.malformed c2pa.soft-binding: soft binding assertion could not be decoded',
    ]);
    expect(success.map((s) => s.code)).toEqual(
      expect.arrayContaining([
        'claimSignature.validated',
        'signingCredential.trusted',
        'timeStamp.validated',
        'timeStamp.trusted',
        'assertion.dataHash.match',
      ]),
    );
    const manifest = store.manifests[store.active_manifest]!;
    expect(manifest.signature_info.alg).toBe('Ps256');
    const actions = manifest.assertions.find((a) => a.label === 'c2pa.actions.v2')!.data.actions as Record<
      string,
      unknown
    >[];
    expect(actions.map((a) => a.action)).toEqual(['c2pa.created', 'c2pa.watermarked']);
    expect(actions[0]).toMatchObject({
      softwareAgent: { name: 'Azure OpenAI ImageGen' },
      digitalSourceType: 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia',
    });
    expect(manifest.assertions.find((a) => a.label === 'c2pa.soft-binding')!.data).toMatchObject({
      alg: 'com.microsoft.invismark.1',
    });
  });

  it('needs both roots: without the time-stamping root the time-stamp is untrusted', async () => {
    const signingRootOnly = emulator.caPem.split(/(?<=-----END CERTIFICATE-----)/)[0]!;
    const store = await read(signed, emulatorTrustContext(signingRootOnly));
    const codes = JSON.stringify(store.validation_results);
    expect(codes).toContain('timeStamp.untrusted');
    expect(codes).not.toContain('"timeStamp.trusted"');
  });

  it('is signingCredential.untrusted without the emulator roots, and dataHash.mismatch after one pixel changes', async () => {
    expect((await read(signed)).validation_results.activeManifest.failure.map((f) => f.code)).toContain(
      'signingCredential.untrusted',
    );
    const tampered = await read(changeOnePixel(signed), emulatorTrustContext(emulator.caPem));
    expect(tampered.validation_results.activeManifest.failure.map((f) => f.code)).toContain(
      'assertion.dataHash.mismatch',
    );
  });

  it('signs with an RSA leaf (claim-signing EKU, digitalSignature) under an intermediate; the TSA under its own root', async () => {
    const identity = await loadOrCreateIdentity(TEST_CA_DIR);
    const [leaf, intermediate] = identity.signer.chain.map((der) => new X509Certificate(der));
    const roots = emulator.caPem
      .split(/(?<=-----END CERTIFICATE-----)/)
      .filter((p) => p.includes('BEGIN'))
      .map((p) => new X509Certificate(p));
    const tsa = new X509Certificate(identity.tsa.certificate);
    expect(roots).toHaveLength(2);
    expect(leaf!.publicKey.asymmetricKeyType).toBe('rsa');
    expect(leaf!.keyUsage).toEqual(['1.3.6.1.4.1.311.76.59.1.9']);
    expect(leaf!.checkIssued(intermediate!)).toBe(true);
    expect(intermediate!.ca && intermediate!.checkIssued(roots[0]!)).toBe(true);
    expect(tsa.checkIssued(roots[1]!)).toBe(true);
    expect(tsa.checkIssued(roots[0]!)).toBe(false);
    for (const cert of [...roots, leaf!, intermediate!, tsa])
      expect(cert.subject).toMatch(/not (Microsoft|Azure OpenAI)/);
    expect(await (await fetch(`${emulator.url}/emulator/ca.pem`)).text()).toBe(emulator.caPem);
  });
});

describe('as strict as Azure', () => {
  const bigMask = async () => {
    // Random alpha does not compress: a 1024x1024 RGBA PNG of noise is over 4 MB.
    const raw = Buffer.alloc(1024 * 1024 * 4);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
    return sharp(raw, { raw: { width: 1024, height: 1024, channels: 4 } })
      .png({ compressionLevel: 0 })
      .toBuffer();
  };
  const cases: [string, () => Promise<Response>, number, string, string?][] = [
    [
      'dated route without api-version (Azure: Resource not found)',
      () => fetch(`${emulator.url}/openai/deployments/gpt-image-2/images/edits`, { method: 'POST', headers: KEY }),
      404,
      '404',
    ],
    ['missing key or token', () => fetch(datedUrl(), { method: 'POST' }), 401, '401'],
    ['wrong api key', () => fetch(datedUrl(), { method: 'POST', headers: { 'api-key': 'nope' } }), 401, '401'],
    [
      'a bearer token the emulator did not issue',
      () => fetch(datedUrl(), { method: 'POST', headers: { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged' } }),
      401,
      '401',
    ],
    [
      'an expired token it did issue',
      () =>
        fetch(datedUrl(), {
          method: 'POST',
          headers: { authorization: `Bearer ${emulator.issueToken(-60).access_token}` },
        }),
      401,
      '401',
    ],
    [
      'the key as a bearer on the dated route (only v1 takes that)',
      () => fetch(datedUrl(), { method: 'POST', headers: { authorization: `Bearer ${WELL_KNOWN_API_KEY}` } }),
      401,
      '401',
    ],
    [
      'unknown deployment',
      () =>
        fetch(datedUrl('dall-e-9', 'generations'), {
          method: 'POST',
          headers: { ...KEY, 'content-type': 'application/json' },
          body: '{"prompt":"x"}',
        }),
      404,
      'DeploymentNotFound',
    ],
    [
      'image sent as application/octet-stream',
      () => editForm({ image: untyped(image), prompt: 'p' }),
      400,
      'unsupported_file_mimetype',
      'image',
    ],
    [
      'mask sent as application/octet-stream',
      () => editForm({ image: png(image), mask: untyped(mask), prompt: 'p' }),
      400,
      'unsupported_file_mimetype',
      'mask',
    ],
    [
      'an image over 50 MB',
      () => editForm({ image: png(Buffer.concat([image, Buffer.alloc(50 * 1024 * 1024)])), prompt: 'p' }),
      400,
      'image_too_large',
      'image',
    ],
    [
      'a mask of 4 MB or more',
      async () => editForm({ image: png(image), mask: png(await bigMask()), prompt: 'p' }),
      400,
      'image_too_large',
      'mask',
    ],
    [
      'response_format (not a gpt-image parameter)',
      () => editForm({ image: png(image), prompt: 'p', response_format: 'url' }),
      400,
      'unknown_parameter',
      'response_format',
    ],
    [
      'style (a DALL-E 3 parameter)',
      () => editForm({ image: png(image), prompt: 'p', style: 'vivid' }),
      400,
      'unknown_parameter',
      'style',
    ],
    [
      'background=transparent with JPEG output',
      () => editForm({ image: png(image), prompt: 'p', background: 'transparent', output_format: 'jpeg' }),
      400,
      'invalid_value',
      'background',
    ],
    ['missing prompt', () => editForm({ image: png(image), mask: png(mask) }), 400, 'invalid_request_error', 'prompt'],
    [
      'over-long prompt',
      () => editForm({ image: png(image), prompt: 'x'.repeat(32_001) }),
      400,
      'string_above_max_length',
      'prompt',
    ],
    [
      'unsupported size',
      () => editForm({ image: png(image), prompt: 'p', size: '512x512' }),
      400,
      'invalid_value',
      'size',
    ],
    [
      'unsupported quality',
      () => editForm({ image: png(image), prompt: 'p', quality: 'ultra' }),
      400,
      'invalid_value',
      'quality',
    ],
    [
      'unsupported output_format',
      () => editForm({ image: png(image), prompt: 'p', output_format: 'gif' }),
      400,
      'invalid_value',
      'output_format',
    ],
    ['n above 10', () => editForm({ image: png(image), prompt: 'p', n: '11' }), 400, 'invalid_value', 'n'],
    [
      'image that is not an image',
      () => editForm({ image: png(Buffer.from('GIF89a not really')), prompt: 'p' }),
      400,
      'invalid_image_format',
      'image',
    ],
    [
      'prompt with a block word',
      () => editForm({ image: png(image), mask: png(mask), prompt: 'something FORBIDDEN here' }),
      400,
      'content_policy_violation',
      'prompt',
    ],
    [
      'image carrying a block-word marker',
      () =>
        editForm({
          image: png(insertAfterHeader(image, 'tEXt', Buffer.from('Comment\0forbidden', 'latin1'))),
          mask: png(mask),
          prompt: 'a kite',
        }),
      400,
      'content_policy_violation',
      'image',
    ],
  ];
  it.each(cases.map(([name, send, status, code, param]) => ({ name, send, status, code, param })))(
    '$name → $status $code',
    async ({ send, status, code, param }) => {
      const r = await send();
      expect(r.status).toBe(status);
      const body = (await r.json()) as { error: { code: string; message: string; param?: string } };
      expect(body.error.code).toBe(code);
      expect(body.error.message.length).toBeGreaterThan(10);
      if (param) expect(body.error.param).toBe(param);
    },
  );

  it('answers the missing api-version exactly like Azure', async () => {
    const r = await fetch(`${emulator.url}/openai/deployments/gpt-image-2/images/edits`, {
      method: 'POST',
      headers: KEY,
    });
    expect(await r.json()).toEqual({ error: { code: '404', message: 'Resource not found' } });
  });

  it('refuses masks that are not PNG, have no alpha, or differ in size from the image', async () => {
    const jpegMask = new Blob([new Uint8Array(await sharp(mask).jpeg().toBuffer())], { type: 'image/jpeg' });
    const noAlpha = png(await rectMask(1024, 1024, HOLE, { alpha: false }));
    const small = png(await rectMask(512, 512, { x: 0, y: 0, width: 10, height: 10 }));
    const codes = [];
    for (const m of [jpegMask, noAlpha, small]) {
      const body = (await (await editForm({ image: png(image), mask: m, prompt: 'p' })).json()) as {
        error: { code: string; param: string };
      };
      expect(body.error.param).toBe('mask');
      codes.push(body.error.code);
    }
    expect(codes).toEqual(['unsupported_file_mimetype', 'invalid_mask_image_format', 'invalid_mask_size']);
  });

  it('sends distinct apim-request-id and x-request-id and echoes x-ms-client-request-id', async () => {
    const r = await editForm({ image: png(image), prompt: 'p', quality: 'ultra' }, datedUrl(), {
      ...KEY,
      'x-ms-client-request-id': 'job-123',
    });
    const [apim, service] = [r.headers.get('apim-request-id'), r.headers.get('x-request-id')];
    expect(apim).toMatch(/^[0-9a-f-]{36}$/);
    expect(service).toMatch(/^[0-9a-f-]{36}$/);
    expect(apim).not.toBe(service);
    expect(r.headers.get('x-ms-client-request-id')).toBe('job-123');
    expect(emulator.requests().at(-1)).toMatchObject({ clientRequestId: 'job-123', requestId: apim });
  });

  it('reads --deployment NAME=MODEL, a bare model name serving itself', () => {
    expect(parseDeploymentSpecs(['my-images=gpt-image-1.5', 'gpt-image-2'])).toEqual({
      'my-images': 'gpt-image-1.5',
      'gpt-image-2': 'gpt-image-2',
    });
    expect(() => parseDeploymentSpecs(['a=b=c'])).toThrow(/NAME=MODEL/);
  });

  it('refuses to serve a retired model, naming the retirement date and the replacement', async () => {
    await expect(startTestEmulator({ deployments: { legacy: 'gpt-image-1' } })).rejects.toThrow(
      /deployment "legacy": gpt-image-1 .*retired on 2026-10-23; Microsoft names no replacement; use gpt-image-2/,
    );
  });

  it('issues tokens at POST /emulator/token that the SDK can use', async () => {
    const token = (await (await fetch(`${emulator.url}/emulator/token`, { method: 'POST' })).json()) as {
      access_token: string;
      expires_on: number;
    };
    expect(token.expires_on * 1000).toBeGreaterThan(Date.now());
    const r = await editForm({ image: png(image), prompt: 'p', quality: 'ultra' }, datedUrl(), {
      authorization: `Bearer ${token.access_token}`,
    });
    expect(r.status).toBe(400); // past authentication, refused for the quality
  });
});

describe('quota', () => {
  it('throttles past the RPM limit with a usable Retry-After and rate-limit headers on every response', async () => {
    const throttled = await startTestEmulator({ rpm: 60 }); // a bucket of 10, refilled one per second
    try {
      const send = () =>
        fetch(`${throttled.url}/openai/deployments/gpt-image-2/images/generations?api-version=${API_VERSION}`, {
          method: 'POST',
          headers: { ...KEY, 'content-type': 'application/json' },
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
    return fetch(`${url}/openai/deployments/gpt-image-2/images/edits?api-version=${API_VERSION}`, {
      method: 'POST',
      headers: KEY,
      body: form,
      ...(signal ? { signal } : {}),
    });
  };
  const withFaults = async (faults: Parameters<typeof startTestEmulator>[0], use: (e: Emulator) => Promise<void>) => {
    const faulty = await startTestEmulator(faults);
    try {
      await use(faulty);
    } finally {
      await faulty.close();
    }
  };

  it.each([
    ['http403', 403, 'PermissionDenied'],
    ['http500', 500, 'InternalServerError'],
    ['http503', 503, 'ServiceUnavailable'],
    ['blocked', 403, 'Forbidden'],
    ['http408', 408, 'RequestTimeout'],
    ['http504', 504, 'GatewayTimeout'],
  ] as const)('%s answers %i', (fault, status, code) =>
    withFaults({ faults: { [fault]: 1 } }, async (faulty) => {
      const r = await request(faulty.url);
      expect(r.status).toBe(status);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe(code);
      expect(faulty.requests().at(-1)?.outcome).toBe(`fault:${fault}`);
    }),
  );

  it('http408 and http504 come after the edit is made (Azure finished, and billed, the work)', () =>
    withFaults({}, async (faulty) => {
      faulty.scheduleFaults(['http504', 'blocked']);
      expect((await request(faulty.url)).status).toBe(504);
      expect((await request(faulty.url)).status).toBe(403);
      expect((await request(faulty.url)).status).toBe(200); // scheduled faults are used up in order
      const [late, blocked] = faulty.requests();
      expect(late!.outputSha256).toHaveLength(1);
      expect(blocked!.outputSha256).toHaveLength(0);
    }));

  it('reset cuts the connection', () =>
    withFaults({ faults: { reset: 1 } }, async (faulty) => void (await expect(request(faulty.url)).rejects.toThrow())));

  it('hang never answers until the client gives up', () =>
    withFaults({ faults: { hang: 1 } }, async (faulty) => {
      const started = Date.now();
      await expect(request(faulty.url, AbortSignal.timeout(300))).rejects.toThrow();
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    }));

  it('truncate sends half a body, then drops the connection', () =>
    withFaults({ faults: { truncate: 1 } }, async (faulty) => {
      const r = await request(faulty.url);
      expect(r.status).toBe(200);
      await expect(r.json()).rejects.toThrow();
    }));

  it('adds configured latency; "azure" is the real-time profile (tens of seconds)', async () => {
    expect(parseLatency('azure')).toEqual({ min: 15_000, max: 60_000 });
    await withFaults({ latency: { min: 200, max: 250 } }, async (slow) => {
      const started = Date.now();
      expect((await request(slow.url)).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    });
  });
});

it('gives the same pixels for the same inputs and different pixels for another prompt', async () => {
  const edit = async (prompt: string) =>
    (await rawPixels(await imageOf(await editForm({ image: png(image), mask: png(mask), prompt, size: '1024x1024' }))))
      .data;
  const [a, b, c] = [await edit('a red balloon'), await edit('a red balloon'), await edit('a blue kite')];
  expect(a.equals(b)).toBe(true);
  expect(a.equals(c)).toBe(false);
});
