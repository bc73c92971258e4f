/**
 * The semantic checks on infra/, as functions from parsed files to a list of problems, so that the tests
 * can run them on the real templates (expecting none) and on deliberately broken copies (expecting some).
 */
import type { Node } from 'web-tree-sitter';
import { BLOB_CREATED, BLOB_CREATED_APIS, CONTAINERS, EVENT_SUBSCRIPTIONS } from '../../shared/core/containers.js';
import { ACCOUNT_KIND } from '../../infra/preflight/decide.js';
import { DEFAULT_IMAGE_MODEL, findModel, IMAGE_MODELS, latestVersion } from '../../shared/core/model-catalog.js';
import {
  BicepFile,
  descendants,
  evaluate,
  get,
  isUnknown,
  moduleArguments,
  parseBicep,
  props,
  stringParts,
  stringValue,
  Unknown,
  where,
  type Value,
} from './bicep.js';

/**
 * Built-in role definitions this deployment may assign: id → name, as listed in Azure's built-in roles
 * (the ids are the same in every tenant). The Bicep must carry the name in a comment next to each id.
 */
export const BUILT_IN_ROLES: Record<string, string> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1': 'Storage Blob Data Reader',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd': 'Cognitive Services OpenAI User',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  'd5a91429-5739-47e2-a06b-3470a27159e7': 'EventGrid Data Sender',
};

/** Where any catalog model is offered, in the catalog's order. */
export const OPENAI_REGIONS = [...new Set(IMAGE_MODELS.flatMap((m) => m.regions))];

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

export interface Templates {
  main: BicepFile;
  storage: BicepFile;
  openai: BicepFile;
  roles: BicepFile;
  functionApp: BicepFile;
  monitoring: BicepFile;
  eventGridTopic: BicepFile;
  eventSubscriptions: BicepFile;
  network: BicepFile;
  keyVault: BicepFile;
  outcomeTopic: BicepFile;
  all: BicepFile[];
}

export const TEMPLATE_FILES = {
  main: 'infra/main.bicep',
  storage: 'infra/modules/storage.bicep',
  openai: 'infra/modules/openai.bicep',
  roles: 'infra/modules/roles.bicep',
  functionApp: 'infra/modules/function-app.bicep',
  monitoring: 'infra/modules/monitoring.bicep',
  eventGridTopic: 'infra/modules/event-grid-topic.bicep',
  eventSubscriptions: 'infra/event-subscriptions.bicep',
  network: 'infra/modules/network.bicep',
  keyVault: 'infra/modules/key-vault.bicep',
  outcomeTopic: 'infra/modules/outcome-topic.bicep',
} as const;

/** Loads the templates; `edits` replaces a file's text first (for the tests that break them on purpose). */
export async function loadTemplates(
  allFiles: string[],
  edits: Partial<Record<keyof typeof TEMPLATE_FILES, (text: string) => string>> = {},
): Promise<Templates> {
  const loaded = new Map<string, BicepFile>();
  for (const file of allFiles) {
    const key = (Object.keys(TEMPLATE_FILES) as (keyof typeof TEMPLATE_FILES)[]).find(
      (k) => TEMPLATE_FILES[k] === file,
    );
    const edit = key ? edits[key] : undefined;
    if (edit) {
      const original = await BicepFile.load(file);
      const text = edit(original.text);
      if (text === original.text) throw new Error(`the edit of ${file} changed nothing`);
      loaded.set(file, new BicepFile(file, text, await parseBicep(text)));
    } else loaded.set(file, await BicepFile.load(file));
  }
  const pick = (file: string) => {
    const f = loaded.get(file);
    if (!f) throw new Error(`${file} is missing`);
    return f;
  };
  return {
    main: pick(TEMPLATE_FILES.main),
    storage: pick(TEMPLATE_FILES.storage),
    openai: pick(TEMPLATE_FILES.openai),
    roles: pick(TEMPLATE_FILES.roles),
    functionApp: pick(TEMPLATE_FILES.functionApp),
    monitoring: pick(TEMPLATE_FILES.monitoring),
    eventGridTopic: pick(TEMPLATE_FILES.eventGridTopic),
    eventSubscriptions: pick(TEMPLATE_FILES.eventSubscriptions),
    network: pick(TEMPLATE_FILES.network),
    keyVault: pick(TEMPLATE_FILES.keyVault),
    outcomeTopic: pick(TEMPLATE_FILES.outcomeTopic),
    all: [...loaded.values()],
  };
}

const show = (v: Value) => (isUnknown(v) ? `<${v.reason}>` : JSON.stringify(v));

// ---- API versions -------------------------------------------------------------------------------------

/** Every resource declaration names its type with an explicit, GA (non-preview) API version. */
export function apiVersionProblems(files: BicepFile[]): string[] {
  const problems: string[] = [];
  for (const f of files) {
    for (const r of f.resources) {
      if (!r.apiVersion)
        problems.push(`${where(f.file, r.node)}: resource ${r.symbol} ('${r.typeString}') has no @api-version`);
      else if (!/^\d{4}-\d{2}-\d{2}$/.test(r.apiVersion))
        problems.push(
          `${where(f.file, r.node)}: resource ${r.symbol} uses API version ${r.apiVersion}; use a GA version`,
        );
      if (!/^[A-Za-z]+\.[A-Za-z.]+\/[A-Za-z/]+$/.test(r.type))
        problems.push(`${where(f.file, r.node)}: resource ${r.symbol} has no fully qualified type ('${r.typeString}')`);
    }
  }
  return problems;
}

// ---- Role assignments ---------------------------------------------------------------------------------

