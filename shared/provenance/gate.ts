/**
 * The publish gate: a pure function from what c2pa-rs reported about a file to a verdict with reasons.
 * Publish only when a manifest is present, its claim signature is valid and inside validity, the signer
 * chains to a trust anchor with an allowed EKU, a time-stamp (when present) is trusted, the pixels match
 * the hard binding, and an action names an allowed software agent with an AI digital source type. Any
 * other failure code quarantines, unless it is on the tolerated list for that assertion.
 */
import type { AgentScope, ToleratedFailure } from '../config.js';

export interface ValidationStatus {
  code: string;
  url?: string;
  explanation?: string;
}

interface StatusCodes {
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
  signature_info?: { issuer?: string; common_name?: string; time?: string; alg?: string };
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

/** What reading the file gave: a manifest store, or why there was none. */
export type C2paReading = { ok: true; store: ManifestStoreJson } | { ok: false; error: string };

export interface GatePolicy {
  trustAnchors: string[];
  allowedAgents: string[];
  allowedSourceTypes: string[];
  agentScope: AgentScope;
  tolerated: ToleratedFailure[];
  signingTimeSkewMs: number;
}

export interface GateContext {
  file: string;
  /** The job's model call, when the file belongs to a known job: the signing time must fall inside it. */
  editWindow?: { start: Date; end: Date };
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
    signer: { issuer: string | null; commonName: string | null; trusted: boolean; signedAt: string | null; timestampAuthority: string | null };
    softwareAgent: string | null;
    agentFoundIn: 'active' | 'ingredient' | null;
    digitalSourceType: string | null;
    dataHash: 'match' | 'mismatch' | 'absent';
    ingredients: IngredientSummary[];
  };
  validation: { state: string | null; failures: ValidationStatus[]; tolerated: { code: string; url: string | null }[] };
  policy: { trustAnchors: string[]; allowedAgents: string[]; agentScope: AgentScope; toleratedCodes: string[]; allowedSourceTypes: string[] };
  /** The checklist behind the verdict, in the order a person would read it. */
  checks: Check[];
  /** When the job's edit window was checked: the window and where the signing time came from. */
  signingTime?: { at: string | null; source: 'timestamp' | 'action' | null; window: { start: string; end: string } };
}

interface Action {
  action?: string;
  when?: string;
  softwareAgent?: string | { name?: string };
  softwareAgentIndex?: number;
  digitalSourceType?: string;
}

const ACTIONS_LABEL = /^c2pa\.actions(\.v\d+)?(__\d+)?$/;

