import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { coseSign1 } from '../../shared/adapters/signing/cose.js';
import { keySigner } from '../../shared/adapters/signing/local-signer.js';
import { decodeCbor } from '../../shared/core/provenance/cbor.js';
import { claimSignatureVerifies, claimSignerChain, coseSign1Parts } from '../../shared/core/provenance/cose-signer.js';

const claim = Buffer.from('a claim, as its CBOR is stored');
const fakeCert = Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01);

describe("the publisher's signature, verified with the pinned key", () => {
  it.each([
    ['ES256 (an EC P-256 key)', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['PS256 (an RSA key, as Key Vault signs)', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
  ])('%s: verifies the pipeline-made COSE_Sign1, and nothing else', async (_, keys) => {
    const { privateKey, publicKey } = keys();
    const other = keys().publicKey;
    const sign1 = coseSign1Parts(decodeCbor(await coseSign1(keySigner(privateKey, [fakeCert]), claim, 4096)));
    expect(claimSignerChain(sign1).map((c) => Buffer.from(c).toString('hex'))).toEqual([
      Buffer.from(fakeCert).toString('hex'),
    ]);
    expect(claimSignatureVerifies(sign1, claim, publicKey)).toBe(true);
    expect(claimSignatureVerifies(sign1, Buffer.from('another claim'), publicKey)).toBe(false);
    expect(claimSignatureVerifies(sign1, claim, other)).toBe(false);
  });
});
