/**
 * What the manifest store's own bytes say, checked without c2pa-rs: each claim signer's certificate
 * profile, and whether each ingredient's manifest (and claim signature) still hashes to what the
 * manifest that holds it recorded. c2pa-rs 0.91 can lose an ingredient hash failure (see README,
 * "The provenance gate"), so the gate credits an ingredient only when this recomputation agrees.
 */
import { createHash } from 'node:crypto';
import { type CborValue, field } from './cbor.js';
import { coseLeafCertificate, type SignerProfile, signerProfile } from './certificate-profile.js';
import { readManifestStore, type ManifestBoxes } from './jumbf.js';

export type HashCheck = 'match' | 'mismatch' | 'absent';

export interface IngredientEvidence {
  /** The manifest label the ingredient's hashed URI points at, when it points into this store. */
  manifest: string | null;
  manifestHash: HashCheck;
  /** v3 ingredients also hash the ingredient's claim signature box. */
  signatureHash: HashCheck;
}

export interface ManifestEvidence {
  signer: { ok: true; profile: SignerProfile } | { ok: false; error: string };
  /** By exact assertion label (`c2pa.ingredient.v3__1`). */
  ingredients: Map<string, IngredientEvidence>;
}

export type ByteEvidence = { ok: true; manifests: Map<string, ManifestEvidence> } | { ok: false; error: string };

const HASHES: Record<string, string> = { sha256: 'sha256', sha384: 'sha384', sha512: 'sha512' };
const MANIFEST_URI = /^self#jumbf=\/c2pa\/([^/]+)$/;

export function readByteEvidence(jumbf: Uint8Array): ByteEvidence {
  let store: Map<string, ManifestBoxes>;
  try {
    store = readManifestStore(jumbf);
  } catch (err) {
    return { ok: false, error: `the manifest store's bytes could not be parsed: ${(err as Error).message}` };
  }
  const manifests = new Map<string, ManifestEvidence>();
  for (const [label, m] of store) {
    const ingredients = new Map<string, IngredientEvidence>();
    for (const [assertion, data] of m.assertions) {
      if (assertion.startsWith('c2pa.ingredient'))
        ingredients.set(assertion, ingredientEvidence(data, field(m.claim, 'alg'), store));
    }
    manifests.set(label, { signer: signerOf(m), ingredients });
  }
  return { ok: true, manifests };
}

function signerOf(m: ManifestBoxes): ManifestEvidence['signer'] {
  try {
    return { ok: true, profile: signerProfile(coseLeafCertificate(m.signature)) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function ingredientEvidence(
  data: CborValue,
  claimAlg: CborValue,
  store: Map<string, ManifestBoxes>,
): IngredientEvidence {
  const ref = field(data, 'activeManifest') ?? field(data, 'c2pa_manifest');
  const url = field(ref, 'url');
  const target = typeof url === 'string' ? MANIFEST_URI.exec(url)?.[1] : undefined;
  const manifest = target !== undefined ? store.get(target) : undefined;
  if (!manifest) return { manifest: null, manifestHash: 'absent', signatureHash: 'absent' };
  const alg = field(ref, 'alg') ?? claimAlg ?? 'sha256';
  const compare = (hashed: CborValue, bytes: Uint8Array): HashCheck => {
    const expected = field(hashed, 'hash');
    const name = typeof alg === 'string' ? HASHES[alg] : undefined;
    if (!(expected instanceof Uint8Array) || !name) return 'absent';
    return Buffer.from(expected).equals(createHash(name).update(bytes).digest()) ? 'match' : 'mismatch';
  };
  const signature = field(data, 'claimSignature');
  return {
    manifest: manifest.label,
    manifestHash: compare(ref, manifest.payload),
    signatureHash: signature === undefined ? 'absent' : compare(signature, manifest.signaturePayload),
  };
}
