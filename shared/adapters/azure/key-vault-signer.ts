/**
 * The publisher's signer on Azure: the key is an Azure Key Vault key that never leaves the vault. The
 * function's managed identity (role "Key Vault Crypto User") calls the vault's `sign` operation on the
 * SHA-256 digest of the COSE Sig_structure; ES256 comes back as raw r‖s and PS256 as RSASSA-PSS, both
 * what COSE expects (Key Vault REST "Sign": https://learn.microsoft.com/rest/api/keyvault/keys/sign/sign).
 */
import { createHash } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import { CryptographyClient, type SignatureAlgorithm } from '@azure/keyvault-keys';
import type { PublisherAlg, PublisherSigner } from '../../ports/publisher.js';

/** The one operation of `CryptographyClient` the signer needs (a test stands in for the vault with it). */
export interface DigestSigner {
  sign(algorithm: SignatureAlgorithm, digest: Uint8Array): Promise<{ result: Uint8Array }>;
}

const KEY_VAULT_ALG: Record<PublisherAlg, SignatureAlgorithm> = { es256: 'ES256', ps256: 'PS256' };

export function keyVaultSigner(
  vault: DigestSigner,
  alg: PublisherAlg,
  chain: Uint8Array[],
  keyId: string,
): PublisherSigner {
  if (!chain.length) throw new Error('the publisher certificate chain holds no certificate');
  return {
    alg,
    chain,
    describe: `Key Vault key ${keyId}`,
    async sign(data) {
      const digest = createHash('sha256').update(data).digest();
      return (await vault.sign(KEY_VAULT_ALG[alg], digest)).result;
    },
  };
}

/** The signer for a Key Vault key URL (`https://<vault>.vault.azure.net/keys/<name>[/<version>]`). */
export function keyVaultSignerFor(keyId: string, credential: TokenCredential, alg: PublisherAlg, chain: Uint8Array[]) {
  return keyVaultSigner(new CryptographyClient(keyId, credential), alg, chain, keyId);
}
