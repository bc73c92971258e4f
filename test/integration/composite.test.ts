import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorIdentity } from '../../local/emulator/identity.js';
import { signImage } from '../../local/emulator/sign.js';
import { composeFullSize } from '../../shared/adapters/imaging/compose.js';
import { generatePublisher, type LocalPublisher } from '../../shared/adapters/signing/local-ca.js';
import { signComposite } from '../../shared/adapters/c2pa/composite-manifest.js';
import { keyVaultSigner, type DigestSigner } from '../../shared/adapters/azure/key-vault-signer.js';
import { chainFromPem, localSigner } from '../../shared/adapters/signing/local-signer.js';
import { type PublisherSigner } from '../../shared/ports/publisher.js';
import { loadGateConfig } from '../../shared/core/config.js';
import { bindingFor } from '../../shared/core/provenance/composite-binding.js';
import type { ProvenanceReport } from '../../shared/core/provenance/gate.js';
import { createCompositeVerifier } from '../../shared/adapters/c2pa/composite-gate.js';
import { type CompositeVerifier } from '../../shared/ports/verifier.js';
import { forgedIdentity } from '../helpers/forged-ca.js';
import { gradientImage, rawPixels, rectMask, rewritePng, type Rect } from '../helpers/images.js';

const HOLE: Rect = { x: 1500, y: 1000, width: 1000, height: 800 };
const inside = (x: number, y: number, r: Rect) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;

let azure: EmulatorIdentity;
let publisher: LocalPublisher;
let verifier: CompositeVerifier;
let azureEdit: Buffer;

async function modelOutput(identity: EmulatorIdentity): Promise<Buffer> {
  const red = await sharp({ create: { width: 1536, height: 1024, channels: 3, background: { r: 250, g: 10, b: 10 } } })
    .png()
    .toBuffer();
  return Buffer.from(await signImage(identity, red, { format: 'image/png', title: 'photo.png' }));
}

async function composite(photo: Buffer, mime: string, edit: Buffer, by: LocalPublisher | PublisherSigner = publisher) {
  const mask = await rectMask(4000, 3000, HOLE);
  const image = await composeFullSize(photo, mask, edit);
  const signer = 'keyPem' in by ? localSigner(by.keyPem, by.chainPem) : by;
  const signed = await signComposite(
    signer,
    { bytes: image.bytes, mime: image.mime, title: 'photo' },
    { bytes: photo, mime, title: 'photo (original)' },
    { bytes: edit, mime: 'image/png', title: 'photo (Azure OpenAI edit)' },
    new Date(),
    bindingFor(image, { photo, mask, edit }),
  );
  return { image, signed: Buffer.from(signed) };
}

const failed = (r: ProvenanceReport) => r.checks.filter((c) => !c.ok).map((c) => c.name);

beforeAll(async () => {
  [azure, publisher] = await Promise.all([forgedIdentity(), generatePublisher()]);
  verifier = await createCompositeVerifier(loadGateConfig({}), publisher.chainPem, undefined, {
    extraPems: [azure.caPem],
  });
  azureEdit = await modelOutput(azure);
}, 60_000);

