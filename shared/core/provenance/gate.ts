/**
 * The publish gate: a pure function from what c2pa-rs reported about a file, and what the manifest
 * store's own bytes say, to a verdict with reasons. Every c2pa-rs status the gate relies on is matched
 * to its exact JUMBF URI in the manifest it speaks for, never by code alone. Publish only when the
 * active manifest's claim signature is valid and inside validity, its signer chains to a trust anchor
 * and fits the claim-signing certificate profile, a time-stamp (when present) is trusted, nothing was
 * signed in the future, the pixels match the hard binding, and a creating or editing action names an
 * allowed software agent with an allowed IPTC digital source type. Any other failure code quarantines,
 * unless it is on the tolerated list for that assertion.
 */
import type { AgentScope, ToleratedFailure } from '../config.js';
import { findAgentAction, fullSourceType, type NamedAction, MAKING_ACTIONS } from './actions.js';
import { C2PA_STATUS } from './c2pa-status.js';
import type { ByteEvidence, ManifestEvidence } from './byte-evidence.js';
import { profileProblem } from './certificate-profile.js';
import { joinRanges, type Range } from './container.js';
import { type ReportedSigner, signerDisagreement } from './cose-signer.js';

export interface ValidationStatus {
  code: string;
  url?: string;
  explanation?: string;
}

export interface StatusCodes {
  success?: ValidationStatus[];
  informational?: ValidationStatus[];
  failure?: ValidationStatus[];
}

export interface ManifestJson {
  label?: string;
  claim_generator?: string;
  claim_generator_info?: { name?: string; version?: string }[];
  title?: string;
  format?: string;
  assertions?: { label: string; data?: unknown }[];
  ingredients?: { title?: string; relationship?: string; active_manifest?: string; label?: string }[];
  signature_info?: ReportedSigner & { time?: string; alg?: string };
}

export interface ManifestStoreJson {
  active_manifest?: string;
  manifests?: Record<string, ManifestJson>;
  validation_state?: string;
  validation_results?: {
    activeManifest?: StatusCodes;
    ingredientDeltas?: { ingredientAssertionURI: string; validationDeltas: StatusCodes }[];
  };
}

/** c2pa-rs's validation of one ingredient manifest as the active manifest of a store of its own. */
export type IngredientReading =
  | { ok: true; results: StatusCodes; signedAt: string | null; signer: ReportedSigner | undefined }
  | { ok: false; error: string };

/**
 * What reading the file gave: the manifest store, its bytes' own evidence, and each ingredient
 * manifest validated on its own (by manifest label); or why there was none.
 */
export type C2paReading =
  | {
      ok: true;
      store: ManifestStoreJson;
      evidence: ByteEvidence;
      ingredientReads: Map<string, IngredientReading>;
      /** Where the container walk found the manifest store: the only bytes a hard binding may leave out. */
      storeRanges: Range[];
    }
  | { ok: false; error: string };

export interface GatePolicy {
  trustAnchors: string[];
  allowedAgents: string[];
  /** Full IPTC URIs (a bare name such as `trainedAlgorithmicMedia` stands for the IPTC URI). */
  allowedSourceTypes: string[];
  agentScope: AgentScope;
  tolerated: ToleratedFailure[];
  signingTimeSkewMs: number;
}

