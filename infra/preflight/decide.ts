/**
 * The preprovision preflight's one decision: can this image model, version, SKU and capacity be deployed in
 * this region today? Pure: it reads what the hooks (infra/hooks/preprovision.*) got from Azure and the model
 * catalog, and says no with the setting to change and the fix. No I/O.
 *
 * Inputs, in the shape the Azure CLI prints them (it unwraps the REST `value` array; `{ value: [...] }` is
 * accepted too):
 * - `az cognitiveservices model list -l REGION`: `Model` objects, `{ kind, skuName, model: AccountModel }`,
 *   AccountModel = `{ name, version, format, lifecycleStatus, deprecation: { inference }, skus: ModelSku[] }`,
 *   ModelSku = `{ name, usageName, deprecationDate, capacity: { minimum, maximum, default } }`;
 *   lifecycleStatus is one of Stable, Preview, GenerallyAvailable, Deprecating, Deprecated.
 * - `az cognitiveservices usage list -l REGION`: `Usage` objects, `{ name: { value }, currentValue, limit, unit }`.
 * Source: Azure/azure-rest-api-specs, specification/cognitiveservices/resource-manager/Microsoft.CognitiveServices/
 * stable/2025-06-01/cognitiveservices.json (definitions Model, AccountModel, ModelSku, Usage).
 */
import {
  checkModel,
  DEFAULT_IMAGE_MODEL,
  findModel,
  IMAGE_MODELS,
  latestVersion,
} from '../../shared/core/model-catalog.js';

export interface PreflightRequest {
  /** Catalog name of the model (IMAGE_MODEL_NAME). */
  model: string;
  /** Model version; default: the catalog's newest for the model (what main.bicep deploys). */
  version?: string;
  /** Deployment SKU (GlobalStandard in infra/modules/openai.bicep). */
  sku: string;
  /** Capacity units asked for (IMAGE_MODEL_CAPACITY). */
  capacity: number;
  /** Region of the Azure OpenAI account (AZURE_OPENAI_LOCATION). */
  region: string;
  /** Capacity the same deployment already holds (a re-provision): it counts in the usage but is not new. */
  existingCapacity?: number;
  today: Date;
  /** Parsed output of `az cognitiveservices model list -l REGION`. */
  models: unknown;
  /** Parsed output of `az cognitiveservices usage list -l REGION`. */
  usages: unknown;
  /** On a re-provision: the account an earlier provision made in this region, and its kind. */
  existingAccount?: { name: string; kind: string };
}

export interface Refusal {
  /** The azd environment variable to change. */
  setting: string;
  problem: string;
  fix: string;
}

export interface PreflightDecision {
  ok: boolean;
  refusals: Refusal[];
  /** Things worth knowing that do not stop the deployment (e.g. a retirement within 60 days). */
  notes: string[];
}

/** The azd environment variables the hooks and infra/main.bicepparam read. */
export const SETTINGS = {
  model: 'IMAGE_MODEL_NAME',
  capacity: 'IMAGE_MODEL_CAPACITY',
  region: 'AZURE_OPENAI_LOCATION',
  account: 'AZURE_OPENAI_ENDPOINT',
} as const;

/**
 * The account kind infra/modules/openai.bicep declares: a Microsoft Foundry resource, which Microsoft's
 * automatic upgrade of Azure OpenAI resources leaves as it is (see the comment there; test/infra keeps the two
 * equal). The image models are listed for both kinds.
 */
export const ACCOUNT_KIND = 'AIServices';
const MODEL_KINDS = new Set(['OpenAI', ACCOUNT_KIND]);

/** Microsoft's guide to upgrading an Azure OpenAI resource to a Foundry resource (keeps endpoint, identity, roles). */
export const UPGRADE_GUIDE = 'https://learn.microsoft.com/azure/foundry/how-to/upgrade-azure-openai';

interface AzureSku {
  name?: string;
  usageName?: string;
  deprecationDate?: string;
  capacity?: { minimum?: number | null; maximum?: number | null };
}

interface AzureModel {
  kind?: string;
  model?: {
    name?: string;
    version?: string;
    lifecycleStatus?: string;
    deprecation?: { inference?: string | null } | null;
    skus?: AzureSku[] | null;
  };
}

interface AzureUsage {
  name?: { value?: string };
  currentValue?: number;
  limit?: number;
}