describe('full-size composite of a 12 MP photo', () => {
  it('comes back 4000x3000, edited only inside the mask, with the publisher manifest over the Azure ingredient', async () => {
    const photo = await gradientImage(4000, 3000, 'jpeg');
    const started = Date.now();
    const { image, signed } = await composite(photo, 'image/jpeg', azureEdit);
    const took = Date.now() - started;
    expect(image).toMatchObject({ width: 4000, height: 3000, format: 'jpeg' });

    const before = await rawPixels(photo);
    const after = await rawPixels(signed);
    expect([after.width, after.height]).toEqual([4000, 3000]);
    // Outside the mask: the photo (JPEG re-encoding at quality 95 moves a value by a few levels at most).
    let worstOutside = 0;
    let reddestOutside = 0;
    for (let y = 0; y < 3000; y += 7) {
      for (let x = 0; x < 4000; x += 7) {
        const i = (y * 4000 + x) * 3;
        if (inside(x, y, HOLE)) continue;
        for (let c = 0; c < 3; c++)
          worstOutside = Math.max(worstOutside, Math.abs(after.data[i + c]! - before.data[i + c]!));
        reddestOutside = Math.max(reddestOutside, after.data[i]! - before.data[i]!);
      }
    }
    expect(worstOutside).toBeLessThanOrEqual(6);
    // Deep inside the mask: the model's red.
    const centre = ((HOLE.y + HOLE.height / 2) * 4000 + HOLE.x + HOLE.width / 2) * 3;
    expect(after.data[centre]).toBeGreaterThan(235);
    expect(after.data[centre + 1]).toBeLessThan(20);

    const report = await verifier.verify(signed, { file: 'published/photo.jpg' });
    expect(failed(report)).toEqual([]);
    expect(report.verdict).toBe('publish');
    expect(report.manifest).toMatchObject({
      claimGenerator: 'imagegen-pipeline 1.0',
      signer: { commonName: 'imagegen-pipeline local publisher', trusted: true },
      softwareAgent: 'Azure OpenAI ImageGen',
      agentFoundIn: 'ingredient',
      dataHash: 'match',
    });
    expect(report.manifest!.ingredients.map((i) => i.relationship)).toEqual(['parentOf', 'componentOf']);
    expect(report.manifest!.ingredients[1]).toMatchObject({ softwareAgent: 'Azure OpenAI ImageGen' });
    const names = report.checks.map((c) => c.name);
    expect(names).toContain('Publisher: signed by the configured publisher');
    expect(names).toContain('Azure ingredient: Made by an allowed AI agent');
    console.log(`12 MP JPEG composite, signed: ${took} ms, ${signed.length} bytes`);
  }, 120_000);

  it('keeps every pixel outside the mask of a PNG photo exactly', async () => {
    const photo = await gradientImage(4000, 3000, 'png');
    const { signed } = await composite(photo, 'image/png', azureEdit);
    const before = await rawPixels(photo);
    const after = await rawPixels(signed);
    let changedOutside = 0;
    let changedInside = 0;
    for (let y = 0; y < 3000; y++) {
      for (let x = 0; x < 4000; x++) {
        const i = (y * 4000 + x) * 3;
        const changed =
          after.data[i] !== before.data[i] ||
          after.data[i + 1] !== before.data[i + 1] ||
          after.data[i + 2] !== before.data[i + 2];
        if (!changed) continue;
        if (inside(x, y, HOLE)) changedInside++;
        else changedOutside++;
      }
    }
    expect(changedOutside).toBe(0);
    expect(changedInside).toBeGreaterThan(0.95 * HOLE.width * HOLE.height);
  }, 120_000);
});

describe('the composite gate quarantines', () => {
  it('a composite signed by someone other than the configured publisher', async () => {
    const someoneElse = await generatePublisher('imagegen-pipeline local publisher');
    const { signed } = await composite(await gradientImage(4000, 3000, 'jpeg'), 'image/jpeg', azureEdit, someoneElse);
    const report = await verifier.verify(signed, { file: 'x.jpg' });
    expect(report.verdict).toBe('quarantine');
    expect(failed(report)).toContain('Publisher: signed by the configured publisher');
  }, 120_000);

  it('a composite whose Azure ingredient manifest was tampered with', async () => {
    const { signed } = await composite(await gradientImage(4000, 3000, 'png'), 'image/png', azureEdit);
    // One letter of the emulator's action description, inside the embedded Azure manifest, changed.
    const tampered = rewritePng(signed, (type, data) => {
      if (type !== 'caBX') return data;
      const at = data.indexOf('Generated with AI');
      expect(at).toBeGreaterThan(0);
      const copy = Buffer.from(data);
      copy[at] = 'g'.charCodeAt(0);
      return copy;
    });
    const report = await verifier.verify(tampered, { file: 'x.png' });
    expect(report.verdict).toBe('quarantine');
    expect(failed(report)).toContain('Azure ingredient: Made by an allowed AI agent');
  }, 120_000);

  it('a composite whose "Azure" edit was signed by an untrusted CA', async () => {
    const forgedEdit = await modelOutput(await forgedIdentity());
    const { signed } = await composite(await gradientImage(4000, 3000, 'jpeg'), 'image/jpeg', forgedEdit);
    const report = await verifier.verify(signed, { file: 'x.jpg' });
    expect(report.verdict).toBe('quarantine');
    expect(failed(report)).toEqual(['Azure ingredient: Made by an allowed AI agent']);
  }, 120_000);
});