export interface Assignment {
  file: string;
  symbol: string;
  role: string;
  /** Type of the resource it is scoped to. */
  scopeType: string;
  /** The principalId expression, as written. */
  principal: string;
  conditional: boolean;
}

export function roleAssignments(files: BicepFile[]): { assignments: Assignment[]; problems: string[] } {
  const problems: string[] = [];
  const assignments: Assignment[] = [];
  for (const f of files) {
    // Every GUID written anywhere is a known built-in role, with its name in a comment on the same line.
    for (const s of descendants(f.root, 'string')) {
      const text = stringValue(s);
      if (!text || !GUID.test(text)) continue;
      const id = GUID.exec(text)![0].toLowerCase();
      const name = BUILT_IN_ROLES[id];
      if (!name) problems.push(`${where(f.file, s)}: ${id} is not a built-in role this deployment knows`);
      else if (f.trailingComment(s) !== name)
        problems.push(
          `${where(f.file, s)}: the comment next to ${id} must name the role "${name}", found ${JSON.stringify(f.trailingComment(s) ?? '')}`,
        );
    }
    for (const r of f.resourcesOfType('Microsoft.Authorization/roleAssignments')) {
      const at = `${where(f.file, r.node)}: role assignment ${r.symbol}`;
      const definitionNode = get(r.body, 'properties.roleDefinitionId');
      const definition = evaluate(definitionNode, { file: f });
      const id = typeof definition === 'string' ? GUID.exec(definition)?.[0]?.toLowerCase() : undefined;
      const role = id ? BUILT_IN_ROLES[id] : customRoleOf(f, definitionNode);
      if (!role) problems.push(`${at}: roleDefinitionId ${show(definition)} is not a known built-in role`);
      const scope = get(r.body, 'scope');
      const scoped = scope?.type === 'identifier' ? f.resourceBySymbol(scope.text) : undefined;
      if (!scoped)
        problems.push(
          `${at}: must be scoped to a resource declared in the file (scope: ${scope?.text ?? 'none, i.e. the whole resource group'})`,
        );
      if (!get(r.body, 'properties.principalType')) problems.push(`${at}: set principalType`);
      const principal = get(r.body, 'properties.principalId')?.text ?? '';
      if (role && scoped)
        assignments.push({
          file: f.file,
          symbol: r.symbol,
          role,
          scopeType: scoped.type,
          principal,
          conditional: r.condition !== undefined,
        });
    }
  }
  return { assignments, problems };
}

/** `<symbol>.id` of a role definition declared in the same file: named "custom role <symbol>". */
function customRoleOf(f: BicepFile, node: Node | undefined): string | undefined {
  const symbol = /^(\w+)\.id$/.exec(node?.text ?? '')?.[1];
  const declared = symbol ? f.resourceBySymbol(symbol) : undefined;
  return declared?.type === 'Microsoft.Authorization/roleDefinitions' ? `custom role ${symbol}` : undefined;
}

// ---- Secrets ------------------------------------------------------------------------------------------

const SECRET_NAME = /key|secret|password|connection|sas\b|token|credential/i;

/** Names in an expression (identifiers and property names) that point at secrets. */
function secretReferences(node: Node | undefined): string[] {
  if (!node) return [];
  const names = [...descendants(node, 'property_identifier'), ...descendants(node, 'identifier')].map((n) => n.text);
  if (node.type === 'identifier' || node.type === 'property_identifier') names.push(node.text);
  return names.filter((n) => /connectionstring|^keys?$|primarykey|secondarykey|secret|password|sas/i.test(n));
}

/**
 * No listKeys()/list*() calls, no secret-looking outputs, no webhook URLs (which carry function keys), and
 * no app setting that holds a key or connection string except the documented APPLICATIONINSIGHTS_CONNECTION_STRING.
 */
export function secretProblems(t: Templates): string[] {
  const problems: string[] = [];
  for (const f of t.all) {
    for (const call of descendants(f.root, 'call_expression')) {
      const fn = call.childForFieldName('function');
      const name = fn?.type === 'member_expression' ? fn.childForFieldName('property')?.text : fn?.text;
      if (name && /^list/i.test(name))
        problems.push(`${where(f.file, call)}: ${name}() reads secrets; use identities and role assignments`);
    }
    for (const o of f.outputs) {
      if (SECRET_NAME.test(o.name)) problems.push(`${where(f.file, o.node)}: output ${o.name} looks like a secret`);
      const refs = secretReferences(o.value);
      if (refs.length) problems.push(`${where(f.file, o.node)}: output ${o.name} exposes ${refs.join(', ')}`);
    }
    for (const p of descendants(f.root, 'object_property')) {
      const key = p.namedChildren[0];
      if (key?.text === 'endpointUrl')
        problems.push(
          `${where(f.file, p)}: webhook endpointUrl (function keys travel in such URLs); use an AzureFunction endpoint`,
        );
    }
    for (const s of descendants(f.root, 'string')) {
      if (/[?&]code=/.test(s.text)) problems.push(`${where(f.file, s)}: a URL with a function key`);
    }
  }
  for (const [name, value] of appSettingExpressions(t)) {
    if (name === 'APPLICATIONINSIGHTS_CONNECTION_STRING') {
      // Allowed, and only as the component's own connection string (see the comment in function-app.bicep).
      if (!/\.properties\.ConnectionString$/.test(value.node.text))
        problems.push(
          `${where(value.file.file, value.node)}: APPLICATIONINSIGHTS_CONNECTION_STRING must be the component's ConnectionString`,
        );
      if (!/not a credential/i.test(commentAbove(value.file, value.node)))
        problems.push(
          `${where(value.file.file, value.node)}: explain next to APPLICATIONINSIGHTS_CONNECTION_STRING why it is not a credential`,
        );
      continue;
    }
    if (SECRET_NAME.test(name) && name !== 'AzureWebJobsStorage__credential')
      problems.push(`app setting ${name} looks like a secret`);
    const refs = secretReferences(value.node);
    if (refs.length)
      problems.push(`${where(value.file.file, value.node)}: app setting ${name} is built from ${refs.join(', ')}`);
  }
  return problems;
}

