/**
 * Content Credentials shaped like Azure OpenAI's, after the real Microsoft image's ingredient manifest
 * (../shared/fixtures/c2pa/README.md): a `c2pa.actions.v2` assertion with `c2pa.created` (softwareAgent
 * "Azure OpenAI ImageGen", digitalSourceType trainedAlgorithmicMedia) and `c2pa.watermarked`, and a
 * `c2pa.soft-binding` assertion for the invisible watermark (`com.microsoft.invismark.1`). Signed PS256
 * through c2pa-rs with the emulator's chain and time-stamped by its TSA (unless told not to), at the
 * identity's signing time.
 */
import { randomUUID } from 'node:crypto';
import { BytesBlob, installFileReaderSync, loadC2pa } from '../../shared/adapters/c2pa/c2pa-wasm.js';
import { coseSign1 } from '../../shared/adapters/signing/cose.js';
import { keySigner } from '../../shared/adapters/signing/local-signer.js';
import type { EmulatorIdentity } from './identity.js';
import { timeStampToken } from './tsa.js';

export const SOFTWARE_AGENT = 'Azure OpenAI ImageGen';
export const WATERMARK_AGENT = 'Microsoft Responsible AI Provenance';
export const TRAINED_ALGORITHMIC_MEDIA = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
export const SOFT_BINDING_ALG = 'com.microsoft.invismark.1';

export type SignableFormat = 'image/png' | 'image/jpeg' | 'image/webp';

export interface SignOptions {
  format: SignableFormat;
  title: string;
  /** The moment the image was made; defaults to now. */
  when?: Date;
  /** Time-stamp the signature (as Azure does); default true. */
  timestamp?: boolean;
  /** Override the action, e.g. to forge credentials in tests. */
  softwareAgent?: string;
  digitalSourceType?: string;
}

/**
 * The soft binding exactly as Azure writes it: `region` nested one level too deep, a string `value` and
 * an array `pad`. c2pa-rs (0.91 and 0.92) cannot decode that and reports `claim.malformed` on
 * `c2pa.soft-binding` for every real Azure image; the gate tolerates exactly that, so the emulator must
 * produce it too.
 */
function softBinding(watermarkId: string) {
  const wholeImage = { type: 'rectangle', unit: 'percentage', width: 100, height: 100, origin: { x: 0, y: 0 } };
  return {
    alg: SOFT_BINDING_ALG,
    pad: [],
    blocks: [{ scope: { region: { region: [{ type: 'spatial', shape: wholeImage }] } }, value: watermarkId }],
  };
}

export function azureShapedManifest(options: SignOptions) {
  const when = (options.when ?? new Date()).toISOString();
  return {
    claim_generator_info: [{ name: 'gpt-image-emulator', version: '2.0' }],
    title: options.title,
    format: options.format,
    instance_id: `xmp:iid:${randomUUID()}`,
    assertions: [
      {
        label: 'c2pa.actions.v2',
        data: {
          actions: [
            {
              action: 'c2pa.created',
              when,
              softwareAgent: { name: options.softwareAgent ?? SOFTWARE_AGENT },
              digitalSourceType: options.digitalSourceType ?? TRAINED_ALGORITHMIC_MEDIA,
              description: 'Generated with AI',
            },
            {
              action: 'c2pa.watermarked',
              when,
              softwareAgent: { name: WATERMARK_AGENT, version: '1.0' },
              description: 'Content watermarked by the local emulator (no real watermark)',
            },
          ],
          allActionsIncluded: true,
        },
      },
      { label: 'c2pa.soft-binding', data: softBinding(randomUUID()) },
    ],
  };
}

// Room for the RSA signature, the leaf and intermediate certificates and the time-stamp token, with margin.
const RESERVE_SIZE = 10_240;

export async function signImage(
  identity: EmulatorIdentity,
  bytes: Uint8Array,
  options: SignOptions,
): Promise<Uint8Array> {
  const c2pa = await loadC2pa();
  installFileReaderSync();
  const signedAt = identity.signedAt;
  const manifest = azureShapedManifest({ ...options, when: options.when ?? signedAt });
  const stamp = (imprint: Uint8Array) => timeStampToken(identity.tsa, imprint, signedAt);
  // Verifying right after signing would need the emulator's CA in c2pa-rs's trust settings; callers verify.
  const builder = c2pa.WasmBuilder.fromJson(
    JSON.stringify(manifest),
    JSON.stringify({ verify: { verify_after_sign: false } }),
  );
  try {
    const signer = {
      alg: 'ps256',
      reserveSize: RESERVE_SIZE,
      sign: async (claim: Uint8Array) =>
        (await coseSign1(
          keySigner(identity.signer.key, identity.signer.chain, 'emulator signer'),
          claim,
          RESERVE_SIZE,
          options.timestamp === false ? undefined : stamp,
        )) as Uint8Array<ArrayBuffer>,
    };
    return await builder.sign(signer, [], options.format, new BytesBlob(bytes));
  } finally {
    builder.free();
  }
}
