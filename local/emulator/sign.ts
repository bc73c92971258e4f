/**
 * Content Credentials shaped like Azure OpenAI's: a `c2pa.actions` assertion whose `c2pa.created` action
 * names softwareAgent "Azure OpenAI ImageGen" and the trainedAlgorithmicMedia source type, signed with
 * ES256 through c2pa-rs and time-stamped by the emulator's TSA.
 */
import { randomUUID } from 'node:crypto';
import { BytesBlob, installFileReaderSync, loadC2pa } from '../../shared/adapters/c2pa.js';
import { coseSign1 } from './cose.js';
import type { EmulatorIdentity } from './identity.js';
import { timeStampToken } from './tsa.js';

export const SOFTWARE_AGENT = 'Azure OpenAI ImageGen';
export const TRAINED_ALGORITHMIC_MEDIA = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';

export type SignableFormat = 'image/png' | 'image/jpeg' | 'image/webp';

export interface SignOptions {
  format: SignableFormat;
  title: string;
  /** The moment the image was made; defaults to now. */
  when?: Date;
  /** Override the action, e.g. to forge credentials in tests. */
  softwareAgent?: string;
  digitalSourceType?: string;
}

// Room for the signature, the two-certificate chain and the time-stamp token, with margin.
const RESERVE_SIZE = 10_240;

export async function signImage(identity: EmulatorIdentity, bytes: Uint8Array, options: SignOptions): Promise<Uint8Array> {
  const c2pa = await loadC2pa();
  installFileReaderSync();
  const when = options.when ?? new Date();
  const manifest = {
    claim_generator_info: [{ name: 'imagegen-pipeline gpt-image-1 emulator', version: '1.0' }],
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
              when: when.toISOString(),
              softwareAgent: { name: options.softwareAgent ?? SOFTWARE_AGENT },
              digitalSourceType: options.digitalSourceType ?? TRAINED_ALGORITHMIC_MEDIA,
              description: 'AI Generated Image',
            },
          ],
        },
      },
    ],
  };
  // Verifying right after signing would need the emulator's CA in c2pa-rs's trust settings; callers verify.
  const builder = c2pa.WasmBuilder.fromJson(JSON.stringify(manifest), JSON.stringify({ verify: { verify_after_sign: false } }));
  try {
    const signer = {
      alg: 'es256',
      reserveSize: RESERVE_SIZE,
      sign: async (claim: Uint8Array) =>
        coseSign1(
          {
            key: identity.signer.key,
            chain: [identity.signer.certificate],
            timestamp: (imprint) => timeStampToken(identity.tsa, imprint),
          },
          claim,
          RESERVE_SIZE,
        ) as Uint8Array<ArrayBuffer>,
    };
    return await builder.sign(signer, [], options.format, new BytesBlob(bytes));
  } finally {
    builder.free();
  }
}