function commentAbove(file: BicepFile, node: Node): string {
  const lines: string[] = [];
  for (let row = node.startPosition.row - 1; row >= 0; row--) {
    const line = (file.lines[row] ?? '').trim();
    if (!line.startsWith('//')) break;
    lines.unshift(line.slice(2).trim());
  }
  return lines.join(' ');
}

// ---- App settings -------------------------------------------------------------------------------------

export interface SettingExpression {
  file: BicepFile;
  node: Node;
}

/**
 * The function app's app settings, name → value expression: the `appsettings` config resource's
 * properties, followed through `union(...)`, the module parameter and main.bicep's variable.
 */
export function appSettingExpressions(t: Templates): Map<string, SettingExpression> {
  const configs = t.all.flatMap((f) => f.resourcesOfType('Microsoft.Web/sites/config').map((r) => ({ f, r })));
  const settings = configs.filter(({ r }) => stringValue(get(r.body, 'name')) === 'appsettings');
  if (settings.length !== 1)
    throw new Error(`expected one Microsoft.Web/sites/config 'appsettings' resource, found ${settings.length}`);
  const { f, r } = settings[0]!;
  const out = new Map<string, SettingExpression>();
  const collect = (node: Node | undefined, file: BicepFile) => {
    if (!node) throw new Error(`${file.file}: app settings expression missing`);
    if (node.type === 'object') {
      for (const [k, v] of props(node)) {
        if (out.has(k)) throw new Error(`${where(file.file, v)}: app setting ${k} set twice`);
        out.set(k, { file, node: v });
      }
    } else if (node.type === 'call_expression' && node.childForFieldName('function')?.text === 'union') {
      for (const arg of node.childForFieldName('arguments')?.namedChildren ?? []) collect(arg, file);
    } else if (node.type === 'identifier' && file.vars.has(node.text)) {
      collect(file.vars.get(node.text), file);
    } else if (node.type === 'identifier' && file.params.has(node.text)) {
      // A module parameter: follow it to the argument main.bicep passes.
      const caller = t.main.modules.find((m) => `infra/${m.path}` === file.file);
      if (!caller) throw new Error(`${file.file}: nobody passes ${node.text}`);
      collect(get(caller.body, `params.${node.text}`), t.main);
    } else throw new Error(`${where(file.file, node)}: cannot follow app settings expression ${node.text}`);
  };
  collect(get(r.body, 'properties'), f);
  // App settings set anywhere else would escape the check.
  for (const file of t.all) {
    for (const p of descendants(file.root, 'object_property')) {
      if (
        p.namedChildren[0]?.text === 'appSettings' &&
        p.parent?.parent?.type === 'object_property' &&
        p.parent.parent.namedChildren[0]?.text === 'siteConfig'
      ) {
        throw new Error(`${where(file.file, p)}: siteConfig.appSettings bypasses the appsettings resource`);
      }
    }
  }
  return out;
}

// ---- Storage ------------------------------------------------------------------------------------------

