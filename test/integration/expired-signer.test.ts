/**
 * Microsoft's credentials over time, through the emulator and the gate: the emulator signs like Azure
 * today (RSA leaf valid one year under "… SCD Claimants RSA CA", InvisMark soft binding, `c2pa.watermarked`
 * by Microsoft Responsible AI Provenance, "Generated with AI") and, with `signer: 'expired'`, with a leaf
 * that expired 30 days ago, as of a time inside its year. Time-stamped, such an output verifies: the
 * time-stamp proves the signature was made while the leaf was valid. Without a time-stamp nothing proves
 * when it was signed, and it is quarantined. In a fresh edit the pipeline still quarantines the
 * back-dated one: it was not signed during this edit's call.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExpiredIdentity, EXPIRED_LEAF } from '../../local/emulator/identity.js';
import type { Emulator } from '../../local/emulator/server.js';
import { createImageModel } from '../../shared/adapters/azure/openai-model.js';
import { loadConfig, loadGateConfig } from '../../shared/core/config.js';
import { createVerifier } from '../../shared/adapters/c2pa/verifier.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

const DAY = 86_400_000;

/** One edit from the emulator, its image bytes as Azure would hand them back. */
async function editFrom(emulator: Emulator): Promise<Buffer> {
  const config = loadConfig({
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    AZURE_OPENAI_ENDPOINT: emulator.url,
    AZURE_OPENAI_API_KEY: emulator.apiKey,
  }).model;
  const model = await createImageModel(config);
  const png = (bytes: Buffer) => new Blob([new Uint8Array(bytes)], { type: 'image/png' });
  let image = Buffer.alloc(0);
  const outcome = await model.edit({
    image: png(await gradientImage(256, 256)),
    imageName: 'photo.png',
    mask: png(await rectMask(256, 256, { x: 64, y: 64, width: 64, height: 64 })),
    request: { prompt: 'a red kite', promptSource: 'sidecar', size: '1024x1024', quality: 'low', outputFormat: 'png' },
    clientRequestId: 'aged-1',
    output: async (parts) => {
      const chunks: Buffer[] = [];
      for await (const part of parts) chunks.push(part);
      image = Buffer.concat(chunks);
      return {
        bytes: image.length,
        sha256: createHash('sha256').update(image).digest('hex'),
        commit: () => Promise.reject(new Error('not staged')),
      };
    },
  });
  expect(outcome.kind).toBe('ok');
  return image;
}

describe('the expired identity', () => {
  it('is shaped like Microsoft’s: a one-year RSA leaf under an SCD Claimants RSA CA, expired, signing inside its year', async () => {
    const identity = await createExpiredIdentity();
    const [leaf, intermediate] = identity.signer.chain.map((der) => new X509Certificate(Buffer.from(der)));
    expect(intermediate!.subject).toMatch(/SCD Claimants RSA CA - not Microsoft/);
    expect(leaf!.publicKey.asymmetricKeyType).toBe('rsa');
    expect(Date.parse(leaf!.validTo) - Date.parse(leaf!.validFrom)).toBe(365 * DAY);
    expect(Date.now() - Date.parse(leaf!.validTo)).toBeGreaterThanOrEqual(EXPIRED_LEAF.expiredDaysAgo * DAY - 60_000);
    const signedAt = identity.signedAt!.getTime();
    expect(signedAt > Date.parse(leaf!.validFrom) && signedAt < Date.parse(leaf!.validTo)).toBe(true);
  });
});

describe('through the emulator and the gate', () => {
  const emulators: Emulator[] = [];
  afterAll(async () => {
    for (const e of emulators) await e.close();
  });
  const verdictFor = async (timestamp: boolean) => {
    const emulator = await startTestEmulator({ signer: 'expired', timestamp });
    emulators.push(emulator);
    const verifier = await createVerifier(loadGateConfig({}), undefined, { extraPems: [emulator.caPem] });
    return verifier.verify(await editFrom(emulator), { file: 'aged.png' });
  };

  it('a time-stamped output signed inside the leaf’s year publishes after the leaf expired', async () => {
    const report = await verdictFor(true);
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('publish');
    // Signed (by the time-stamp's word) months ago, inside the leaf's year.
    const signedAt = Date.parse(report.manifest!.signer!.signedAt!);
    expect(Math.round((Date.now() - signedAt) / DAY)).toBe(EXPIRED_LEAF.signedDaysAgo);
    expect(report.manifest!.signer!.timestampAuthority).toMatch(/emulator time-stamping/);
    expect(report.manifest?.softwareAgent).toBe('Azure OpenAI ImageGen');
  });

  it('an untimestamped output whose leaf has expired is quarantined', async () => {
    const report = await verdictFor(false);
    expect(report.verdict).toBe('quarantine');
    expect(report.validation.failures.map((f) => f.code)).toContain('signingCredential.expired');
  });
});

describe('in a fresh edit through the local runtime', () => {
  let p: TestPipeline;
  beforeAll(async () => {
    p = await startTestPipeline({ emulator: { signer: 'expired', timestamp: true } });
  });
  afterAll(() => p.close());

  it('a back-dated signature is quarantined: it was not made during this edit', async () => {
    await p.upload('aged/a.png', await gradientImage(256, 256));
    await p.upload('aged/a.mask.png', await rectMask(256, 256, { x: 64, y: 64, width: 64, height: 64 }));
    const job = await p.settled('aged/a', 60_000);
    expect(job.state).toBe('quarantined');
    const report = JSON.parse(
      (await p.runtime.containers.quarantine.getBlobClient('aged/a.provenance.json').downloadToBuffer()).toString(
        'utf8',
      ),
    ) as { reasons: string[] };
    expect(report.reasons.join('\n')).toMatch(/signed at .* \(trusted time-stamp\); the edit ran/);
  }, 120_000);
});
