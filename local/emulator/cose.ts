/**
 * COSE_Sign1 for C2PA claim signatures (PS256 for RSA keys, as Azure OpenAI signs; ES256 for P-256 keys). The wasm build of c2pa-rs hands the claim bytes to a JS signer
 * and expects the complete tagged COSE_Sign1 back (detached payload, certificate chain in the protected
 * header, padded to exactly the reserved size), so the emulator builds it here.
 */
import { constants, createHash, sign as nodeSign, type KeyObject } from 'node:crypto';

type Cbor = number | string | Uint8Array | null | Cbor[] | Map<Cbor, Cbor> | { tag: number; value: Cbor };

function head(major: number, n: number): Uint8Array {
  if (n < 24) return Uint8Array.of((major << 5) | n);
  if (n < 0x100) return Uint8Array.of((major << 5) | 24, n);
  if (n < 0x10000) return Uint8Array.of((major << 5) | 25, n >> 8, n & 0xff);
  return Uint8Array.of((major << 5) | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** Deterministic CBOR for the few types COSE needs (definite lengths, no floats). */
export function encodeCbor(value: Cbor): Buffer {
  const parts: Uint8Array[] = [];
  const walk = (v: Cbor): void => {
    if (v === null) parts.push(Uint8Array.of(0xf6));
    else if (typeof v === 'number') {
      if (!Number.isInteger(v)) throw new TypeError('CBOR encoder supports integers only');
      parts.push(v >= 0 ? head(0, v) : head(1, -1 - v));
    } else if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8');
      parts.push(head(3, b.length), b);
    } else if (v instanceof Uint8Array) parts.push(head(2, v.length), v);
    else if (Array.isArray(v)) {
      parts.push(head(4, v.length));
      v.forEach(walk);
    } else if (v instanceof Map) {
      parts.push(head(5, v.size));
      for (const [k, x] of v) {
        walk(k);
        walk(x);
      }
    } else {
      parts.push(head(6, v.tag));
      walk(v.value);
    }
  };
  walk(value);
  return Buffer.concat(parts);
}

// RFC 9053 / RFC 8230 algorithm identifiers.
const COSE_ALG_ES256 = -7;
const COSE_ALG_PS256 = -37;
const COSE_HEADER_ALG = 1;
const COSE_HEADER_X5CHAIN = 33;
const COSE_SIGN1_TAG = 18;

export interface CoseSigningIdentity {
  key: KeyObject;
  /** DER certificates, signer first. */
  chain: Uint8Array[];
  /** RFC 3161 TimeStampToken for the signature, when the signer has a time-stamp authority. */
  timestamp?: (imprint: Buffer) => Uint8Array;
}

/**
 * Signs `payload` (the claim) and returns the tagged COSE_Sign1, exactly `size` bytes long.
 * With a time-stamp authority the unprotected header carries a v2 `sigTst2` token over the signature.
 */
export function coseSign1(identity: CoseSigningIdentity, payload: Uint8Array, size: number): Uint8Array {
  const x5chain = identity.chain.length === 1 ? identity.chain[0]! : identity.chain;
  const rsa = identity.key.asymmetricKeyType === 'rsa';
  const alg = rsa ? COSE_ALG_PS256 : COSE_ALG_ES256;
  const protectedBytes = encodeCbor(new Map<Cbor, Cbor>([[COSE_HEADER_ALG, alg], [COSE_HEADER_X5CHAIN, x5chain]]));
  const toBeSigned = encodeCbor(['Signature1', protectedBytes, new Uint8Array(0), payload]);
  // PS256: RSASSA-PSS with SHA-256, MGF1 SHA-256 and a 32-byte salt (RFC 8230 section 2).
  const signature = rsa
    ? nodeSign('sha256', toBeSigned, { key: identity.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
    : nodeSign('sha256', toBeSigned, { key: identity.key, dsaEncoding: 'ieee-p1363' });

  const unprotected = new Map<Cbor, Cbor>();
  if (identity.timestamp) {
    // C2PA v2 time-stamps countersign the signature: Sig_structure("CounterSignature", protected, h'', bstr(signature)).
    const countersigned = encodeCbor(['CounterSignature', protectedBytes, new Uint8Array(0), encodeCbor(signature)]);
    const token = identity.timestamp(createHash('sha256').update(countersigned).digest());
    unprotected.set('sigTst2', new Map<Cbor, Cbor>([['tstTokens', [new Map<Cbor, Cbor>([['val', token]])]]]));
  }
  // The pad's length prefix grows at 24, 256 and 65536 bytes, which can make one size unreachable with a
  // single pad; a second, small pad shifts the arithmetic (c2pa-rs does the same with "pad2").
  for (const pad2 of [undefined, 0, 1, 2, 3]) {
    const build = (padding: number): Buffer => {
      const header = new Map(unprotected);
      header.set('pad', new Uint8Array(padding));
      if (pad2 !== undefined) header.set('pad2', new Uint8Array(pad2));
      return encodeCbor({ tag: COSE_SIGN1_TAG, value: [protectedBytes, header, null, signature] });
    };
    let padding = Math.max(0, size - build(0).length);
    let out = build(padding);
    while (out.length > size && padding > 0) out = build(--padding);
    if (out.length === size) return out;
  }
  throw new Error(`COSE signature does not fit the reserved size of ${size} bytes`);
}