export function storageProblems(t: Templates): string[] {
  const problems: string[] = [];
  const args = moduleArguments(t.main, 'modules/storage.bicep');
  const accounts = t.storage.resourcesOfType('Microsoft.Storage/storageAccounts', { existing: false });
  if (accounts.length !== 1) return [`${t.storage.file}: expected one storage account, found ${accounts.length}`];
  const account = accounts[0]!;
  const scope = (overrides: Record<string, Value> = {}) => ({
    file: t.storage,
    locals: new Map([...args, ...Object.entries(overrides)]),
  });
  const expectProp = (name: string, want: Value) => {
    const v = evaluate(get(account.body, `properties.${name}`), scope());
    if (JSON.stringify(v) !== JSON.stringify(want))
      problems.push(
        `${where(t.storage.file, account.node)}: properties.${name} is ${show(v)}, want ${JSON.stringify(want)}`,
      );
  };
  expectProp('allowSharedKeyAccess', false);
  expectProp('minimumTlsVersion', 'TLS1_2');
  expectProp('supportsHttpsTrafficOnly', true);
  expectProp('allowBlobPublicAccess', false);

  const publicParam = t.main.params.get('publishedPublicRead');
  if (!publicParam || evaluate(publicParam.default, { file: t.main }) !== false)
    problems.push(`${t.main.file}: param publishedPublicRead must exist and default to false`);

  // Container access, with publishedPublicRead off (default) and on: only `published` may ever be public.
  const containers = t.storage.resourcesOfType('Microsoft.Storage/storageAccounts/blobServices/containers', {
    existing: false,
  });
  for (const publishedPublicRead of [false, true]) {
    const allow = evaluate(get(account.body, 'properties.allowBlobPublicAccess'), scope({ publishedPublicRead }));
    if (allow !== publishedPublicRead)
      problems.push(`allowBlobPublicAccess is ${show(allow)} when publishedPublicRead is ${publishedPublicRead}`);
    for (const c of containers) {
      const instances: Value[] = c.loop ? asArray(evaluate(c.loop.over, scope({ publishedPublicRead }))) : [null];
      for (const item of instances) {
        const locals = c.loop ? { [c.loop.variable]: item } : {};
        const name = evaluate(get(c.body, 'name'), scope({ publishedPublicRead, ...locals }));
        const access = evaluate(get(c.body, 'properties.publicAccess'), scope({ publishedPublicRead, ...locals }));
        const want = publishedPublicRead && name === CONTAINERS.published ? 'Blob' : 'None';
        if (access !== want)
          problems.push(
            `${where(t.storage.file, c.node)}: container ${show(name)} has publicAccess ${show(access)} with publishedPublicRead=${publishedPublicRead}, want '${want}'`,
          );
      }
    }
  }

  const blob = t.storage.resourcesOfType('Microsoft.Storage/storageAccounts/blobServices', { existing: false })[0];
  for (const policy of ['deleteRetentionPolicy', 'containerDeleteRetentionPolicy']) {
    if (evaluate(get(blob?.body, `properties.${policy}.enabled`), scope()) !== true)
      problems.push(`${t.storage.file}: blob service ${policy} must be enabled`);
  }

  // Lifecycle: delete inbox/ and edited/ after a parameter number of days, and age out dead letters.
  const lifecycle = t.storage.resourcesOfType('Microsoft.Storage/storageAccounts/managementPolicies')[0];
  const rules = asArray(evaluate(get(lifecycle?.body, 'properties.policy.rules'), scope()));
  const deletedAfter = new Map<string, Value>();
  for (const rule of rules) {
    const r = rule as {
      enabled?: Value;
      definition?: {
        filters?: { prefixMatch?: Value };
        actions?: { baseBlob?: { delete?: { daysAfterModificationGreaterThan?: Value } } };
      };
    };
    if (r.enabled !== true) continue;
    const days = r.definition?.actions?.baseBlob?.delete?.daysAfterModificationGreaterThan;
    for (const prefix of asArray(r.definition?.filters?.prefixMatch ?? []))
      if (typeof prefix === 'string' && days !== undefined) deletedAfter.set(prefix, days);
  }
  for (const prefix of [`${CONTAINERS.inbox}/`, `${CONTAINERS.edited}/`, `${CONTAINERS.deadLetter}/`]) {
    const days = deletedAfter.get(prefix);
    if (typeof days !== 'number' || days < 1)
      problems.push(
        `${t.storage.file}: no lifecycle rule deletes blobs under ${prefix} (found ${[...deletedAfter.keys()].join(', ') || 'none'})`,
      );
  }
  for (const name of ['workingBlobRetentionDays'])
    if (!t.main.params.has(name) || !t.storage.params.has(name))
      problems.push(`the retention in days must be a parameter (${name})`);
  return problems;
}

function asArray(v: Value | undefined): Value[] {
  return Array.isArray(v) ? v : [];
}

// ---- Azure OpenAI -------------------------------------------------------------------------------------

export function openAiProblems(t: Templates): string[] {
  const problems: string[] = [];
  const accounts = t.openai.resourcesOfType('Microsoft.CognitiveServices/accounts', { existing: false });
  if (accounts.length !== 1)
    return [`${t.openai.file}: expected one Cognitive Services account, found ${accounts.length}`];
  const account = accounts[0]!;
  const scope = { file: t.openai, locals: moduleArguments(t.main, 'modules/openai.bicep') };
  const at = where(t.openai.file, account.node);
  if (evaluate(get(account.body, 'properties.disableLocalAuth'), scope) !== true)
    problems.push(`${at}: properties.disableLocalAuth must be true`);
  const subdomain = get(account.body, 'properties.customSubDomainName');
  const subdomainValue = evaluate(subdomain, scope);
  if (!subdomain || subdomainValue === '' || subdomainValue === null)
    problems.push(`${at}: properties.customSubDomainName must be set (Entra ID auth needs it)`);
  // The kind the preprovision hook checks existing accounts against (a Foundry resource survives the upgrade).
  const kind = evaluate(get(account.body, 'kind'), scope);
  if (kind !== ACCOUNT_KIND) problems.push(`${at}: kind is ${show(kind)}, want '${ACCOUNT_KIND}' (the preflight's)`);
  const endpoint = t.openai.outputs.find((o) => o.name === 'endpoint')?.value?.text;
  if (endpoint !== "'https://${account.properties.customSubDomainName}.openai.azure.com/'")
    problems.push(
      `${t.openai.file}: output endpoint must be the account's openai.azure.com host, is ${endpoint ?? 'missing'}`,
    );
  if (evaluate(get(account.body, 'sku.name'), scope) !== 'S0') problems.push(`${at}: sku must be S0`);

  const deployments = t.openai.resourcesOfType('Microsoft.CognitiveServices/accounts/deployments');
  if (deployments.length !== 1) problems.push(`${t.openai.file}: expected one model deployment`);
  for (const d of deployments) {
    if (evaluate(get(d.body, 'sku.name'), scope) !== 'GlobalStandard')
      problems.push(`${where(t.openai.file, d.node)}: deployment sku must be GlobalStandard`);
    const model = evaluate(get(d.body, 'properties.model'), scope);
    const want = {
      format: 'OpenAI',
      name: DEFAULT_IMAGE_MODEL,
      version: latestVersion(findModel(DEFAULT_IMAGE_MODEL)!).version,
    };
    if (JSON.stringify(model) !== JSON.stringify(want))
      problems.push(`${where(t.openai.file, d.node)}: default model is ${show(model)}, want ${JSON.stringify(want)}`);
    if (evaluate(get(d.body, 'sku.capacity'), scope) !== 3)
      problems.push(`${where(t.openai.file, d.node)}: default capacity must be 3 (9 requests/minute)`);
  }

  // The region: its own parameter, restricted to where the image models are offered.
  const location = t.main.params.get('openAiLocation');
  const allowed = location ? t.main.decorator(location, 'allowed') : undefined;
  const regions = allowed ? evaluate(allowed[0], { file: t.main }) : undefined;
  if (JSON.stringify(regions) !== JSON.stringify(OPENAI_REGIONS))
    problems.push(
      `${t.main.file}: param openAiLocation must be @allowed(${JSON.stringify(OPENAI_REGIONS)}), is ${regions === undefined ? 'unrestricted' : show(regions)}`,
    );
  const passed = get(t.main.module('modules/openai.bicep')?.body, 'params.location');
  if (passed?.text !== 'openAiLocation')
    problems.push(
      `${t.main.file}: the OpenAI module must be deployed to openAiLocation, not ${passed?.text ?? 'nothing'}`,
    );
  return problems;
}

