/**
 * COSE_Sign1 for C2PA claim signatures: the publisher's, the emulator's (Azure-shaped) and the tests'
 * crafted ones. c2pa-rs (wasm) hands the claim to a JS signer and expects the complete tagged COSE_Sign1
 * back: detached payload, certificate chain in protected header 33 (x5chain), padded to exactly the
 * reserved size. The signature itself comes from a `PublisherSigner`, so the private key may live
 * anywhere (a local file, or Azure Key Vault where it never leaves the vault).
 * RFC 9052 section 4.4 (Sig_structure), RFC 9360 (x5chain).
 */
import { createHash } from 'node:crypto';
import type { PublisherSigner } from '../../ports/publisher.js';

/** An RFC 3161 TimeStampToken over a SHA-256 imprint, from a time-stamp authority. */
export type TimeStamper = (imprint: Buffer) => Uint8Array;

type Cbor = number | string | Uint8Array | null | Cbor[] | Map<Cbor, Cbor> | { tag: number; value: Cbor };

function head(major: number, n: number): Uint8Array {
  if (n < 24) return Uint8Array.of((major << 5) | n);
  if (n < 0x100) return Uint8Array.of((major << 5) | 24, n);
  if (n < 0x10000) return Uint8Array.of((major << 5) | 25, n >> 8, n & 0xff);
  return Uint8Array.of((major << 5) | 26, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** Deterministic CBOR for the few types COSE needs (definite lengths, integers only). */
function encodeCbor(value: Cbor): Buffer {
  const parts: Uint8Array[] = [];
  const walk = (v: Cbor): void => {
    if (v === null) parts.push(Uint8Array.of(0xf6));
    else if (typeof v === 'number') parts.push(v >= 0 ? head(0, v) : head(1, -1 - v));
    else if (typeof v === 'string') {
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
const COSE_ALG = { es256: -7, ps256: -37 } as const;
const HEADER_ALG = 1;
const HEADER_X5CHAIN = 33;
const COSE_SIGN1_TAG = 18;

/**
 * Signs the claim through `signer` and returns the tagged COSE_Sign1, exactly `size` bytes long. With a
 * time-stamp authority the unprotected header carries a v2 `sigTst2` token over the signature.
 */
export async function coseSign1(
  signer: Pick<PublisherSigner, 'alg' | 'chain' | 'sign'>,
  claim: Uint8Array,
  size: number,
  timestamp?: TimeStamper,
): Promise<Uint8Array> {
  const x5chain: Cbor = signer.chain.length === 1 ? signer.chain[0]! : signer.chain;
  const protectedBytes = encodeCbor(
    new Map<Cbor, Cbor>([
      [HEADER_ALG, COSE_ALG[signer.alg]],
      [HEADER_X5CHAIN, x5chain],
    ]),
  );
  const toBeSigned = encodeCbor(['Signature1', protectedBytes, new Uint8Array(0), claim]);
  const signature = await signer.sign(toBeSigned);
  const unprotected = new Map<Cbor, Cbor>();
  if (timestamp) {
    // C2PA v2 time-stamps countersign the signature: Sig_structure("CounterSignature", protected, h'', bstr(signature)).
    const countersigned = encodeCbor(['CounterSignature', protectedBytes, new Uint8Array(0), encodeCbor(signature)]);
    const token = timestamp(createHash('sha256').update(countersigned).digest());
    unprotected.set('sigTst2', new Map<Cbor, Cbor>([['tstTokens', [new Map<Cbor, Cbor>([['val', token]])]]]));
  }
  // The pad's length prefix grows at 24, 256 and 65536 bytes, which can make one size unreachable with
  // a single pad; a second, small pad shifts the arithmetic (c2pa-rs does the same with "pad2").
  for (const pad2 of [undefined, 0, 1, 2, 3]) {
    const build = (padding: number): Buffer => {
      const header = new Map<Cbor, Cbor>([...unprotected, ['pad', new Uint8Array(padding)]]);
      if (pad2 !== undefined) header.set('pad2', new Uint8Array(pad2));
      return encodeCbor({ tag: COSE_SIGN1_TAG, value: [protectedBytes, header, null, signature] });
    };
    let padding = Math.max(0, size - build(0).length);
    let out = build(padding);
    while (out.length > size && padding > 0) out = build(--padding);
    if (out.length === size) return out;
  }
  throw new Error(`the COSE signature does not fit the reserved size of ${size} bytes`);
}
