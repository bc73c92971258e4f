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
import type { PipelineConfig } from '../../core/config.js';
import type { StorageClients } from '../azure/storage.js';
import { sniffFormat } from '../../core/image-header.js';
import { fullSourceType } from '../../core/provenance/actions.js';
import { type ManifestEvidence, readByteEvidence } from '../../core/provenance/byte-evidence.js';
import { readContainer } from '../../core/provenance/container.js';
import { claimSignatureVerifies, spkiOf } from '../../core/provenance/cose-signer.js';
import { type C2paReading, type Check, evaluateGate, type ProvenanceReport } from '../../core/provenance/gate.js';
import { compositeRoles } from '../../core/provenance/roles.js';
import { bindingChecks } from './edit-binding.js';
import { creditKnownEdit } from '../../core/provenance/known-edit.js';
import { certificatesIn, commonName, createVerifier } from './verifier.js';
import { type TrustOptions } from '../../ports/verifier.js';
import { type CompositeVerifier } from '../../ports/verifier.js';
import { type PublisherIdentity } from '../../ports/verifier.js';

export const PIPELINE_AGENT = 'imagegen-pipeline';
export const COMPOSITE_SOURCE_TYPE =
  'http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia';

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
  return { leaf, spki: spkiHash(leaf), rootPem: root.toString(), name: commonName(leaf) };
}

const spkiHash = (cert: X509Certificate) => createHash('sha256').update(spkiOf(cert)).digest('hex');

/**
 * Whether the active manifest is the pinned publisher's: its signer (read as c2pa-rs reads it) has the
 * pinned public key, and the claim's COSE signature verifies with that key, checked here, not taken
 * from c2pa-rs. Returns why not, or null.
 */
function notThePublisher(identity: PublisherIdentity, active: ManifestEvidence | undefined): string | null {
  const signer = active?.signer;
  if (!signer) return 'the composite has no signature';
  if (!signer.ok) return `the composite's signer cannot be read one way: ${signer.error}`;
  if (spkiHash(signer.leaf) !== identity.spki)
    return `signed by a certificate other than the pinned publisher: ${commonName(signer.leaf)}, not ${identity.name}`;
  if (!claimSignatureVerifies(signer.sign1, signer.claimBytes, identity.leaf.publicKey))
    return `the claim signature does not verify with the pinned publisher's key (${identity.name})`;
  return null;
}

/** The active manifest's byte evidence of a file, for choosing the rules by signer. */
function activeEvidence(bytes: Uint8Array, label: string): ManifestEvidence | undefined {
  const format = sniffFormat(bytes);
  const container = format ? readContainer(bytes, format) : undefined;
  if (!container?.ok || !container.jumbf) return undefined;
  const evidence = readByteEvidence(container.jumbf);
  return evidence.ok ? evidence.manifests.get(label) : undefined;
}

/** Checks that belong to the Azure ingredient's level; every other check of the gate is the publisher's. */
const INGREDIENT_CHECKS = ['Made by an allowed AI agent', "Signed during this job's edit"];

function compositedByPipeline(active: ManifestEvidence | undefined): boolean {
  return (active?.actions ?? []).some(
    ({ action, agent }) =>
      action.action === 'c2pa.edited' &&
      agent === PIPELINE_AGENT &&
      typeof action.digitalSourceType === 'string' &&
      fullSourceType(action.digitalSourceType) === COMPOSITE_SOURCE_TYPE,
  );
}

/** The publisher level's own checks on top of the gate's: the pin, the pipeline's edit, the edit's role. */
function publisherChecks(
  reading: C2paReading,
  identity: PublisherIdentity,
  gate: PipelineConfig['gate'],
  label: string,
): { checks: Check[]; credited: string | null } {
  if (!reading.ok || !reading.evidence.ok) return { checks: [], credited: null };
  const manifests = reading.evidence.manifests;
  const active = manifests.get(label);
  const notOurs = notThePublisher(identity, active);
  const checks: Check[] = [
    {
      name: 'Publisher: signed by the configured publisher',
      ok: notOurs === null,
      detail: notOurs ?? `${identity.name} (public key pinned by PUBLISHER_CERT_CHAIN; signature checked with it)`,
    },
  ];
  const composited = compositedByPipeline(active);
  checks.push({
    name: 'Publisher: composited by the pipeline',
    ok: composited,
    detail: composited
      ? `c2pa.edited by ${PIPELINE_AGENT}, compositeWithTrainedAlgorithmicMedia`
      : `the active manifest has no c2pa.edited action by ${PIPELINE_AGENT} with compositeWithTrainedAlgorithmicMedia`,
  });
  const roles = active
    ? compositeRoles(active, manifests, PIPELINE_AGENT, {
        agents: gate.allowedAgents,
        sourceTypes: gate.allowedSourceTypes.map(fullSourceType),
      })
    : { credited: null, problem: 'the composite has no active manifest' };
  checks.push({
    name: "Publisher: the Azure edit is the composite's component",
    ok: roles.problem === null,
    detail: roles.problem ?? `the componentOf ingredient ${roles.credited}, named by c2pa.edited`,
  });
  return { checks, credited: roles.credited };
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
  // The publisher level trusts PUBLISHER_CERT_CHAIN's root and nothing else (no EXTRA_TRUST_ANCHORS).
  const publisherLevel = await createVerifier({ ...chainGate, extraTrustAnchors: '' }, undefined, {
    noDefaultTrust: true,
    extraPems: [identity.rootPem],
  });

  return {
    identity,
    rulesFor(bytes, label) {
      const active = activeEvidence(bytes, label);
      if (notThePublisher(identity, active) === null) return 'publisher';
      return compositedByPipeline(active) ? 'claims-publisher' : 'other';
    },
    async verify(input, context) {
      const bytes = typeof input === 'function' ? await input() : input;
      const reading = await publisherLevel.read(bytes);
      const report = evaluateGate(reading, publisherLevel.policy, context);
      const label = report.manifest?.activeLabel ?? '';
      const own = publisherChecks(reading, identity, gate, label);
      // Only the componentOf edit the composite names is credited; none when the roles are wrong. The edit
      // the pipeline just judged is credited as judged (./known-edit.ts) when it is that ingredient.
      const known =
        own.credited && context.knownEdit && reading.ok
          ? creditKnownEdit(bytes, reading.store, context.knownEdit, own.credited)
          : undefined;
      const azure =
        known || (await ingredientLevel.verify(bytes, { ...context, creditIngredient: own.credited ?? '' }));
      const active = reading.ok && report.manifest ? reading.store.manifests?.[label] : undefined;
      const checks: Check[] = [
        ...report.checks
          .filter((c) => !INGREDIENT_CHECKS.includes(c.name))
          .map((c) => ({ ...c, name: `Publisher: ${c.name}` })),
        ...own.checks,
        ...(active ? await bindingChecks(active, bytes, context.binding) : []),
        ...azure.checks
          .filter((c) => INGREDIENT_CHECKS.includes(c.name))
          .map((c) => ({ ...c, name: `Azure ingredient: ${c.name}` })),
      ];
      if (azure.manifest?.agentFoundIn === 'active') {
        checks.push({
          name: 'Azure ingredient: the edit is an ingredient',
          ok: false,
          detail: 'the allowed agent is on the active manifest: this is not a composite of the pipeline',
        });
      }
      return combine(report, azure, checks, identity);
    },
  };
}

/** The composite's report: the publisher level's, with the Azure ingredient's agent and signing time. */
function combine(
  report: ProvenanceReport,
  azure: ProvenanceReport,
  checks: Check[],
  identity: PublisherIdentity,
): ProvenanceReport {
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
}