/** ECDSA's DER signature (SEQUENCE of two INTEGERs) as the raw r‖s Key Vault returns. */
function derToRaw(der: Buffer): Buffer {
  const ints: Buffer[] = [];
  let at = 2 + (der[1]! & 0x80 ? der[1]! & 0x7f : 0);
  while (at < der.length) {
    const len = der[at + 1]!;
    ints.push(der.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return Buffer.concat(
    ints.map((n) => Buffer.concat([Buffer.alloc(32), n.subarray(n.length > 32 ? n.length - 32 : 0)]).subarray(-32)),
  );
}

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version']);
    return true;
  } catch {
    return false;
  }
})();

describe('the Key Vault signer', () => {
  // Key Vault cannot run here. The stand-in does what the vault's `sign` operation does: sign the digest
  // it is given, without hashing it again (openssl pkeyutl), and answer ES256 as raw r‖s.
  it.skipIf(!hasOpenssl)(
    'signs a composite the gate accepts, sending the vault only a SHA-256 digest',
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'kv-standin-'));
      writeFileSync(path.join(dir, 'key.pem'), publisher.keyPem, { mode: 0o600 });
      const requests: { algorithm: string; bytes: number }[] = [];
      const vault: DigestSigner = {
        async sign(algorithm, digest) {
          requests.push({ algorithm, bytes: digest.length });
          const der = execFileSync('openssl', ['pkeyutl', '-sign', '-inkey', path.join(dir, 'key.pem')], {
            input: digest,
          });
          return { result: derToRaw(der) };
        },
      };
      const signer = keyVaultSigner(
        vault,
        'es256',
        chainFromPem(publisher.chainPem),
        'https://kv-test.vault.azure.net/keys/publisher-signing/1',
      );
      const { signed } = await composite(await gradientImage(4000, 3000, 'jpeg'), 'image/jpeg', azureEdit, signer);
      expect(requests).toEqual([{ algorithm: 'ES256', bytes: 32 }]);
      const report = await verifier.verify(signed, { file: 'kv.jpg' });
      expect(failed(report)).toEqual([]);
      expect(report.verdict).toBe('publish');
    },
    120_000,
  );
});

describe('imagegen-pipeline verify --publisher', () => {
  const BIN = new URL('../../bin/imagegen-pipeline.js', import.meta.url).pathname;
  const verify = async (...args: string[]) =>
    promisify(execFile)(process.execPath, [BIN, 'verify', ...args]).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );

  it("shows the publisher's manifest and the Azure ingredient, and refuses another signer", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'verify-composite-'));
    const file = (name: string, text: string | Buffer) => (
      writeFileSync(path.join(dir, name), text),
      path.join(dir, name)
    );
    const chain = file('publisher.pem', publisher.chainPem);
    const azureCa = file('azure-ca.pem', azure.caPem);
    const photo = await gradientImage(4000, 3000, 'jpeg');
    const ours = file('ours.jpg', (await composite(photo, 'image/jpeg', azureEdit)).signed);
    const theirs = file(
      'theirs.jpg',
      (await composite(photo, 'image/jpeg', azureEdit, await generatePublisher())).signed,
    );

    const good = await verify('--trust', azureCa, '--publisher', chain, ours);
    expect(good.code).toBe(0);
    expect(good.out).toMatch(/Publisher: signed by the configured publisher/);
    expect(good.out).toMatch(/Azure ingredient: Made by an allowed AI agent/);
    expect(good.out).toMatch(/imagegen-pipeline local publisher/);
    const bad = await verify('--trust', azureCa, '--publisher', chain, theirs);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/signed by a certificate other than the pinned publisher/);
  }, 180_000);
});