const SAFE_LIFECYCLES = new Set(['generallyavailable', 'stable']);

export function decide(request: PreflightRequest): PreflightDecision {
  const refusals: Refusal[] = [];
  const notes: string[] = [];
  const done = () => ({ ok: refusals.length === 0, refusals, notes });
  const setModel = (name: string) => `azd env set ${SETTINGS.model} ${name}`;

  // 0. An account an earlier version made with another kind: changing a kind is an upgrade, done knowingly.
  const kind = request.existingAccount;
  if (kind && kind.kind !== ACCOUNT_KIND) {
    refusals.push({
      setting: SETTINGS.account,
      problem: `the account ${kind.name} is kind ${kind.kind}; this template deploys kind ${ACCOUNT_KIND} (a Foundry resource) and would change it`,
      fix: `upgrade ${kind.name} to a Foundry resource first (Azure portal: the account's Resource upgrade page; ${UPGRADE_GUIDE}), which keeps its endpoint, identity, roles and deployments, then run azd provision again`,
    });
    return done();
  }

  // 1. The catalog: unknown, preview-only and retired models stop here, before asking Azure anything.
  const known = checkModel(request.model, request.version, request.today);
  if (!known.ok) {
    refusals.push({ setting: SETTINGS.model, problem: known.problem, fix: setModel(successor(request.model)) });
    return done();
  }
  if (known.warning) notes.push(known.warning);
  const version = known.version.version;
  const label = `${request.model} ${version}`;
  const otherRegions = known.model.regions.filter((r) => r !== request.region);
  const regionFix = otherRegions.length
    ? `azd env set ${SETTINGS.region} <one of ${otherRegions.join(', ')}> (where the catalog lists ${request.model}), or another model`
    : `choose another model: ${setModel(DEFAULT_IMAGE_MODEL)}`;

  // 2. Does Azure offer that model and version in the region?
  const models = list<AzureModel>(request.models, 'az cognitiveservices model list');
  const sameName = models.filter(
    (m) => m.model?.name === request.model && (m.kind === undefined || MODEL_KINDS.has(m.kind)),
  );
  const offered = sameName.find((m) => m.model?.version === version)?.model;
  if (!offered) {
    const versions = [...new Set(sameName.map((m) => m.model?.version).filter(Boolean))];
    const there = versions.length ? ` (it lists version${versions.length > 1 ? 's' : ''} ${versions.join(', ')})` : '';
    refusals.push({
      setting: SETTINGS.region,
      problem: `${request.region} does not offer ${label}${there}`,
      fix: regionFix,
    });
    return done();
  }

  // 3. Azure's own view of its lifecycle: deprecated, deprecating, retired or preview models are refused.
  const lifecycle = offered.lifecycleStatus ?? '';
  const retiresAt = offered.deprecation?.inference ? Date.parse(offered.deprecation.inference) : NaN;
  const replacement = successor(request.model);
  if (!Number.isNaN(retiresAt) && retiresAt <= request.today.getTime()) {
    refusals.push({
      setting: SETTINGS.model,
      problem: `Azure lists ${label} as retired on ${offered.deprecation!.inference!.slice(0, 10)} in ${request.region}`,
      fix: setModel(replacement),
    });
  } else if (!SAFE_LIFECYCLES.has(lifecycle.toLowerCase())) {
    const why = /^deprecat/i.test(lifecycle)
      ? 'is being retired'
      : /^preview$/i.test(lifecycle)
        ? 'is a preview'
        : 'has a lifecycle status the preflight does not know';
    const when = Number.isNaN(retiresAt) ? '' : ` (retires ${offered.deprecation!.inference!.slice(0, 10)})`;
    refusals.push({
      setting: SETTINGS.model,
      problem: `Azure lists ${label} as "${lifecycle || 'no status'}" in ${request.region}: it ${why}${when}`,
      fix: setModel(replacement),
    });
  }

  // 4. The SKU: offered, and not past its own deprecation date.
  const sku = (offered.skus ?? []).find((s) => s.name === request.sku);
  if (!sku) {
    const skus = (offered.skus ?? []).map((s) => s.name).filter(Boolean);
    refusals.push({
      setting: SETTINGS.region,
      problem: `${request.region} offers ${label} as ${skus.join(', ') || 'no SKU'}, not ${request.sku}`,
      fix: regionFix,
    });
    return done();
  }
  if (sku.deprecationDate && Date.parse(sku.deprecationDate) <= request.today.getTime()) {
    refusals.push({
      setting: SETTINGS.region,
      problem: `${request.sku} for ${label} in ${request.region} was deprecated on ${sku.deprecationDate.slice(0, 10)}`,
      fix: regionFix,
    });
  }

  // 5. Capacity: within the SKU's bounds, and within the subscription's free quota in the region.
  const { minimum, maximum } = sku.capacity ?? {};
  if (typeof maximum === 'number' && request.capacity > maximum) {
    refusals.push({
      setting: SETTINGS.capacity,
      problem: `${request.capacity} units is over the ${maximum} a ${request.sku} deployment of ${label} may have`,
      fix: `azd env set ${SETTINGS.capacity} ${maximum}`,
    });
  } else if (typeof minimum === 'number' && request.capacity < minimum) {
    refusals.push({
      setting: SETTINGS.capacity,
      problem: `${request.capacity} units is under the minimum of ${minimum}`,
      fix: `azd env set ${SETTINGS.capacity} ${minimum}`,
    });
  }
  const usageName = sku.usageName ?? `OpenAI.${request.sku}.${request.model}`;
  const usage = list<AzureUsage>(request.usages, 'az cognitiveservices usage list').find(
    (u) => u.name?.value === usageName,
  );
  if (!usage || typeof usage.limit !== 'number') {
    refusals.push({
      setting: SETTINGS.region,
      problem: `the subscription has no quota ${usageName} in ${request.region} (is it approved for ${request.model}? the gpt-image models are limited access)`,
      fix: `request access or quota for ${request.model} in ${request.region}, or ${regionFix}`,
    });
    return done();
  }
  const used = Math.max(0, (usage.currentValue ?? 0) - (request.existingCapacity ?? 0));
  const free = Math.max(0, usage.limit - used);
  if (request.capacity > free) {
    const smaller = free >= 1 ? `azd env set ${SETTINGS.capacity} ${Math.floor(free)}, ` : '';
    refusals.push({
      setting: SETTINGS.capacity,
      problem: `${request.capacity} units of ${usageName} asked for, ${free} free in ${request.region} (limit ${usage.limit}, in use ${used})`,
      fix: `${smaller}free quota by deleting another ${request.model} deployment, request more quota, or ${regionFix}`,
    });
  }
  return done();
}

