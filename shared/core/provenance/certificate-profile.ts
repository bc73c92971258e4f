/**
 * The C2PA certificate profile of a claim signer, read from the leaf of the COSE x5chain (cose-signer.ts). c2pa-rs is
 * given one EKU list for claim signers and time-stamp authorities alike (so that time-stamps validate),
 * which lets a TSA or OCSP certificate sign claims; this check closes that. C2PA 2.x, "Certificate
 * profile": the signer needs the digitalSignature key usage and a claim-signing EKU, and must not be
 * a time-stamping or OCSP-signing certificate, nor a certificate authority.
 */
export const CLAIM_SIGNING_EKUS: Record<string, string> = {
  '1.3.6.1.5.5.7.3.36': 'documentSigning',
  '1.3.6.1.4.1.62558.2.1': 'C2PA claim signing',
  '1.3.6.1.4.1.311.76.59.1.9': 'Microsoft C2PA signing',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
};
const NEVER_CLAIM_SIGNING_EKUS: Record<string, string> = {
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
  '1.3.6.1.5.5.7.3.9': 'OCSPSigning',
};

export interface SignerProfile {
  ekus: string[] | null;
  /** The keyUsage bits, or null when the extension is absent. */
  digitalSignature: boolean | null;
  /** basicConstraints cA: a certificate authority's certificate is not an end entity that signs claims. */
  isCa: boolean;
}

interface Der {
  tag: number;
  content: Uint8Array;
  end: number;
}

function readDer(bytes: Uint8Array, at: number): Der {
  if (at + 2 > bytes.length) throw new Error('DER ends early');
  const tag = bytes[at]!;
  let length = bytes[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || start + n > bytes.length) throw new Error('bad DER length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + bytes[start + i]!;
    start += n;
  }
  if (start + length > bytes.length) throw new Error('DER value runs past the end');
  return { tag, content: bytes.subarray(start, start + length), end: start + length };
}

function children(bytes: Uint8Array): Der[] {
  const out: Der[] = [];
  for (let at = 0; at < bytes.length;) {
    const d = readDer(bytes, at);
    out.push(d);
    at = d.end;
  }
  return out;
}

function oidText(content: Uint8Array): string {
  const parts: number[] = [Math.floor(content[0]! / 40), content[0]! % 40];
  let value = 0;
  for (const b of content.subarray(1)) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** EKU and keyUsage of a DER certificate. Throws on a malformed certificate. */
export function signerProfile(der: Uint8Array): SignerProfile {
  const [cert] = children(der);
  const [tbs] = children(cert!.content);
  const extensions = children(tbs!.content).find((d) => d.tag === 0xa3);
  const profile: SignerProfile = { ekus: null, digitalSignature: null, isCa: false };
  if (!extensions) return profile;
  for (const ext of children(children(extensions.content)[0]!.content)) {
    const parts = children(ext.content);
    const id = oidText(parts[0]!.content);
    const value = parts[parts.length - 1]!.content;
    if (id === '2.5.29.37') profile.ekus = children(children(value)[0]!.content).map((d) => oidText(d.content));
    if (id === '2.5.29.19') {
      const [first] = children(children(value)[0]!.content); // BasicConstraints: cA BOOLEAN DEFAULT FALSE first
      profile.isCa = first?.tag === 0x01 && first.content[0] !== 0;
    }
    if (id === '2.5.29.15') {
      const bits = readDer(value, 0).content; // BIT STRING: unused-bits byte, then the bits, most significant first
      profile.digitalSignature = bits.length > 1 && (bits[1]! & 0x80) !== 0;
    }
  }
  return profile;
}

/** Why a claim signer's certificate may not sign claims, or null when it fits the profile. */
export function profileProblem(profile: SignerProfile): string | null {
  if (!profile.ekus) return 'it has no extended key usage, so nothing says it may sign claims';
  const forbidden = profile.ekus.filter((e) => e in NEVER_CLAIM_SIGNING_EKUS).map((e) => NEVER_CLAIM_SIGNING_EKUS[e]);
  if (forbidden.length) return `it is a ${forbidden.join(' and ')} certificate, which never signs claims`;
  if (!profile.ekus.some((e) => e in CLAIM_SIGNING_EKUS)) {
    return `its extended key usages (${profile.ekus.join(', ') || 'none'}) include no claim-signing EKU`;
  }
  if (profile.digitalSignature !== true) return 'its key usage lacks digitalSignature';
  if (profile.isCa) return 'it is a certificate authority (basicConstraints cA), not an end-entity signer';
  return null;
}