// ---- Event Grid ---------------------------------------------------------------------------------------

export interface ResolvedSubscription {
  name: Value;
  container: Value;
  functionName: Value;
  subjectBeginsWith: Value;
}

export function eventSubscriptionProblems(t: Templates): { problems: string[]; subscriptions: ResolvedSubscription[] } {
  const problems: string[] = [];
  const subscriptions: ResolvedSubscription[] = [];
  const f = t.eventSubscriptions;
  const resources = f.resourcesOfType('Microsoft.EventGrid/systemTopics/eventSubscriptions');
  for (const r of resources) {
    const at = `${where(f.file, r.node)}: ${r.symbol}`;
    const items: Value[] = r.loop ? asArray(evaluate(r.loop.over, { file: f })) : [null];
    for (const item of items) {
      const scope = { file: f, locals: new Map<string, Value>(r.loop ? [[r.loop.variable, item]] : []) };
      const ev = (p: string) => evaluate(get(r.body, p), scope);
      const name = ev('name');
      if (ev('properties.destination.endpointType') !== 'AzureFunction')
        problems.push(`${at} ${show(name)}: destination must be an AzureFunction endpoint`);
      // resourceId: '<function app id>/functions/<function name>'
      const resourceId = get(r.body, 'properties.destination.properties.resourceId');
      const parts = resourceId?.type === 'string' ? stringParts(resourceId) : [];
      const fnPart = parts[2];
      const functionName = fnPart && 'expr' in fnPart ? evaluate(fnPart.expr, scope) : undefined;
      const appPart = parts[0];
      const appSymbol = appPart && 'expr' in appPart ? /^(\w+)\.id$/.exec(appPart.expr.text)?.[1] : undefined;
      const app = appSymbol ? f.resourceBySymbol(appSymbol) : undefined;
      if (
        parts.length !== 3 ||
        !app ||
        app.type !== 'Microsoft.Web/sites' ||
        JSON.stringify(parts[1]) !== JSON.stringify({ text: '/functions/' }) ||
        typeof functionName !== 'string'
      ) {
        problems.push(
          `${at} ${show(name)}: resourceId must be '\${<function app>.id}/functions/<name>', is ${resourceId?.text ?? 'missing'}`,
        );
      }
      const subject = ev('properties.filter.subjectBeginsWith');
      if (typeof subject !== 'string' || !subject.endsWith('/blobs/'))
        problems.push(`${at} ${show(name)}: subjectBeginsWith ${show(subject)} must end with /blobs/`);
      const types = ev('properties.filter.includedEventTypes');
      if (JSON.stringify(types) !== JSON.stringify([BLOB_CREATED]))
        problems.push(`${at} ${show(name)}: includedEventTypes is ${show(types)}`);
      const filters = asArray(ev('properties.filter.advancedFilters'));
      const api = filters.find((x) => (x as { key?: Value }).key === 'data.api') as
        { operatorType?: Value; values?: Value } | undefined;
      if (!api || api.operatorType !== 'StringIn' || JSON.stringify(api.values) !== JSON.stringify(BLOB_CREATED_APIS))
        problems.push(
          `${at} ${show(name)}: needs advanced filter StringIn data.api ${JSON.stringify(BLOB_CREATED_APIS)}, has ${show(filters)}`,
        );
      for (const p of ['maxDeliveryAttempts', 'eventTimeToLiveInMinutes']) {
        if (typeof ev(`properties.retryPolicy.${p}`) !== 'number')
          problems.push(`${at} ${show(name)}: retryPolicy.${p} must be set`);
      }
      if (ev('properties.deadLetterWithResourceIdentity.identity.type') !== 'SystemAssigned')
        problems.push(
          `${at} ${show(name)}: dead-letter with the system topic's identity (deadLetterWithResourceIdentity)`,
        );
      if (ev('properties.deadLetterWithResourceIdentity.deadLetterDestination.endpointType') !== 'StorageBlob')
        problems.push(`${at} ${show(name)}: dead-letter to blob storage`);
      const dlc = ev('properties.deadLetterWithResourceIdentity.deadLetterDestination.properties.blobContainerName');
      if (dlc !== CONTAINERS.deadLetter)
        problems.push(`${at} ${show(name)}: dead-letter container is ${show(dlc)}, want ${CONTAINERS.deadLetter}`);
      if (get(r.body, 'properties.deadLetterDestination'))
        problems.push(`${at}: deadLetterDestination without identity needs a key; use deadLetterWithResourceIdentity`);
      const item_ = item as { container?: Value } | null;
      subscriptions.push({
        name,
        container: item_?.container ?? new Unknown('no container'),
        functionName: functionName ?? new Unknown('no function'),
        subjectBeginsWith: subject,
      });
    }
  }
  if (subscriptions.length !== EVENT_SUBSCRIPTIONS.length)
    problems.push(`${f.file}: ${subscriptions.length} subscriptions, want ${EVENT_SUBSCRIPTIONS.length}`);
  const topic = t.eventGridTopic.resourcesOfType('Microsoft.EventGrid/systemTopics', { existing: false })[0];
  if (evaluate(get(topic?.body, 'identity.type'), { file: t.eventGridTopic }) !== 'SystemAssigned')
    problems.push(`${t.eventGridTopic.file}: the system topic needs a system-assigned identity (dead-lettering)`);
  return { problems, subscriptions };
}

