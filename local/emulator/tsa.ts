/**
 * A local RFC 3161 time-stamp authority. Azure's images carry a trusted time-stamp (which is where a
 * verifier learns the signing time) from a TSA under its own root; the emulator's do too, from a TSA
 * certificate under the emulator's separate time-stamping root.
 */
import { createHash, randomBytes, sign as nodeSign, type KeyObject } from 'node:crypto';
import {
  certificateIssuerAndSerial,
  explicit,
  generalizedTime,
  implicitSet,
  integer,
  octets,
  oid,
  sequence,
  set,
} from './der.js';

const OID = {
  sha256: '2.16.840.1.101.3.4.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  // A policy arc under the documentation-only 2.999 "example" root: nobody's real TSA policy.
  policy: '2.999.1',
};

export interface TimeStampAuthority {
  key: KeyObject;
  certificate: Uint8Array;
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest();
const algorithm = (id: string) => sequence(oid(id));

/** A DER TimeStampToken (CMS SignedData over a TSTInfo) for a SHA-256 message imprint. */
export function timeStampToken(tsa: TimeStampAuthority, imprint: Uint8Array, at = new Date()): Buffer {
  const tstInfo = sequence(
    integer(1),
    oid(OID.policy),
    sequence(algorithm(OID.sha256), octets(imprint)),
    integer(randomBytes(8)),
    generalizedTime(at),
    sequence(integer(1)), // accuracy: one second
  );
  const attributes = [
    sequence(oid(OID.contentType), set(oid(OID.tstInfo))),
    sequence(oid(OID.signingTime), set(generalizedTime(at))),
    sequence(oid(OID.messageDigest), set(octets(sha256(tstInfo)))),
    // ESS signing-certificate-v2: binds the signer certificate (hash algorithm defaults to SHA-256).
    sequence(oid(OID.signingCertificateV2), set(sequence(sequence(sequence(octets(sha256(tsa.certificate))))))),
  ];
  // The signature covers the attributes encoded as a SET OF; they travel as [0] IMPLICIT.
  const signature = nodeSign('sha256', set(...attributes), tsa.key);
  const { issuer, serial } = certificateIssuerAndSerial(tsa.certificate);
  const signerInfo = sequence(
    integer(1),
    sequence(issuer, integer(serial)),
    algorithm(OID.sha256),
    implicitSet(0, ...attributes),
    // sha256WithRSAEncryption carries explicit NULL parameters (RFC 4055); ECDSA's carry none.
    tsa.key.asymmetricKeyType === 'rsa'
      ? sequence(oid(OID.sha256WithRsa), Buffer.of(0x05, 0x00))
      : algorithm(OID.ecdsaWithSha256),
    octets(signature),
  );
  const signedData = sequence(
    integer(3),
    set(algorithm(OID.sha256)),
    sequence(oid(OID.tstInfo), explicit(0, octets(tstInfo))),
    implicitSet(0, Buffer.from(tsa.certificate)),
    set(signerInfo),
  );
  return sequence(oid(OID.signedData), explicit(0, signedData));
}