/** The assertion label a validation URL points at (`…/c2pa.assertions/c2pa.soft-binding__1` → `c2pa.soft-binding`). */
export function assertionLabel(url: string | undefined): string | null {
  const m = /\/c2pa\.assertions\/([^/]+)$/.exec(url ?? '');
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

function sourceTypeName(value: string | undefined): string | null {
  if (!value) return null;
  return value.slice(value.lastIndexOf('/') + 1);
}

function claimGenerator(m: ManifestJson): string | null {
  const info = m.claim_generator_info?.[0];
  return info?.name ? `${info.name}${info.version ? ` ${info.version}` : ''}` : (m.claim_generator ?? null);
}

function actionsOf(m: ManifestJson): { action: Action; agent: string | null }[] {
  const out: { action: Action; agent: string | null }[] = [];
  for (const a of m.assertions ?? []) {
    if (!ACTIONS_LABEL.test(a.label)) continue;
    const data = (a.data ?? {}) as { actions?: Action[]; softwareAgents?: ({ name?: string } | string)[] };
    for (const action of data.actions ?? []) {
      let agent: string | null = null;
      if (typeof action.softwareAgent === 'string') agent = action.softwareAgent;
      else if (action.softwareAgent?.name) agent = action.softwareAgent.name;
      else if (typeof action.softwareAgentIndex === 'number') {
        const entry = data.softwareAgents?.[action.softwareAgentIndex];
        agent = typeof entry === 'string' ? entry : (entry?.name ?? null);
      }
      out.push({ action, agent });
    }
  }
  return out;
}

function findAgentAction(m: ManifestJson, policy: GatePolicy): { action: Action; agent: string } | undefined {
  const types = new Set(policy.allowedSourceTypes.map((t) => sourceTypeName(t)));
  for (const { action, agent } of actionsOf(m)) {
    if (agent && policy.allowedAgents.includes(agent) && types.has(sourceTypeName(action.digitalSourceType))) return { action, agent };
  }
  return undefined;
}

export function evaluateGate(reading: C2paReading, policy: GatePolicy, context: GateContext): ProvenanceReport {
  const report: ProvenanceReport = {
    file: context.file,
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
  const check = (name: string, ok: boolean, detail: string, reason?: string) => {
    report.checks.push({ name, ok, detail });
    if (!ok) report.reasons.push(reason ?? detail);
  };

  if (!reading.ok) {
    check('Content Credentials present', false, reading.error);
    return report;
  }
  const { store } = reading;
  const active = store.active_manifest ? store.manifests?.[store.active_manifest] : undefined;
  report.validation.state = store.validation_state ?? null;
  if (!store.active_manifest || !active) {
    check('Content Credentials present', false, 'the manifest store has no active manifest');
    return report;
  }
  check('Content Credentials present', true, `active manifest ${store.active_manifest}`);

  const results = store.validation_results ?? {};
  const success = results.activeManifest?.success ?? [];
  const has = (code: string) => success.some((s) => s.code === code);
  const deltas = results.ingredientDeltas ?? [];
  const isTolerated = (f: ValidationStatus) => policy.tolerated.some((t) => t.code === f.code && t.label === assertionLabel(f.url));

  // Every failure, in the active manifest or an ingredient's, counts unless tolerated for its assertion.
  const seen = new Set<string>();
  const failures = [...(results.activeManifest?.failure ?? []), ...deltas.flatMap((d) => d.validationDeltas.failure ?? [])].filter((f) => {
    const key = `${f.code}|${f.url ?? ''}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  for (const f of failures) {
    if (isTolerated(f)) report.validation.tolerated.push({ code: f.code, url: f.url ?? null });
    else report.validation.failures.push({ code: f.code, ...(f.url ? { url: f.url } : {}), ...(f.explanation ? { explanation: f.explanation } : {}) });
  }
  const failureDetail = (prefix: string) =>
    report.validation.failures
      .filter((f) => f.code.startsWith(prefix))
      .map((f) => `${f.code}${f.explanation ? ` (${f.explanation})` : ''}`)
      .join(', ');

  const sig = active.signature_info ?? {};
  const trusted = has('signingCredential.trusted');
  const tsValidated = success.find((s) => s.code === 'timeStamp.validated');
  const timestampAuthority = tsValidated?.explanation?.split(': ').slice(1).join(': ').trim() || null;
  const timestamped = [...success, ...report.validation.failures].some((s) => s.code.startsWith('timeStamp.'));
  const dataHash: 'match' | 'mismatch' | 'absent' =
    has('assertion.dataHash.match') || has('assertion.boxesHash.match')
      ? 'match'
      : failures.some((f) => f.code === 'assertion.dataHash.mismatch' || f.code === 'assertion.boxesHash.mismatch')
        ? 'mismatch'
        : 'absent';

  const signer = sig.common_name ?? sig.issuer ?? 'an unnamed signer';
  // Failure codes a failed check below already explains; every other failure gets a reason of its own.
  const explained: string[] = [];
  const signatureOk = has('claimSignature.validated');
  if (!signatureOk) explained.push('claimSignature.');
  check('Claim signature valid', signatureOk, signatureOk ? `signed by ${signer}` : `the claim signature did not validate${failureDetail('claimSignature') ? `: ${failureDetail('claimSignature')}` : ''}`);
  const insideValidity = has('claimSignature.insideValidity');
  if (!insideValidity) explained.push('claimSignature.', 'signingCredential.expired');
  check(
    'Signed inside the certificate validity',
    insideValidity,
    insideValidity ? 'yes' : `the signature falls outside its certificate's validity${failureDetail('signingCredential.expired') ? `: ${failureDetail('signingCredential.expired')}` : ''}`,
  );
  if (!trusted) explained.push('signingCredential.');
  check(
    'Signer trusted',
    trusted,
    trusted ? `${signer} chains to a configured trust anchor` : `${signer} is not trusted: ${failureDetail('signingCredential') || 'it does not chain to a configured trust anchor with an allowed EKU'}`,
  );
  if (timestamped) {
    const tsTrusted = has('timeStamp.trusted');
    if (!tsTrusted) explained.push('timeStamp.');
    // c2pa-rs reports an untrusted time-stamp as informational, yet without trust its time proves nothing.
    const tsInfo = (results.activeManifest?.informational ?? []).filter((i) => i.code.startsWith('timeStamp.')).map((i) => `${i.code}${i.explanation ? ` (${i.explanation})` : ''}`);
    check(
      'Time-stamp trusted',
      tsTrusted,
      tsTrusted ? `time-stamped by ${timestampAuthority ?? 'a trusted authority'} at ${sig.time ?? 'an unknown time'}` : `the time-stamp is not trusted: ${[failureDetail('timeStamp'), ...tsInfo].filter(Boolean).join(', ') || 'no trusted time-stamp authority'}`,
    );
  }
  if (dataHash !== 'match') explained.push('assertion.dataHash.', 'assertion.boxesHash.');
  check(
    'Pixels intact',
    dataHash === 'match',
    dataHash === 'match' ? 'the data hash matches the file' : dataHash === 'mismatch' ? 'the file changed after it was signed (data hash mismatch)' : 'the manifest does not bind the pixels (no data hash)',
  );

  // Who made it: on the active manifest, or (AGENT_SCOPE=chain) on a validated ingredient manifest.
  const activeAgent = findAgentAction(active, policy);
  let found: { action: Action; agent: string; where: 'active' | 'ingredient' } | undefined = activeAgent && { ...activeAgent, where: 'active' };
  const ingredients: IngredientSummary[] = [];
  let ingredientAgent: { action: Action; agent: string } | undefined;
  for (const ing of active.ingredients ?? []) {
    const m = ing.active_manifest ? store.manifests?.[ing.active_manifest] : undefined;
    const agentHere = m ? findAgentAction(m, policy) : undefined;
    ingredients.push({
      title: ing.title ?? null,
      relationship: ing.relationship ?? null,
      claimGenerator: m ? claimGenerator(m) : null,
      softwareAgent: agentHere?.agent ?? (m ? (actionsOf(m).find((a) => a.agent)?.agent ?? null) : null),
    });
    if (!m || !agentHere || ingredientAgent) continue;
    const delta = deltas.find((d) => ing.label && assertionLabel(d.ingredientAssertionURI) === ing.label.replace(/__\d+$/, ''));
    const validated =
      !!delta &&
      (delta.validationDeltas.success ?? []).some((s) => s.code === 'ingredient.manifest.validated') &&
      (delta.validationDeltas.success ?? []).some((s) => s.code === 'signingCredential.trusted') &&
      (delta.validationDeltas.failure ?? []).every(isTolerated);
    if (validated) ingredientAgent = agentHere;
  }
  if (!found && policy.agentScope === 'chain' && ingredientAgent) found = { ...ingredientAgent, where: 'ingredient' };
  const anyAgent = actionsOf(active).find((a) => a.agent);
  const wanted = `an allowed software agent (${policy.allowedAgents.join(', ')}) with digital source type ${policy.allowedSourceTypes.map((t) => sourceTypeName(t)).join(' or ')}`;
  check(
    'Made by an allowed AI agent',
    !!found,
    found
      ? `${found.agent}, ${sourceTypeName(found.action.digitalSourceType)}, on the ${found.where === 'active' ? 'active manifest' : 'ingredient manifest'}`
      : `no action on the ${policy.agentScope === 'chain' ? 'active or a validated ingredient manifest' : 'active manifest'} names ${wanted}` +
          (policy.agentScope === 'active' && ingredientAgent ? `; a validated ingredient manifest does (AGENT_SCOPE=chain would accept it)` : '') +
          (anyAgent ? `; the active manifest names ${anyAgent.agent}` : ''),
  );

  const otherFailures = report.validation.failures.filter((f) => !explained.some((prefix) => f.code.startsWith(prefix)));
  check(
    'No other validation failures',
    otherFailures.length === 0,
    otherFailures.length === 0
      ? report.validation.tolerated.length
        ? `tolerated: ${describeTolerated(report.validation.tolerated)}`
        : 'none'
      : otherFailures.map((f) => `${f.code} on ${shortUrl(f.url)}${f.explanation ? ` (${f.explanation})` : ''}`).join('; '),
  );

  if (context.editWindow) {
    const stampedAt = has('timeStamp.trusted') ? sig.time : undefined;
    const at = stampedAt ?? found?.action.when;
    const source = stampedAt ? 'timestamp' : at ? 'action' : null;
    const start = context.editWindow.start.getTime() - policy.signingTimeSkewMs;
    const end = context.editWindow.end.getTime() + policy.signingTimeSkewMs;
    const window = { start: context.editWindow.start.toISOString(), end: context.editWindow.end.toISOString() };
    report.signingTime = { at: at ?? null, source, window };
    const t = at ? Date.parse(at) : NaN;
    check(
      "Signed during this job's edit",
      !Number.isNaN(t) && t >= start && t <= end,
      Number.isNaN(t)
        ? 'the manifest has no signing time to bind it to this job'
        : `signed at ${at} (${source === 'timestamp' ? 'trusted time-stamp' : 'action time'}); the edit ran ${window.start} to ${window.end} (±${Math.round(policy.signingTimeSkewMs / 1000)} s)`,
    );
  }

  const agentAction = found ?? (anyAgent ? { ...anyAgent, agent: anyAgent.agent!, where: null } : undefined);
  report.manifest = {
    activeLabel: store.active_manifest,
    claimGenerator: claimGenerator(active),
    title: active.title ?? null,
    format: active.format ?? null,
    signer: { issuer: sig.issuer ?? null, commonName: sig.common_name ?? null, trusted, signedAt: sig.time ?? null, timestampAuthority },
    softwareAgent: agentAction?.agent ?? null,
    agentFoundIn: found?.where ?? null,
    digitalSourceType: agentAction?.action.digitalSourceType ?? null,
    dataHash,
    ingredients,
  };
  if (report.reasons.length === 0) report.verdict = 'publish';
  return report;
}