// ---- Network isolation (vnetEnabled) --------------------------------------------------------------------

/** The private endpoints of the fixed services: sub-resource (group id) → the module argument naming its target. */
export const PRIVATE_ENDPOINTS = {
  blob: 'storageAccountId',
  queue: 'storageAccountId',
  vault: 'keyVaultId',
  topic: 'outcomeTopicId',
} as const;

/** The private DNS zones each endpoint's zone group must write to (Microsoft's private endpoint DNS values). */
export const PRIVATE_DNS_ZONES: Record<string, string[]> = {
  blob: ['privatelink.blob.core.windows.net'],
  queue: ['privatelink.queue.core.windows.net'],
  vault: ['privatelink.vaultcore.azure.net'],
  topic: ['privatelink.eventgrid.azure.net'],
  account: [
    'privatelink.cognitiveservices.azure.com',
    'privatelink.openai.azure.com',
    'privatelink.services.ai.azure.com',
  ],
};

interface Endpoint {
  groupId?: Value;
  target?: Value;
  zones?: Value;
}

/**
 * vnetEnabled off by default; when on: a private endpoint, with its zones linked to the network, for blob,
 * queue, Key Vault, the outcome topic and every Foundry account of the pool; those services closed to public
 * networks, except storage, whose firewall denies by default but keeps public network access on with the
 * trusted-services bypass (Event Grid dead-lettering cannot come in through a private endpoint); the function
 * app integrated through a subnet delegated to Microsoft.App/environments, inbound left public (Event Grid
 * delivers there).
 */
export function networkProblems(t: Templates): string[] {
  const problems: string[] = [];
  const param = t.main.params.get('vnetEnabled');
  if (!param || evaluate(param.default, { file: t.main }) !== false)
    problems.push(`${t.main.file}: param vnetEnabled must exist and default to false`);
  const call = t.main.module('modules/network.bicep');
  if (!call || !/=\s*if\s*\(vnetEnabled\)/.test(call.node.text))
    problems.push(`${t.main.file}: modules/network.bicep must be deployed if (vnetEnabled) only`);
  problems.push(...publicAccessProblems(t), ...endpointProblems(t), ...integrationProblems(t, call));
  return problems;
}

/** What each service lets in from public networks, with vnetEnabled off and on. */
function publicAccessProblems(t: Templates): string[] {
  const problems: string[] = [];
  const services = [
    ['modules/storage.bicep', t.storage, 'Microsoft.Storage/storageAccounts', 'Enabled'],
    ['modules/openai.bicep', t.openai, 'Microsoft.CognitiveServices/accounts', 'Disabled'],
    ['modules/key-vault.bicep', t.keyVault, 'Microsoft.KeyVault/vaults', 'Disabled'],
    ['modules/outcome-topic.bicep', t.outcomeTopic, 'Microsoft.EventGrid/topics', 'Disabled'],
  ] as const;
  for (const [module, file, type, isolated] of services) {
    const resource = file.resourcesOfType(type, { existing: false })[0];
    for (const vnetEnabled of [false, true]) {
      const locals = moduleArguments(t.main, module, new Map([['vnetEnabled', vnetEnabled]]));
      const ev = (path: string) => evaluate(get(resource?.body, path), { file, locals });
      const want = vnetEnabled ? isolated : 'Enabled';
      if (ev('properties.publicNetworkAccess') !== want)
        problems.push(
          `${file.file}: publicNetworkAccess is ${show(ev('properties.publicNetworkAccess'))} with vnetEnabled=${vnetEnabled}, want '${want}'`,
        );
      // The topic has no firewall default action: publicNetworkAccess alone closes it.
      if (type === 'Microsoft.EventGrid/topics') continue;
      const acl = ev('properties.networkAcls.defaultAction');
      if (acl !== (vnetEnabled ? 'Deny' : 'Allow'))
        problems.push(`${file.file}: networkAcls.defaultAction is ${show(acl)} with vnetEnabled=${vnetEnabled}`);
    }
  }
  const storage = t.storage.resourcesOfType('Microsoft.Storage/storageAccounts', { existing: false })[0];
  if (evaluate(get(storage?.body, 'properties.networkAcls.bypass'), { file: t.storage }) !== 'AzureServices')
    problems.push(`${t.storage.file}: networkAcls.bypass must be AzureServices (Event Grid dead-lettering)`);
  return problems;
}