export interface GateContext {
  file: string;
  /** The job's model call, when the file belongs to a known job: the signing time must fall inside it. */
  editWindow?: { start: Date; end: Date };
  /** The present, for "not signed in the future"; defaults to the clock. */
  now?: Date;
  /**
   * The one ingredient assertion (exact label) whose agent may be credited (a composite's Azure edit);
   * without it, AGENT_SCOPE=chain credits the first proven ingredient that names an allowed agent.
   */
  creditIngredient?: string;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface IngredientSummary {
  title: string | null;
  relationship: string | null;
  claimGenerator: string | null;
  softwareAgent: string | null;
}

export interface ProvenanceReport {
  file: string;
  verdict: 'publish' | 'quarantine';
  reasons: string[];
  manifest: null | {
    activeLabel: string;
    claimGenerator: string | null;
    title: string | null;
    format: string | null;
    signer: {
      issuer: string | null;
      commonName: string | null;
      trusted: boolean;
      signedAt: string | null;
      timestampAuthority: string | null;
    };
    softwareAgent: string | null;
    agentFoundIn: 'active' | 'ingredient' | null;
    digitalSourceType: string | null;
    dataHash: 'match' | 'mismatch' | 'absent';
    ingredients: IngredientSummary[];
  };
  validation: { state: string | null; failures: ValidationStatus[]; tolerated: { code: string; url: string | null }[] };
  policy: {
    trustAnchors: string[];
    allowedAgents: string[];
    agentScope: AgentScope;
    toleratedCodes: string[];
    allowedSourceTypes: string[];
  };
  /** The checklist behind the verdict, in the order a person would read it. */
  checks: Check[];
  /** When the job's edit window was checked: the window and where the signing time came from. */
  signingTime?: { at: string | null; source: 'timestamp' | 'action' | null; window: { start: string; end: string } };
}

/** The assertion label a validation URL points at (`…/c2pa.assertions/c2pa.soft-binding__1` → `c2pa.soft-binding`). */
export function assertionLabel(url: string | undefined): string | null {
  const m = /^self#jumbf=\/c2pa\/[^/]+\/c2pa\.assertions\/([^/]+)$/.exec(url ?? '');
  return m ? m[1]!.replace(/__\d+$/, '') : null;
}

/** `claim.malformed on c2pa.soft-binding (2 manifests)`: the same tolerated failure once per code and assertion. */
export function describeTolerated(tolerated: { code: string; url: string | null }[]): string {
  const counts = new Map<string, number>();
  for (const t of tolerated) {
    const key = `${t.code} on ${assertionLabel(t.url ?? undefined) ?? shortUrl(t.url ?? undefined)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => (n > 1 ? `${key} (${n} manifests)` : key)).join(', ');
}

function shortUrl(url: string | undefined): string {
  return (url ?? '').replace(/^self#jumbf=\/c2pa\/[^/]+\//, '');
}

const sourceTypeName = (value: unknown) => (typeof value === 'string' ? value.slice(value.lastIndexOf('/') + 1) : null);
const manifestUri = (label: string) => `self#jumbf=/c2pa/${label}`;
const signatureUri = (label: string) => `${manifestUri(label)}/c2pa.signature`;

function claimGenerator(m: ManifestJson): string | null {
  const info = m.claim_generator_info?.[0];
  return info?.name ? `${info.name}${info.version ? ` ${info.version}` : ''}` : (m.claim_generator ?? null);
}

/** Status codes with the exact URI each speaks for. */
class Statuses {
  constructor(private readonly codes: StatusCodes) {}
  find(code: string, url: string): ValidationStatus | undefined {
    return (this.codes.success ?? []).find((s) => s.code === code && s.url === url);
  }
  has(code: string, url: string): boolean {
    return this.find(code, url) !== undefined;
  }
  hasUnder(code: string, prefix: string): boolean {
    return (this.codes.success ?? []).some((s) => s.code === code && (s.url ?? '').startsWith(prefix));
  }
  any(prefix: string, url: string): boolean {
    const all = [...(this.codes.success ?? []), ...(this.codes.failure ?? []), ...(this.codes.informational ?? [])];
    return all.some((s) => s.code.startsWith(prefix) && s.url === url);
  }
  get failures(): ValidationStatus[] {
    return this.codes.failure ?? [];
  }
  get informational(): ValidationStatus[] {
    return this.codes.informational ?? [];
  }
}

/** The checklist being built, with the failure codes a failed check already explains. */
class Checklist {
  readonly checks: Check[] = [];
  readonly reasons: string[] = [];
  readonly explained: string[] = [];
  add(name: string, ok: boolean, detail: string, explains: string[] = []) {
    this.checks.push({ name, ok, detail });
    if (!ok) {
      this.reasons.push(detail);
      this.explained.push(...explains);
    }
  }
}

interface Judged {
  label: string;
  active: ManifestJson;
  statuses: Statuses;
  evidence: ManifestEvidence | undefined;
  failures: ValidationStatus[];
  tolerated: { code: string; url: string | null }[];
  policy: GatePolicy;
  now: number;
  list: Checklist;
  storeRanges: Range[];
}

function emptyReport(policy: GatePolicy, file: string): ProvenanceReport {
  return {
    file,
    verdict: 'quarantine',
    reasons: [],
    manifest: null,
    validation: { state: null, failures: [], tolerated: [] },
    policy: {
      trustAnchors: policy.trustAnchors,
      allowedAgents: policy.allowedAgents,
      agentScope: policy.agentScope,
      toleratedCodes: policy.tolerated.map((t) => `${t.code}@${t.label}`),
      allowedSourceTypes: policy.allowedSourceTypes,
    },
    checks: [],
  };
}

export function evaluateGate(reading: C2paReading, rawPolicy: GatePolicy, context: GateContext): ProvenanceReport {
  const policy = { ...rawPolicy, allowedSourceTypes: rawPolicy.allowedSourceTypes.map(fullSourceType) };
  const report = emptyReport(policy, context.file);
  const list = new Checklist();
  const finish = () => {
    report.checks = list.checks;
    report.reasons = list.reasons;
    if (report.reasons.length === 0) report.verdict = 'publish';
    return report;
  };

  if (!reading.ok) {
    list.add('Content Credentials present', false, reading.error);
    return finish();
  }
  const { store, evidence } = reading;
  const label = store.active_manifest;
  const active = label && Object.hasOwn(store.manifests ?? {}, label) ? store.manifests![label] : undefined;
  report.validation.state = store.validation_state ?? null;
  if (!label || !active) {
    list.add('Content Credentials present', false, 'the manifest store has no active manifest');
    return finish();
  }
  if (!evidence.ok) {
    list.add('Content Credentials present', false, evidence.error);
    return finish();
  }
  list.add('Content Credentials present', true, `active manifest ${label}`);

  const results = store.validation_results ?? {};
  const { failures, tolerated } = splitFailures(results, policy);
  report.validation.failures = failures;
  report.validation.tolerated = tolerated;
  const judged: Judged = {
    label,
    active,
    statuses: new Statuses(results.activeManifest ?? {}),
    evidence: evidence.manifests.get(label),
    failures,
    tolerated,
    policy,
    now: (context.now ?? new Date()).getTime(),
    list,
    storeRanges: reading.storeRanges,
  };

  const signer = checkSignature(judged);
  const stampedAt = checkTimestamp(judged);
  checkOneReading(judged);
  checkCertificateProfile(judged);
  const dataHash = checkPixels(judged);
  checkExclusions(judged);
  const sources = { deltas: results.ingredientDeltas ?? [], reads: reading.ingredientReads, evidence };
  const agent = checkAgent(judged, store, sources, context.creditIngredient);
  // The credited ingredient's own trusted time-stamp times the edit, not the manifest that holds it.
  const editedAt = agent.found?.where === 'ingredient' ? agent.found.stampedAt : stampedAt;
  checkNotInFuture(judged, stampedAt, agent.found?.action);
  checkOtherFailures(judged);
  if (context.editWindow)
    report.signingTime = checkEditWindow(judged, context.editWindow, editedAt, agent.found?.action);

  report.manifest = manifestSummary(label, active, signer, agent, dataHash);
  return finish();
}

/** What the report shows of the active manifest: its generator, signer, agent and source type, and its ingredients. */
function manifestSummary(
  label: string,
  active: ManifestJson,
  signer: ReturnType<typeof checkSignature>,
  agent: ReturnType<typeof checkAgent>,
  dataHash: ReturnType<typeof checkPixels>,
): NonNullable<ProvenanceReport['manifest']> {
  const sig = active.signature_info ?? {};
  const shown = agent.found ?? agent.named;
  return {
    activeLabel: label,
    claimGenerator: claimGenerator(active),
    title: active.title ?? null,
    format: active.format ?? null,
    signer: {
      issuer: sig.issuer ?? null,
      commonName: sig.common_name ?? null,
      trusted: signer.trusted,
      signedAt: sig.time ?? null,
      timestampAuthority: signer.timestampAuthority,
    },
    softwareAgent: shown?.agent ?? null,
    agentFoundIn: agent.found?.where ?? null,
    digitalSourceType: typeof shown?.action.digitalSourceType === 'string' ? shown.action.digitalSourceType : null,
    dataHash,
    ingredients: agent.ingredients,
  };
}

/** Every failure, in the active manifest or an ingredient's, counts unless tolerated for its assertion. */
function splitFailures(results: NonNullable<ManifestStoreJson['validation_results']>, policy: GatePolicy) {
  const seen = new Set<string>();
  const all = [
    ...(results.activeManifest?.failure ?? []),
    ...(results.ingredientDeltas ?? []).flatMap((d) => d.validationDeltas.failure ?? []),
  ];
  const failures: ValidationStatus[] = [];
  const tolerated: { code: string; url: string | null }[] = [];
  for (const f of all) {
    const key = `${f.code}|${f.url ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (isTolerated(f, policy)) tolerated.push({ code: f.code, url: f.url ?? null });
    else
      failures.push({
        code: f.code,
        ...(f.url ? { url: f.url } : {}),
        ...(f.explanation ? { explanation: f.explanation } : {}),
      });
  }
  return { failures, tolerated };
}

const isTolerated = (f: ValidationStatus, policy: GatePolicy) =>
  policy.tolerated.some((t) => t.code === f.code && t.label === assertionLabel(f.url));

function failureDetail(j: Judged, prefix: string): string {
  return j.failures
    .filter((f) => f.code.startsWith(prefix))
    .map((f) => `${f.code}${f.explanation ? ` (${f.explanation})` : ''}`)
    .join(', ');
}

function checkSignature(j: Judged) {
  const at = signatureUri(j.label);
  const sig = j.active.signature_info ?? {};
  const signer = sig.common_name ?? sig.issuer ?? 'an unnamed signer';
  const valid = j.statuses.has(C2PA_STATUS.claimSignatureValidated, at);
  const invalid = failureDetail(j, 'claimSignature');
  const notValid = `the claim signature did not validate${invalid ? `: ${invalid}` : ''}`;
  j.list.add('Claim signature valid', valid, valid ? `signed by ${signer}` : notValid, ['claimSignature.']);
  const inside = j.statuses.has(C2PA_STATUS.claimSignatureInsideValidity, at);
  const expired = failureDetail(j, C2PA_STATUS.signingCredentialExpired);
  j.list.add(
    'Signed inside the certificate validity',
    inside,
    inside ? 'yes' : `the signature falls outside its certificate's validity${expired ? `: ${expired}` : ''}`,
    ['claimSignature.', C2PA_STATUS.signingCredentialExpired],
  );
  const trusted = j.statuses.has(C2PA_STATUS.signingCredentialTrusted, at);
  j.list.add(
    'Signer trusted',
    trusted,
    trusted
      ? `${signer} chains to a configured trust anchor`
      : `${signer} is not trusted: ${failureDetail(j, 'signingCredential') || 'it does not chain to a configured trust anchor with an allowed EKU'}`,
    ['signingCredential.'],
  );
  return { trusted, timestampAuthority: timestampAuthority(j) };
}

/** The time-stamp authority's name, as c2pa-rs explains `timeStamp.validated` ("…: NAME"). */
function timestampAuthority(j: Judged): string | null {
  const validated = j.statuses.find(C2PA_STATUS.timeStampValidated, signatureUri(j.label));
  return validated?.explanation?.split(': ').slice(1).join(': ').trim() || null;
}

/** The trusted time-stamp's time, when there is one; a time-stamp that is present must be trusted. */
function checkTimestamp(j: Judged): string | undefined {
  const at = signatureUri(j.label);
  if (!j.statuses.any('timeStamp.', at) && !j.failures.some((f) => f.code.startsWith('timeStamp.'))) return undefined;
  const trusted = j.statuses.has(C2PA_STATUS.timeStampTrusted, at);
  // c2pa-rs reports an untrusted time-stamp as informational, yet without trust its time proves nothing.
  const info = j.statuses.informational
    .filter((i) => i.code.startsWith('timeStamp.') && i.url === at)
    .map((i) => `${i.code}${i.explanation ? ` (${i.explanation})` : ''}`);
  const time = j.active.signature_info?.time;
  const authority = timestampAuthority(j) ?? 'a trusted authority';
  j.list.add(
    'Time-stamp trusted',
    trusted,
    trusted
      ? `time-stamped by ${authority} at ${time ?? 'an unknown time'}`
      : `the time-stamp is not trusted: ${[failureDetail(j, 'timeStamp'), ...info].filter(Boolean).join(', ') || 'no trusted time-stamp authority'}`,
    ['timeStamp.'],
  );
  return trusted ? time : undefined;
}

/** The signer the gate reads is the one c2pa-rs verified: same place in the header, same certificate. */
function checkOneReading(j: Judged) {
  const signer = j.evidence?.signer;
  const problem = !signer
    ? 'the active manifest has no signature in the file'
    : signer.ok
      ? signerDisagreement(signer.leaf, j.active.signature_info)
      : signer.error;
  j.list.add(
    'One reading of the signer',
    problem === null,
    problem === null
      ? 'the certificate c2pa-rs verified is the one the file names'
      : `the signer cannot be read one way: ${problem}`,
  );
}

const EXTRA_EXCLUSIONS = C2PA_STATUS.dataHashAdditionalExclusions;

/**
 * A hard binding may leave out the manifest store's own bytes and nothing else: every exclusion lies
 * inside the span the container walk found the store in (a writer may leave the chunk's or segment's
 * header hashed; c2pa-rs itself checks only that some exclusion covers the store).
 */
function checkExclusions(j: Judged) {
  const exclusions = j.evidence?.exclusions ?? [];
  // c2pa-rs (0.92) says so too, as informational, and still calls the hash a match: its word and ours must agree.
  const reported = [...j.statuses.informational, ...j.failures].some(
    (s) =>
      s.code === EXTRA_EXCLUSIONS && (s.url ?? '').startsWith(`${manifestUri(j.label)}/c2pa.assertions/c2pa.hash.`),
  );
  if (exclusions.length === 0 && !reported) return;
  const store = joinRanges(j.storeRanges);
  const inside = (e: Range) =>
    e.start >= 0 && e.length >= 0 && store.some((r) => e.start >= r.start && e.start + e.length <= r.start + r.length);
  const outside = exclusions.filter((e) => !inside(e));
  const shown = (ranges: Range[]) => ranges.map((r) => `bytes ${r.start} to ${r.start + r.length}`).join(', ');
  const unreadable = exclusions.some((e) => e.start < 0 || e.length < 0);
  j.list.add(
    'Hard binding covers the whole file',
    outside.length === 0 && !reported,
    outside.length === 0 && !reported
      ? 'it leaves out only the manifest store'
      : unreadable
        ? "the hard binding's exclusions cannot be read, so what it leaves unchecked is unknown"
        : outside.length
          ? `the hard binding leaves other bytes unchecked: it excludes ${shown(outside)}, outside the manifest store (${
              shown(store) || 'not found'
            })`
          : `the hard binding leaves other bytes unchecked: c2pa-rs reports exclusions beyond the manifest store (${EXTRA_EXCLUSIONS})`,
    [EXTRA_EXCLUSIONS],
  );
}

function checkCertificateProfile(j: Judged) {
  const signer = j.evidence?.signer;
  if (signer && !signer.ok) return; // the one-reading check already says why there is no certificate
  const problem = !signer ? 'the active manifest has no signature in the file' : profileProblem(signer.profile);
  j.list.add(
    'Signer may sign claims',
    problem === null,
    problem === null
      ? 'a claim-signing certificate with digitalSignature'
      : `the claim signer's certificate may not sign claims: ${problem}`,
  );
}

function checkPixels(j: Judged): 'match' | 'mismatch' | 'absent' {
  const assertions = `${manifestUri(j.label)}/c2pa.assertions/`;
  const bound = (code: string) => j.statuses.hasUnder(code, `${assertions}c2pa.hash.`);
  const dataHash =
    bound(C2PA_STATUS.dataHashMatch) || bound(C2PA_STATUS.boxesHashMatch)
      ? 'match'
      : j.failures.some((f) => f.code === C2PA_STATUS.dataHashMismatch || f.code === C2PA_STATUS.boxesHashMismatch)
        ? 'mismatch'
        : 'absent';
  j.list.add(
    'Pixels intact',
    dataHash === 'match',
    dataHash === 'match'
      ? 'the data hash matches the file'
      : dataHash === 'mismatch'
        ? 'the file changed after it was signed (data hash mismatch)'
        : 'the manifest does not bind the pixels (no data hash)',
    ['assertion.dataHash.', 'assertion.boxesHash.'],
  );
  return dataHash;
}

type Delta = NonNullable<NonNullable<ManifestStoreJson['validation_results']>['ingredientDeltas']>[number];

/**
 * Whether an ingredient manifest is proven, for crediting its agent. From the whole file: the delta
 * c2pa-rs reports for exactly this ingredient assertion has no failure left. From the manifest
 * validated on its own (see `IngredientReading`): claim signature valid and inside validity, signer
 * trusted, time-stamp trusted when present, all at that manifest's own signature URI, and no failure
 * under that manifest but the data hash (its asset is not this file). From the bytes: the manifest and
 * its signature hash to what the active manifest's ingredient assertion recorded, and the signer's
 * certificate fits the claim-signing profile.
 */
function ingredientProblem(j: Judged, assertion: string, manifest: string, sources: IngredientSources): string | null {
  const assertionUri = `${manifestUri(j.label)}/c2pa.assertions/${assertion}`;
  const delta = sources.deltas.find((d) => d.ingredientAssertionURI === assertionUri);
  const liveFailures = (delta?.validationDeltas.failure ?? []).filter((f) => !isTolerated(f, j.policy));
  if (liveFailures.length) return `it has failures (${liveFailures.map((f) => f.code).join(', ')})`;
  const alone = sources.reads.get(manifest);
  if (!alone) return 'it was not validated on its own';
  if (!alone.ok) return `it could not be validated on its own: ${alone.error}`;
  const s = new Statuses(alone.results);
  const at = signatureUri(manifest);
  const needed: string[] = [
    C2PA_STATUS.claimSignatureValidated,
    C2PA_STATUS.claimSignatureInsideValidity,
    C2PA_STATUS.signingCredentialTrusted,
  ];
  const missing = needed.filter((c) => !s.has(c, at));
  if (s.any('timeStamp.', at) && !s.has(C2PA_STATUS.timeStampTrusted, at)) missing.push(C2PA_STATUS.timeStampTrusted);
  if (missing.length) return `validated on its own, it lacks ${missing.join(', ')}`;
  const own = `${manifestUri(manifest)}/`;
  const failed = s.failures.filter(
    (f) =>
      (f.url ?? '').startsWith(own) && !/^assertion\.(dataHash|boxesHash)\./.test(f.code) && !isTolerated(f, j.policy),
  );
  if (failed.length) return `validated on its own, it has failures (${failed.map((f) => f.code).join(', ')})`;
  if (alone.signedAt && inFuture(j, alone.signedAt))
    return `it claims a signing time in the future (${alone.signedAt})`;
  const bytes = j.evidence?.ingredients.get(assertion);
  if (!bytes || bytes.manifest !== manifest || bytes.manifestHash !== 'match' || bytes.signatureHash === 'mismatch') {
    return 'its manifest bytes do not hash to what the active manifest recorded';
  }
  const signer = sources.evidence.manifests.get(manifest)?.signer;
  if (!signer) return 'its manifest has no signature';
  if (!signer.ok) return `its signer cannot be read one way: ${signer.error}`;
  const unread = signerDisagreement(signer.leaf, alone.signer);
  if (unread) return `its signer cannot be read one way: ${unread}`;
  const problem = profileProblem(signer.profile);
  return problem ? `its signer may not sign claims: ${problem}` : null;
}

/** An ingredient manifest's own trusted time-stamp, validated on its own (see `ingredientProblem`). */
function ingredientStamp(sources: IngredientSources, manifest: string): string | undefined {
  const alone = sources.reads.get(manifest);
  if (!alone?.ok || !alone.signedAt) return undefined;
  return new Statuses(alone.results).has(C2PA_STATUS.timeStampTrusted, signatureUri(manifest))
    ? alone.signedAt
    : undefined;
}

interface IngredientSources {
  deltas: Delta[];
  reads: Map<string, IngredientReading>;
  evidence: ByteEvidence & { ok: true };
}

type Found = NamedAction & { agent: string; where: 'active' | 'ingredient'; stampedAt?: string };

function checkAgent(j: Judged, store: ManifestStoreJson, sources: IngredientSources, credit: string | undefined) {
  const { allowedAgents, allowedSourceTypes, agentScope } = j.policy;
  // Actions as the file stores them, not as c2pa-rs normalises them.
  const stored = (label: string) => sources.evidence.manifests.get(label)?.actions ?? [];
  const onActive = findAgentAction(stored(j.label), allowedAgents, allowedSourceTypes);
  let found: Found | undefined = onActive && { ...onActive, where: 'active' };
  const ingredients: IngredientSummary[] = [];
  let fromIngredient: (NamedAction & { agent: string; stampedAt?: string }) | undefined;
  const refused: string[] = [];
  for (const ing of j.active.ingredients ?? []) {
    const target = ing.active_manifest;
    const m = target && Object.hasOwn(store.manifests ?? {}, target) ? store.manifests![target] : undefined;
    const agentHere = m ? findAgentAction(stored(target!), allowedAgents, allowedSourceTypes) : undefined;
    ingredients.push({
      title: ing.title ?? null,
      relationship: ing.relationship ?? null,
      claimGenerator: m ? claimGenerator(m) : null,
      softwareAgent: agentHere?.agent ?? (m ? (stored(target!).find((a) => a.agent)?.agent ?? null) : null),
    });
    if (!m || !agentHere || !target || !ing.label || fromIngredient) continue;
    if (credit !== undefined && ing.label !== credit) continue;
    const when = agentHere.action.when;
    const problem =
      typeof when === 'string' && inFuture(j, when)
        ? `its action claims a time in the future (${when})`
        : ingredientProblem(j, ing.label, target, sources);
    if (problem) refused.push(`ingredient ${ing.label} names ${agentHere.agent} but is not proven: ${problem}`);
    else fromIngredient = { ...agentHere, stampedAt: ingredientStamp(sources, target) };
  }
  if (!found && agentScope === 'chain' && fromIngredient) found = { ...fromIngredient, where: 'ingredient' };
  const named = stored(j.label).find((a) => a.agent) as (NamedAction & { agent: string }) | undefined;
  const wanted =
    `an allowed software agent (${allowedAgents.join(', ')}) on a ${MAKING_ACTIONS.join(' or ')} action ` +
    `with digital source type ${allowedSourceTypes.join(' or ')}`;
  const where = found?.where === 'active' ? 'active manifest' : 'ingredient manifest';
  const searched = agentScope === 'chain' ? 'active or a validated ingredient manifest' : 'active manifest';
  j.list.add(
    'Made by an allowed AI agent',
    !!found,
    found
      ? `${found.agent}, ${sourceTypeName(found.action.digitalSourceType)}, on the ${where}`
      : `no action on the ${searched} names ${wanted}` +
          (agentScope === 'active' && fromIngredient
            ? '; a validated ingredient manifest does (AGENT_SCOPE=chain would accept it)'
            : '') +
          (agentScope === 'chain' && refused.length ? `; ${refused.join('; ')}` : '') +
          (named ? `; the active manifest names ${named.agent}` : ''),
  );
  return { found, named, ingredients };
}

const seconds = (ms: number) => Math.round(ms / 1000);
/** A time later than now plus the skew (an unparseable time counts as later: it proves nothing). */
const inFuture = (j: Judged, time: string) => !(Date.parse(time) <= j.now + j.policy.signingTimeSkewMs);

/** Nothing signed in the future: a trusted time-stamp or the agent's action time after now + skew is a forgery's mark. */
function checkNotInFuture(j: Judged, stampedAt: string | undefined, action: NamedAction['action'] | undefined) {
  const times = [stampedAt, typeof action?.when === 'string' ? action.when : undefined].filter((t): t is string => !!t);
  const late = times.find((t) => inFuture(j, t));
  j.list.add(
    'Not signed in the future',
    late === undefined,
    late === undefined
      ? times.length
        ? `signed at ${times[0]}`
        : 'no signing time to check'
      : `the manifest claims a signing time of ${late}, after now plus ${seconds(j.policy.signingTimeSkewMs)} s (SIGNING_TIME_SKEW)`,
  );
}

function checkOtherFailures(j: Judged) {
  const other = j.failures.filter((f) => !j.list.explained.some((prefix) => f.code.startsWith(prefix)));
  j.list.add(
    'No other validation failures',
    other.length === 0,
    other.length === 0
      ? j.tolerated.length
        ? `tolerated: ${describeTolerated(j.tolerated)}`
        : 'none'
      : other.map((f) => `${f.code} on ${shortUrl(f.url)}${f.explanation ? ` (${f.explanation})` : ''}`).join('; '),
  );
}

function checkEditWindow(
  j: Judged,
  editWindow: { start: Date; end: Date },
  stampedAt: string | undefined,
  action: NamedAction['action'] | undefined,
) {
  const at = stampedAt ?? (typeof action?.when === 'string' ? action.when : undefined);
  const source = stampedAt ? ('timestamp' as const) : at ? ('action' as const) : null;
  const start = editWindow.start.getTime() - j.policy.signingTimeSkewMs;
  const end = editWindow.end.getTime() + j.policy.signingTimeSkewMs;
  const window = { start: editWindow.start.toISOString(), end: editWindow.end.toISOString() };
  const t = at ? Date.parse(at) : NaN;
  j.list.add(
    "Signed during this job's edit",
    !Number.isNaN(t) && t >= start && t <= end,
    Number.isNaN(t)
      ? 'the manifest has no signing time to bind it to this job'
      : `signed at ${at} (${source === 'timestamp' ? 'trusted time-stamp' : 'action time'}); ` +
          `the edit ran ${window.start} to ${window.end} (±${seconds(j.policy.signingTimeSkewMs)} s)`,
  );
  return { at: at ?? null, source, window };
}