/** What to move to from `model`: its catalog replacement, else the default (if different), else the newest other model. */
function successor(model: string): string {
  const spec = findModel(model);
  const named = spec?.versions.map((v) => v.replacement).find(Boolean);
  if (named) return named;
  if (model !== DEFAULT_IMAGE_MODEL) return DEFAULT_IMAGE_MODEL;
  const others = IMAGE_MODELS.filter((m) => m.name !== model);
  return others.reduce((a, b) => (latestVersion(a).released >= latestVersion(b).released ? a : b), others[0]!).name;
}

/** The array an `az ... list` command printed (or a REST `{ value: [...] }` body). */
function list<T>(json: unknown, command: string): T[] {
  if (Array.isArray(json)) return json as T[];
  if (json && typeof json === 'object' && Array.isArray((json as { value?: unknown }).value))
    return (json as { value: T[] }).value;
  throw new PreflightInputError(`the output of \`${command}\` is not a JSON array`);
}

export class PreflightInputError extends Error {}

/** The refusals as the hook prints them: what, which setting, and the fix. */
export function formatDecision(
  request: Pick<PreflightRequest, 'model' | 'version' | 'sku' | 'capacity' | 'region'>,
  decision: PreflightDecision,
): string {
  const model = request.version ? `${request.model} ${request.version}` : request.model;
  const what = `${model} (${request.sku}, ${request.capacity} units) in ${request.region}`;
  const lines = decision.notes.map((n) => `preflight: note: ${n}`);
  if (decision.ok) lines.push(`preflight: ${what} can be deployed`);
  else {
    lines.push(`preflight: cannot deploy ${what}; nothing has been created:`);
    for (const r of decision.refusals) lines.push(`  - ${r.setting}: ${r.problem}`, `    fix: ${r.fix}`);
  }
  return lines.join('\n');
}