/** One endpoint per fixed service and per pool account, each with its zones, all zones linked to the network. */
function endpointProblems(t: Templates): string[] {
  const problems: string[] = [];
  const n = t.network;
  const zones = zoneValues(n);
  const zoneNames = (e: Endpoint): Value[] =>
    asArray(e.zones ?? null).map((z) => (typeof z === 'string' ? (zones.get(z) ?? z) : z));
  // The targets are module parameters: evaluate with their names as values.
  const locals = new Map<string, Value>(Object.values(PRIVATE_ENDPOINTS).map((p) => [p, p]));
  const fixed = asArray(evaluate(n.vars.get('serviceEndpoints'), { file: n, locals })) as Endpoint[];
  for (const [group, target] of Object.entries(PRIVATE_ENDPOINTS)) {
    const e = fixed.find((x) => x.groupId === group);
    if (!e) problems.push(`${n.file}: no private endpoint for ${group}`);
    else if (e.target !== target)
      problems.push(`${n.file}: the ${group} endpoint targets ${show(e.target ?? null)}, want ${target}`);
    else if (JSON.stringify(zoneNames(e)) !== JSON.stringify(PRIVATE_DNS_ZONES[group]))
      problems.push(
        `${n.file}: the ${group} endpoint's zones are ${show(zoneNames(e))}, want ${JSON.stringify(PRIVATE_DNS_ZONES[group])}`,
      );
  }
  // The pool: a for expression over aiAccountIds, one `account` endpoint per id.
  const ai = n.vars.get('aiEndpoints');
  const body = ai ? descendants(ai, 'object')[0] : undefined;
  const each = evaluate(body, {
    file: n,
    locals: new Map<string, Value>([
      ['id', 'id'],
      ['i', 0],
    ]),
  }) as Endpoint;
  if (!ai?.text.includes('in aiAccountIds') || each.groupId !== 'account' || each.target !== 'id')
    problems.push(`${n.file}: aiEndpoints must give every id in aiAccountIds an 'account' endpoint`);
  else if (JSON.stringify(zoneNames(each)) !== JSON.stringify(PRIVATE_DNS_ZONES.account))
    problems.push(
      `${n.file}: a Foundry account's endpoint needs the zones ${JSON.stringify(PRIVATE_DNS_ZONES.account)}, has ${show(zoneNames(each))}`,
    );
  if (n.vars.get('endpoints')?.text !== 'concat(serviceEndpoints, aiEndpoints)')
    problems.push(`${n.file}: endpoints must be concat(serviceEndpoints, aiEndpoints)`);
  const ids = get(t.main.module('modules/network.bicep')?.body, 'params.aiAccountIds')?.text ?? '';
  if (
    !/^concat\(\[openAi\.outputs\.id\], \[for \(region, i\) in extraOpenAiRegions: openAiExtra\[i\]\.outputs\.id\]\)$/.test(
      ids,
    )
  )
    problems.push(
      `${t.main.file}: the network module must get every pool account's id (aiAccountIds), found ${ids || 'nothing'}`,
    );
  for (const [type, what, over] of [
    ['Microsoft.Network/privateEndpoints', 'private endpoint', 'endpoints'],
    ['Microsoft.Network/privateEndpoints/privateDnsZoneGroups', 'DNS zone group', 'endpoints'],
    ['Microsoft.Network/privateDnsZones', 'private DNS zone', 'items(zones)'],
    ['Microsoft.Network/privateDnsZones/virtualNetworkLinks', 'zone link to the network', 'items(zones)'],
  ] as const) {
    const r = n.resourcesOfType(type, { existing: false })[0];
    if (r?.loop?.over.text !== over) problems.push(`${n.file}: one ${what} per entry of ${over}`);
  }
  return problems;
}

/** The zones variable, key → zone name, reading `environment().suffixes.storage` as the public cloud's. */
function zoneValues(n: BicepFile): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, node] of props(n.vars.get('zones'))) {
    const text = stringParts(node)
      .map((p) => ('text' in p ? p.text : p.expr.text === 'environment().suffixes.storage' ? 'core.windows.net' : '?'))
      .join('');
    out.set(key, text);
  }
  return out;
}

/** The app: integrated through a delegated subnet when vnetEnabled, inbound untouched. */
function integrationProblems(t: Templates, call: ReturnType<BicepFile['module']>): string[] {
  const problems: string[] = [];
  const n = t.network;
  const vnet = n.resourcesOfType('Microsoft.Network/virtualNetworks', { existing: false })[0];
  const subnets = asArray(evaluate(get(vnet?.body, 'properties.subnets'), { file: n })) as {
    name?: Value;
    properties?: { delegations?: Value };
  }[];
  const app = subnets.find((sn) => sn.name === evaluate(n.vars.get('appSubnetName'), { file: n })) as
    { properties?: { delegations?: Value; defaultOutboundAccess?: Value } } | undefined;
  // Subnets of Network API 2025-07-01 and later are private by default; Entra ID and Application Insights
  // have no private endpoint here, so the app subnet keeps outbound access explicitly.
  if (app?.properties?.defaultOutboundAccess !== true)
    problems.push(`${n.file}: the app subnet must set defaultOutboundAccess: true (or route through a NAT gateway)`);
  const delegations = asArray(app?.properties?.delegations) as { properties?: { serviceName?: Value } }[];
  if (!delegations.some((d) => d.properties?.serviceName === 'Microsoft.App/environments'))
    problems.push(`${n.file}: the app subnet must be delegated to Microsoft.App/environments (Flex Consumption)`);
  for (const [arg, want] of [
    ['storageAccountId', 'storage.outputs.id'],
    ['keyVaultId', 'keyVault.outputs.id'],
    ['outcomeTopicId', 'outcomeTopic.outputs.id'],
  ] as const) {
    if (get(call?.body, `params.${arg}`)?.text !== want)
      problems.push(`${t.main.file}: the network module must get ${arg}: ${want}`);
  }
  const subnetArg = get(t.main.module('modules/function-app.bicep')?.body, 'params.virtualNetworkSubnetId')?.text;
  if (subnetArg !== "vnetEnabled ? network.outputs.appSubnetId : ''")
    problems.push(
      `${t.main.file}: the function app must get the app subnet when vnetEnabled, found ${subnetArg ?? 'nothing'}`,
    );
  const site = t.functionApp.resourcesOfType('Microsoft.Web/sites', { existing: false })[0];
  if (!get(site?.body, 'properties.virtualNetworkSubnetId'))
    problems.push(`${t.functionApp.file}: the site must set properties.virtualNetworkSubnetId`);
  if (get(site?.body, 'properties.publicNetworkAccess'))
    problems.push(`${t.functionApp.file}: leave the site's inbound public: Event Grid delivers to it`);
  return problems;
}

