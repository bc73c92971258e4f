/**
 * The publisher's claim signer: a certificate chain and an operation that signs bytes with the chain's
 * leaf key. Two implementations: a private key on this machine (local mode), and a key in Azure Key Vault
 * (./key-vault-signer.ts), where the key never leaves the vault.
 */
import { constants, createPrivateKey, sign as nodeSign, X509Certificate, type KeyObject } from 'node:crypto';
import { type PublisherAlg, type PublisherSigner } from '../../ports/publisher.js';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The DER certificates of a PEM text, in order. */
export function chainFromPem(pem: string): Uint8Array[] {
  return (pem.match(PEM_CERT) ?? []).map((block) => new Uint8Array(new X509Certificate(block).raw));
}

export function algForKey(key: KeyObject): PublisherAlg {
  if (key.asymmetricKeyType === 'rsa') return 'ps256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'es256';
  throw new Error(`the publisher key must be RSA or EC P-256, not ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** A signer whose private key is in this process (the local CA's leaf, or a test's key). */
/** A signer whose key object is in this process: `chain` in DER, the signer's certificate first. */
export function keySigner(key: KeyObject, chain: Uint8Array[], describe = 'local key'): PublisherSigner {
  const alg = algForKey(key);
  return {
    alg,
    chain,
    describe,
    async sign(data) {
      // PS256: RSASSA-PSS with SHA-256, MGF1 SHA-256 and a 32-byte salt (RFC 8230 section 2).
      return alg === 'ps256'
        ? nodeSign('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 })
        : nodeSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
    },
  };
}

export function localSigner(keyPem: string, chainPem: string, describe = 'local key'): PublisherSigner {
  const key = createPrivateKey(keyPem);
  const chain = chainFromPem(chainPem);
  if (!chain.length) throw new Error('the publisher certificate chain holds no certificate');
  const leaf = new X509Certificate(chain[0]!);
  if (!leaf.checkPrivateKey(key)) throw new Error("the publisher key does not belong to the chain's first certificate");
  return keySigner(key, chain, describe);
}
