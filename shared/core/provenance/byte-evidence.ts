/**
 * What the manifest store's own bytes say, checked without c2pa-rs: each claim signer (read where
 * c2pa-rs reads it, see cose-signer.ts) and its certificate profile, each manifest's actions and hard
 * binding exclusions as stored, each ingredient's relationship, and whether each ingredient's manifest (and claim signature) still hashes to what the
 * manifest that holds it recorded. c2pa-rs 0.91 can lose an ingredient hash failure (see README,
 * "The provenance gate"), so the gate credits an ingredient only when this recomputation agrees.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { actionsOf, type NamedAction } from './actions.js';
import { type CborValue, field } from './cbor.js';
import { type SignerProfile, signerProfile } from './certificate-profile.js';
import type { Range } from './container.js';
import { claimSignerChain, type CoseSign1, coseSign1Parts } from './cose-signer.js';
import { readManifestStore, type ManifestBoxes } from './jumbf.js';

export type HashCheck = 'match' | 'mismatch' | 'absent';

export interface IngredientEvidence {
  /** The manifest label the ingredient's hashed URI points at, when it points into this store. */
  manifest: string | null;
  /** As stored: `parentOf`, `componentOf`, `inputTo`, … */
  relationship: string | null;
  manifestHash: HashCheck;
  /** v3 ingredients also hash the ingredient's claim signature box. */
  signatureHash: HashCheck;
}

export interface SignerEvidence {
  ok: true;
  /** Leaf first, from the one place c2pa-rs takes it. */
  leaf: X509Certificate;
  profile: SignerProfile;
  sign1: CoseSign1;
  /** The claim's stored CBOR, the payload the signature covers. */
  claimBytes: Uint8Array;
}

export interface ManifestEvidence {
  signer: SignerEvidence | { ok: false; error: string };
  /** By exact assertion label (`c2pa.ingredient.v3__1`). */
  ingredients: Map<string, IngredientEvidence>;
  actions: NamedAction[];
  /** The `c2pa.hash.data` exclusions as stored; null without a data hash assertion. */
  exclusions: Range[] | null;
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
    manifests.set(label, {
      signer: signerOf(m),
      ingredients,
      actions: actionsOf(m.assertions),
      exclusions: exclusionsOf(m.assertions),
    });
  }
  return { ok: true, manifests };
}

function signerOf(m: ManifestBoxes): ManifestEvidence['signer'] {
  try {
    const sign1 = coseSign1Parts(m.signature);
    const [leaf] = claimSignerChain(sign1);
    return {
      ok: true,
      leaf: new X509Certificate(leaf!),
      profile: signerProfile(leaf!),
      sign1,
      claimBytes: m.claimBytes,
    };
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
  const stated = field(data, 'relationship');
  const relationship = typeof stated === 'string' ? stated : null;
  if (!manifest) return { manifest: null, relationship, manifestHash: 'absent', signatureHash: 'absent' };
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
    relationship,
    manifestHash: compare(ref, manifest.payload),
    signatureHash: signature === undefined ? 'absent' : compare(signature, manifest.signaturePayload),
  };
}

/** The active data hash's exclusions; a malformed list reads as one no reader can match. */
function exclusionsOf(assertions: Map<string, CborValue>): Range[] | null {
  const hashes = [...assertions].filter(([label]) => /^c2pa\.hash\.data(__\d+)?$/.test(label));
  if (hashes.length === 0) return null;
  const ranges: Range[] = [];
  for (const [, data] of hashes) {
    if (!(data instanceof Map)) return [{ start: -1, length: -1 }];
    const list = field(data, 'exclusions') ?? [];
    if (!Array.isArray(list)) return [{ start: -1, length: -1 }];
    for (const item of list) {
      const start = field(item, 'start');
      const length = field(item, 'length');
      ranges.push(
        typeof start === 'number' && typeof length === 'number' ? { start, length } : { start: -1, length: -1 },
      );
    }
  }
  return ranges;
}
