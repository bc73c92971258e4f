/**
 * The publisher: who signs the full-size composites and the gate that judges them. `adapters/signing/`
 * builds one from PUBLISHER_CERT_CHAIN and a signer (Key Vault on Azure, a local key locally), with sharp
 * to compose and c2pa-rs to sign.
 */
import type { CompositeImage, ComposeOptions } from '../core/composite/composite-image.js';
import type { CompositeBinding } from '../core/provenance/composite-binding.js';
import type { CompositeVerifier } from './verifier.js';

export type PublisherAlg = 'es256' | 'ps256';

export interface PublisherSigner {
  alg: PublisherAlg;
  /** DER certificates, the signer's first; the root travels only as a verifier's trust anchor. */
  chain: Uint8Array[];
  /** Signs `data` (the COSE Sig_structure): ES256 as raw r‖s, PS256 as RSASSA-PSS with a 32-byte salt. */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** Where the key lives, for logs and reports ("local key …", "Key Vault key …"). */
  describe: string;
}

/** One file that goes into the publisher's manifest: the composite itself or one of its ingredients. */
export interface CompositePart {
  bytes: Uint8Array;
  mime: string;
  title: string;
}

export interface Publisher {
  signer: PublisherSigner;
  verifier: CompositeVerifier;
  /** The photo at its own size with the edit composited into the mask. */
  compose(photo: Uint8Array, mask: Uint8Array, edit: Uint8Array, options?: ComposeOptions): Promise<CompositeImage>;
  /** The composite with the publisher's manifest embedded and signed, crediting the photo and the edit. */
  sign(
    composite: CompositePart,
    original: CompositePart,
    edit: CompositePart,
    when: Date,
    binding?: CompositeBinding,
  ): Promise<Uint8Array>;
}
