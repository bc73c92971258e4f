/**
 * The claim signer, read exactly where c2pa-rs 0.91 reads it: the certificate chain under COSE label 33
 * or text key "x5chain" in the protected header (whichever it meets first), and in the unprotected
 * header under "x5chain" only. A second reader that looks elsewhere is how a gate gets fooled (a decoy
 * certificate where only the gate looks), so every layout where two readers could disagree is refused
 * here: a header holding both keys, or any chain in the unprotected header (which no signature covers;
 * Microsoft's and this pipeline's signers put it in the protected header under 33). RFC 9052, RFC 9360.
 */
import { constants, type KeyObject, verify, type X509Certificate } from 'node:crypto';
import { type CborValue, decodeCbor, encodeCbor } from './cbor.js';

const LABEL_ALG = 1;
const LABEL_X5CHAIN = 33;
const TEXT_X5CHAIN = 'x5chain';

export interface CoseSign1 {
  protectedBytes: Uint8Array;
  protectedHeader: Map<CborValue, CborValue>;
  unprotectedHeader: Map<CborValue, CborValue>;
  signature: Uint8Array;
}

export class SignerReadingError extends Error {}

/** The four parts of a (tagged or untagged) COSE_Sign1. */
export function coseSign1Parts(value: CborValue): CoseSign1 {
  const sign1 = value && typeof value === 'object' && 'tag' in value ? value.value : value;
  if (!Array.isArray(sign1) || sign1.length !== 4 || !(sign1[0] instanceof Uint8Array)) {
    throw new SignerReadingError('the claim signature is not a COSE_Sign1');
  }
  const protectedHeader = sign1[0].length ? decodeCbor(sign1[0]) : new Map<CborValue, CborValue>();
  const [, unprotected, , signature] = sign1;
  if (!(protectedHeader instanceof Map) || !(unprotected instanceof Map) || !(signature instanceof Uint8Array)) {
    throw new SignerReadingError('the claim signature is not a COSE_Sign1');
  }
  return { protectedBytes: sign1[0], protectedHeader, unprotectedHeader: unprotected, signature };
}

function asChain(value: CborValue): Uint8Array[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((c): c is Uint8Array => c instanceof Uint8Array)) {
    throw new SignerReadingError('the certificate chain in the claim signature is not a list of certificates');
  }
  return list;
}

/** The signer's certificate chain (leaf first), from the one place c2pa-rs takes it; throws with why not. */
export function claimSignerChain(sign1: CoseSign1): Uint8Array[] {
  const { protectedHeader: p, unprotectedHeader: u } = sign1;
  if (p.has(LABEL_X5CHAIN) && p.has(TEXT_X5CHAIN)) {
    throw new SignerReadingError(
      'the signature names its certificate twice (COSE label 33 and "x5chain"), so readers can disagree about who signed',
    );
  }
  if (u.has(LABEL_X5CHAIN) || u.has(TEXT_X5CHAIN)) {
    throw new SignerReadingError(
      'the signature carries a certificate chain in its unprotected header, which the signature does not cover',
    );
  }
  const chain = p.get(LABEL_X5CHAIN) ?? p.get(TEXT_X5CHAIN);
  if (chain === undefined) throw new SignerReadingError('the claim signature carries no certificate chain');
  return asChain(chain);
}

/** COSE algorithm identifiers (RFC 9053, RFC 8230) as node:crypto verifies them. */
const ALGORITHMS: Record<number, { hash: string; pss?: true; ec?: true }> = {
  [-7]: { hash: 'sha256', ec: true },
  [-35]: { hash: 'sha384', ec: true },
  [-36]: { hash: 'sha512', ec: true },
  [-37]: { hash: 'sha256', pss: true },
  [-38]: { hash: 'sha384', pss: true },
  [-39]: { hash: 'sha512', pss: true },
};
const SALT = { sha256: 32, sha384: 48, sha512: 64 } as Record<string, number>;

/**
 * Whether the claim's COSE_Sign1 signature verifies with `key` (Sig_structure per RFC 9052 4.4: the
 * detached payload is the claim's stored CBOR). EdDSA (-8) and unknown algorithms are not verified.
 */
export function claimSignatureVerifies(sign1: CoseSign1, claimBytes: Uint8Array, key: KeyObject): boolean {
  const alg = sign1.protectedHeader.get(LABEL_ALG);
  const toBeSigned = encodeCbor(['Signature1', sign1.protectedBytes, new Uint8Array(0), claimBytes]);
  if (alg === -8) return verify(null, toBeSigned, key, sign1.signature);
  const known = typeof alg === 'number' ? ALGORITHMS[alg] : undefined;
  if (!known) return false;
  try {
    return verify(
      known.hash,
      toBeSigned,
      known.pss
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: SALT[known.hash]! }
        : { key, dsaEncoding: 'ieee-p1363' },
      sign1.signature,
    );
  } catch {
    return false;
  }
}

/** The c2pa-rs report of a manifest's signer (`signature_info`). */
export interface ReportedSigner {
  issuer?: string | null;
  common_name?: string | null;
  cert_serial_number?: string | null;
}

const rdn = (name: string, key: string) => new RegExp(`(?:^|\\n)${key}=([^\\n]+)`).exec(name)?.[1] ?? null;

/**
 * Why the leaf read here is not the signer c2pa-rs reported (serial number, common name, organisation),
 * or null when they agree. c2pa-rs reports the serial in decimal.
 */
export function signerDisagreement(leaf: X509Certificate, reported: ReportedSigner | undefined): string | null {
  const serial = BigInt(`0x${leaf.serialNumber}`).toString();
  const shown = `${rdn(leaf.subject, 'CN') ?? 'an unnamed certificate'} (serial ${serial})`;
  if (!reported?.cert_serial_number) return `c2pa-rs reported no signer certificate, while the file names ${shown}`;
  const said = `${reported.common_name ?? 'an unnamed certificate'} (serial ${reported.cert_serial_number})`;
  // c2pa-rs's "issuer" is the leaf's own subject organisation (measured with 0.91: O differing from the issuer's).
  const agree =
    reported.cert_serial_number === serial &&
    (reported.common_name ?? null) === rdn(leaf.subject, 'CN') &&
    (reported.issuer ?? null) === rdn(leaf.subject, 'O');
  return agree ? null : `c2pa-rs verified a signature by ${said}, but the certificate the file names is ${shown}`;
}

export const spkiOf = (cert: X509Certificate) => cert.publicKey.export({ type: 'spki', format: 'der' });
