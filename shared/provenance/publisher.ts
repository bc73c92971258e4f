/**
 * The gate for the pipeline's own composites, in two levels. The publisher: the active manifest is
 * signed by exactly the configured publisher certificate (pinned: its leaf, chaining to its root), says
 * `c2pa.edited` by the pipeline with `compositeWithTrainedAlgorithmicMedia`, and passes every rule of
 * the gate about itself (signature, validity, certificate profile, data hash, no other failures). The
 * Azure ingredient: judged by the ordinary gate, which does not trust the publisher's root, with
 * AGENT_SCOPE=chain logic: the allowed agent on an ingredient manifest proven on its own (signature,
 * trust, time-stamp, hashes, profile) and signed inside the job's edit window.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { PipelineConfig } from '../config.js';
import type { StorageClients } from '../adapters/storage.js';
import { sniffFormat } from '../image-header.js';
import { actionsOf } from './actions.js';
import { coseLeafCertificate } from './certificate-profile.js';
import { bindingChecks, type CompositeContext } from './edit-binding.js';
import { creditKnownEdit } from './known-edit.js';
import { readContainer } from './container.js';
import { type Check, evaluateGate, type ManifestJson, type ProvenanceReport } from './gate.js';
import { readManifestStore } from './jumbf.js';
import { certificatesIn, commonName, createVerifier, type TrustOptions } from './verifier.js';

export const PIPELINE_AGENT = 'imagegen-pipeline';
export const COMPOSITE_SOURCE_TYPE =
  'http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia';

export interface PublisherIdentity {
  /** The signer's certificate, pinned: a composite signed by any other is not the publisher's. */
  leaf: X509Certificate;
  /** The chain's self-signed root, the only anchor the publisher's own signature is checked against. */
  rootPem: string;
  name: string;
}

/** The publisher from PUBLISHER_CERT_CHAIN's PEM: leaf first, its self-signed root last. */
export function publisherIdentity(pem: string): PublisherIdentity {
  const certs = certificatesIn(pem);
  const leaf = certs[0];
  const root = certs.at(-1);
  if (!leaf || !root || certs.length < 2) {
    throw new Error('PUBLISHER_CERT_CHAIN must hold the signer certificate first and its root CA last');
  }
  if (!root.checkIssued(root) || !root.verify(root.publicKey)) {
    throw new Error(`PUBLISHER_CERT_CHAIN must end with a self-signed root; ${commonName(root)} is not one`);
  }
  return { leaf, rootPem: root.toString(), name: commonName(leaf) };
}

/** The active manifest's claim signer certificate, read from the file's own bytes. */
function activeSignerLeaf(bytes: Uint8Array, label: string): Buffer | undefined {
  const format = sniffFormat(bytes);
  if (!format) return undefined;
  const container = readContainer(bytes, format);
  if (!container.ok || !container.jumbf) return undefined;
  try {
    const manifest = readManifestStore(container.jumbf).get(label);
    return manifest ? Buffer.from(coseLeafCertificate(manifest.signature)) : undefined;
  } catch {
    return undefined;
  }
}

const fingerprint = (der: Uint8Array) => createHash('sha256').update(der).digest('hex');

function compositedByPipeline(active: ManifestJson): boolean {
  return actionsOf(active).some(
    ({ action, agent }) =>
      action.action === 'c2pa.edited' && agent === PIPELINE_AGENT && action.digitalSourceType === COMPOSITE_SOURCE_TYPE,
  );
}

/** Checks that belong to the Azure ingredient's level; every other check of the gate is the publisher's. */
const INGREDIENT_CHECKS = ['Made by an allowed AI agent', "Signed during this job's edit"];

export interface CompositeVerifier {
  identity: PublisherIdentity;
  verify(input: Uint8Array | (() => Promise<Uint8Array>), context: CompositeContext): Promise<ProvenanceReport>;
}

export async function createCompositeVerifier(
  gate: PipelineConfig['gate'],
  publisherPem: string,
  storage?: StorageClients,
  trust: TrustOptions = {},
): Promise<CompositeVerifier> {
  const identity = publisherIdentity(publisherPem);
  const chainGate = { ...gate, agentScope: 'chain' as const };
  const ingredientLevel = await createVerifier(chainGate, storage, trust);
  const publisherLevel = await createVerifier(chainGate, storage, {
    noDefaultTrust: true,
    extraPems: [identity.rootPem],
  });
  const pinned = fingerprint(identity.leaf.raw);

  return {
    identity,
    async verify(input, context) {
      const bytes = typeof input === 'function' ? await input() : input;
      const reading = await publisherLevel.read(bytes);
      const report = evaluateGate(reading, publisherLevel.policy, context);
      // The Azure edit the pipeline just judged is credited as judged (./known-edit.ts), not read again.
      const known = context.knownEdit && reading.ok && creditKnownEdit(bytes, reading.store, context.knownEdit);
      const azure = known || (await ingredientLevel.verify(bytes, context));
      const checks: Check[] = report.checks
        .filter((c) => !INGREDIENT_CHECKS.includes(c.name))
        .map((c) => ({ ...c, name: `Publisher: ${c.name}` }));
      if (reading.ok && report.manifest) {
        const label = report.manifest.activeLabel;
        const leaf = activeSignerLeaf(bytes, label);
        const ours = leaf !== undefined && fingerprint(leaf) === pinned;
        const shown = leaf ? commonName(new X509Certificate(leaf)) : 'no readable certificate';
        checks.push({
          name: 'Publisher: signed by the configured publisher',
          ok: ours,
          detail: ours
            ? `${identity.name} (certificate pinned by PUBLISHER_CERT_CHAIN)`
            : `the composite is signed by ${shown}, not by the configured publisher ${identity.name}`,
        });
        const active = reading.store.manifests![label]!;
        const composited = compositedByPipeline(active);
        checks.push({
          name: 'Publisher: composited by the pipeline',
          ok: composited,
          detail: composited
            ? `c2pa.edited by ${PIPELINE_AGENT}, compositeWithTrainedAlgorithmicMedia`
            : `the active manifest has no c2pa.edited action by ${PIPELINE_AGENT} with compositeWithTrainedAlgorithmicMedia`,
        });
        checks.push(...(await bindingChecks(active, bytes, context.binding)));
      }
      for (const c of azure.checks.filter((c) => INGREDIENT_CHECKS.includes(c.name))) {
        checks.push({ ...c, name: `Azure ingredient: ${c.name}` });
      }
      if (azure.manifest?.agentFoundIn === 'active') {
        checks.push({
          name: 'Azure ingredient: the edit is an ingredient',
          ok: false,
          detail: 'the allowed agent is on the active manifest: this is not a composite of the pipeline',
        });
      }
      const reasons = checks.filter((c) => !c.ok).map((c) => c.detail);
      return {
        ...report,
        checks,
        reasons,
        verdict: reasons.length ? 'quarantine' : 'publish',
        ...(azure.signingTime ? { signingTime: azure.signingTime } : {}),
        ...(report.manifest && azure.manifest
          ? {
              manifest: {
                ...report.manifest,
                softwareAgent: azure.manifest.softwareAgent,
                agentFoundIn: azure.manifest.agentFoundIn,
                digitalSourceType: azure.manifest.digitalSourceType,
              },
            }
          : {}),
        policy: { ...azure.policy, trustAnchors: [...azure.policy.trustAnchors, `publisher: ${identity.name}`] },
      };
    },
  };
}