// ---- Key Vault ----------------------------------------------------------------------------------------

/** The exact data actions the signer may perform on the publisher key. */
export const SIGNER_DATA_ACTIONS = [
  'Microsoft.KeyVault/vaults/keys/read',
  'Microsoft.KeyVault/vaults/keys/sign/action',
];

/**
 * Soft-delete retention and purge protection are parameters (short retention and no purge protection by
 * default, so `azd down` + `azd up` can recreate the vault); the function identity's only role on the key is a
 * custom one with read + sign and no control-plane action, assignable in the resource group only.
 */
export function keyVaultProblems(t: Templates): string[] {
  const problems: string[] = [];
  const f = t.keyVault;
  const vault = f.resourcesOfType('Microsoft.KeyVault/vaults', { existing: false })[0];
  const at = f.file;
  for (const [main, own, want] of [
    ['keyVaultSoftDeleteRetentionDays', 'softDeleteRetentionDays', 7],
    ['keyVaultPurgeProtection', 'purgeProtection', false],
  ] as const) {
    const p = t.main.params.get(main);
    if (!p || evaluate(p.default, { file: t.main }) !== want)
      problems.push(`${t.main.file}: param ${main} must exist and default to ${want}`);
    if (get(t.main.module('modules/key-vault.bicep')?.body, `params.${own}`)?.text !== main)
      problems.push(`${t.main.file}: pass ${main} to the Key Vault module as ${own}`);
  }
  for (const purgeProtection of [false, true]) {
    const locals = new Map<string, Value>([
      ['softDeleteRetentionDays', 7],
      ['purgeProtection', purgeProtection],
    ]);
    const ev = (path: string) => evaluate(get(vault?.body, `properties.${path}`), { file: f, locals });
    if (ev('softDeleteRetentionInDays') !== 7)
      problems.push(`${at}: softDeleteRetentionInDays must follow the parameter`);
    // Key Vault refuses false once purge protection has been on: send null when it is off.
    if (ev('enablePurgeProtection') !== (purgeProtection ? true : null))
      problems.push(
        `${at}: enablePurgeProtection is ${show(ev('enablePurgeProtection'))} with purgeProtection=${purgeProtection}`,
      );
  }
  const roles = f.resourcesOfType('Microsoft.Authorization/roleDefinitions', { existing: false });
  const role = roles[0];
  const ev = (path: string) => evaluate(get(role?.body, `properties.${path}`), { file: f });
  const permissions = asArray(ev('permissions')) as { actions?: Value; dataActions?: Value; notDataActions?: Value }[];
  if (roles.length !== 1 || permissions.length !== 1)
    return [...problems, `${at}: expected one custom role with one permission block`];
  if (JSON.stringify(permissions[0]!.dataActions) !== JSON.stringify(SIGNER_DATA_ACTIONS))
    problems.push(
      `${at}: the signer role's dataActions are ${show(permissions[0]!.dataActions ?? null)}, want ${JSON.stringify(SIGNER_DATA_ACTIONS)}`,
    );
  if (JSON.stringify(permissions[0]!.actions) !== '[]')
    problems.push(`${at}: the signer role must have no control-plane actions`);
  if (ev('type') !== 'CustomRole') problems.push(`${at}: the signer role must be a CustomRole`);
  if (get(role?.body, 'properties.assignableScopes')?.text.replace(/\s+/g, ' ') !== '[ resourceGroup().id ]')
    problems.push(`${at}: the signer role must be assignable in this resource group only`);
  return problems;
}

// ---- Sizing -------------------------------------------------------------------------------------------

/** The lowest maximum instance count Microsoft's Flex Consumption pages give (40 on one, 1 on another). */
export const LOWEST_MAXIMUM_INSTANCES = 40;

/** maximumInstanceCount defaults to a value every Flex Consumption page allows, in Bicep and both parameter files. */
export function sizingProblems(t: Templates, parameterFiles: { bicepparam: string; json: string }): string[] {
  const problems: string[] = [];
  const p = t.main.params.get('maximumInstanceCount');
  const value = evaluate(p?.default, { file: t.main });
  if (typeof value !== 'number' || value < LOWEST_MAXIMUM_INSTANCES || value > 1000)
    problems.push(
      `${t.main.file}: maximumInstanceCount defaults to ${show(value ?? null)}; Microsoft allows ${LOWEST_MAXIMUM_INSTANCES}-1000 on every page`,
    );
  const wanted = String(value);
  if (!parameterFiles.bicepparam.includes(`'FUNCTIONS_MAXIMUM_INSTANCE_COUNT', '${wanted}'`))
    problems.push(`infra/main.bicepparam: FUNCTIONS_MAXIMUM_INSTANCE_COUNT must default to ${wanted}`);
  if (!parameterFiles.json.includes(`\${FUNCTIONS_MAXIMUM_INSTANCE_COUNT=${wanted}}`))
    problems.push(`infra/main.parameters.json: FUNCTIONS_MAXIMUM_INSTANCE_COUNT must default to ${wanted}`);
  return problems;
}
