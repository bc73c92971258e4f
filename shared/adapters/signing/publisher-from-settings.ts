/**
 * The publisher as the runtime holds it: the signer of composites and the gate that judges them, from
 * PUBLISHER_CERT_CHAIN and PUBLISHER_SIGNER (Key Vault, through the app's managed identity), or from a
 * signer handed in by the local runtime. No chain configured: no publisher, and composites are not made.
 */
import { X509Certificate } from 'node:crypto';
import { composeFullSize } from '../imaging/compose.js';
import { signComposite } from '../c2pa/composite-manifest.js';
import type { CompositeVerifier } from '../../ports/verifier.js';
import type { PipelineConfig } from '../../core/config.js';
import { azureCredential } from '../azure/credential.js';
import type { StorageClients } from '../azure/storage.js';
import { createCompositeVerifier } from '../c2pa/composite-gate.js';
import { loadExtraAnchors } from '../c2pa/trust-anchors.js';
import { keyVaultSignerFor } from '../azure/key-vault-signer.js';
import { chainFromPem } from './local-signer.js';
import { type PublisherSigner } from '../../ports/publisher.js';
import { type Publisher } from '../../ports/publisher.js';

async function loadChain(setting: string, storage: StorageClients | undefined): Promise<string> {
  try {
    return await loadExtraAnchors(setting, storage);
  } catch (err) {
    throw new Error(`PUBLISHER_CERT_CHAIN: ${(err as Error).message.replace(/^EXTRA_TRUST_ANCHORS:?\s*/, '')}`);
  }
}

export async function createPublisher(
  config: PipelineConfig,
  storage: StorageClients | undefined,
  localSigner?: PublisherSigner,
): Promise<Publisher | undefined> {
  const { publisherChain, publisherKeyId } = config.output;
  if (!publisherChain) return undefined;
  const chainPem = await loadChain(publisherChain, storage);
  let signer = localSigner;
  if (!signer && publisherKeyId) {
    const chain = chainFromPem(chainPem);
    const keyType = new X509Certificate(chain[0]!).publicKey.asymmetricKeyType;
    const credential = await azureCredential(config.model.clientId);
    signer = keyVaultSignerFor(publisherKeyId, credential, keyType === 'rsa' ? 'ps256' : 'es256', chain);
  }
  if (!signer) return undefined;
  return publisherOf(signer, await createCompositeVerifier(config.gate, chainPem, storage));
}

/** A publisher that composes with sharp and signs with c2pa-rs, as `signer`, judged by `verifier`. */
export function publisherOf(signer: PublisherSigner, verifier: CompositeVerifier): Publisher {
  return {
    signer,
    verifier,
    compose: composeFullSize,
    sign: (composite, original, edit, when, binding) => signComposite(signer, composite, original, edit, when, binding),
  };
}
