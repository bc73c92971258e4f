/**
 * The Azure edit the pipeline has just judged, handed to the composite gate so it is not read again:
 * when the composite's one `componentOf` ingredient manifest is byte for byte the model output's active
 * manifest, the ordinary gate's verdict on that output (signature, trust, time-stamp, profile, agent,
 * edit window) is the ingredient's, and c2pa-rs need not validate the same manifest a second time. The
 * publisher level (the composite's own signature, its hashes, its ingredients' hashes) is always read.
 */
import { sniffFormat } from '../image-header.js';
import { readContainer } from './container.js';
import type { ManifestStoreJson, ProvenanceReport } from './gate.js';
import { readManifestStore } from './jumbf.js';
import { sha256Hex } from './composite-binding.js';

export interface KnownEdit {
  /** SHA-256 of the model output's active manifest superbox content. */
  manifestHash: string;
  /** The ordinary gate's report on the model output; only a published one is ever credited. */
  report: ProvenanceReport;
}

/** The manifest superbox content labelled `label` in a file's own manifest store, if it can be read. */
function manifestPayload(bytes: Uint8Array, label: string): Uint8Array | undefined {
  const format = sniffFormat(bytes);
  const container = format ? readContainer(bytes, format) : undefined;
  if (!container?.ok || !container.jumbf) return undefined;
  try {
    return readManifestStore(container.jumbf).get(label)?.payload;
  } catch {
    return undefined;
  }
}

/** The model output as the composite gate may credit it, or undefined when it did not pass. */
export function knownEdit(edited: Uint8Array, report: ProvenanceReport): KnownEdit | undefined {
  if (report.verdict !== 'publish' || !report.manifest) return undefined;
  const payload = manifestPayload(edited, report.manifest.activeLabel);
  return payload ? { manifestHash: sha256Hex(payload), report } : undefined;
}

/**
 * The known edit's report, as the composite's Azure ingredient, when the ingredient the composite's roles
 * credit (`assertion`, its exact label) is exactly its manifest; undefined otherwise (then validated in full).
 */
export function creditKnownEdit(
  composite: Uint8Array,
  store: ManifestStoreJson,
  known: KnownEdit,
  assertion: string,
): ProvenanceReport | undefined {
  const active = store.active_manifest ? store.manifests?.[store.active_manifest] : undefined;
  const component = (active?.ingredients ?? []).find((i) => i.label === assertion && i.relationship === 'componentOf');
  const label = component?.active_manifest;
  if (!label || known.report.verdict !== 'publish' || !known.report.manifest) return undefined;
  const payload = manifestPayload(composite, label);
  if (!payload || sha256Hex(payload) !== known.manifestHash) return undefined;
  const credited = " (the model output's own verdict: this ingredient is its manifest, byte for byte)";
  return {
    ...known.report,
    checks: known.report.checks.map((c) => ({ ...c, detail: `${c.detail}${credited}` })),
    manifest: { ...known.report.manifest, agentFoundIn: 'ingredient' },
  };
}
