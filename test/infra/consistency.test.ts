/**
 * Code and infrastructure cannot drift apart: the settings shared/core/config.ts declares are exactly the app
 * settings in Bicep, the keys of local.settings.sample.json and the README's settings table; the container,
 * queue and subscription names in Bicep are those of shared/core/containers.ts; the two parameter files, the
 * postdeploy hooks and azure.yaml agree with the templates.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { firstColumnNames } from '../helpers/readme-table.js';
import { SETTINGS } from '../../shared/core/config.js';
import { BLOB_CREATED_APIS, CONTAINERS, EVENT_SUBSCRIPTIONS, QUEUES, TABLES } from '../../shared/core/containers.js';
import {
  BicepFile,
  descendants,
  evaluate,
  get,
  infraFiles,
  isUnknown,
  moduleArguments,
  parseBicep,
  ROOT,
  stringParts,
  type Value,
} from './bicep.js';
import { appSettingExpressions, loadTemplates, type Templates } from './checks.js';

let t: Templates;

beforeAll(async () => {
  t = await loadTemplates(infraFiles('.bicep'));
});

const names = (where: 'local' | 'azure') =>
  SETTINGS.filter((s) => (s.where as readonly string[]).includes(where))
    .map((s) => s.name)
    .sort();

const sorted = (xs: Iterable<string>) => [...xs].sort();

describe('settings', () => {
  it('the app settings in Bicep are exactly the settings shared/core/config.ts lists for Azure', () => {
    expect(sorted(appSettingExpressions(t).keys())).toEqual(names('azure'));
  });

  it('the tunable app settings default to the defaults in shared/core/config.ts', () => {
    const settings = appSettingExpressions(t);
    const checked: string[] = [];
    for (const spec of SETTINGS) {
      const value = settings.get(spec.name);
      if (!value || !('default' in spec) || spec.default === undefined) continue;
      const evaluated = evaluate(value.node, { file: value.file });
      expect(evaluated, `${spec.name} (${value.node.text})`).toBe(spec.default);
      checked.push(spec.name);
    }
    expect(checked.length).toBeGreaterThan(15);
  });

  it('wires identity, telemetry and the model the keyless way', () => {
    const settings = appSettingExpressions(t);
    const text = (name: string) => settings.get(name)?.node.text;
    const value = (name: string) => {
      const s = settings.get(name);
      return s ? evaluate(s.node, { file: s.file }) : undefined;
    };
    expect(value('AzureWebJobsStorage__credential')).toBe('managedidentity');
    expect(text('AzureWebJobsStorage__clientId')).toBe('identity.outputs.clientId');
    expect(text('AZURE_CLIENT_ID')).toBe('identity.outputs.clientId');
    expect(text('AzureWebJobsStorage__blobServiceUri')).toBe('storage.outputs.blobEndpoint');
    expect(text('AzureWebJobsStorage__queueServiceUri')).toBe('storage.outputs.queueEndpoint');
    const auth = settings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')!;
    expect(stringParts(auth.node).map((p) => ('text' in p ? p.text : `{${p.expr.text}}`))).toEqual([
      'ClientId=',
      '{identity.outputs.clientId}',
      ';Authorization=AAD',
    ]);
    expect(value('EXTRA_TRUST_ANCHORS')).toBe('');
    expect(text('AZURE_OPENAI_ENDPOINT')).toBe('openAi.outputs.endpoint');
  });

  it('derives IMAGE_MODEL_RPM from the deployment capacity (3 requests/minute per unit)', () => {
    const rpm = appSettingExpressions(t).get('IMAGE_MODEL_RPM')!;
    const at = (capacity: number) =>
      evaluate(rpm.node, { file: t.main, locals: new Map([['imageModelCapacity', capacity]]) });
    expect(at(3)).toBe('9');
    expect(at(10)).toBe('30');
    expect(get(t.main.module('modules/openai.bicep')?.body, 'params.capacity')?.text).toBe('imageModelCapacity');
    expect(evaluate(t.main.params.get('requestsPerMinutePerCapacityUnit')?.default, { file: t.main })).toBe(3);
  });

  it('local.settings.sample.json has exactly the settings shared/core/config.ts lists for local runs', () => {
    const sample = JSON.parse(readFileSync(path.join(ROOT, 'local.settings.sample.json'), 'utf8')) as {
      Values: Record<string, string>;
    };
    expect(sorted(Object.keys(sample.Values))).toEqual(names('local'));
  });

  it("the README's settings table lists every setting", () => {
    const readme = path.join(ROOT, 'README.md');
    expect(existsSync(readme), 'README.md is missing').toBe(true);
    const rows = settingsTable(readFileSync(readme, 'utf8'));
    expect(sorted(rows)).toEqual(sorted(SETTINGS.map((s) => s.name)));
    expect(new Set(rows).size, 'a setting is listed twice').toBe(rows.length);
  });

  it('reads the README settings table format', () => {
    const sample = [
      '# x',
      '## Settings',
      '',
      'Intro.',
      '',
      '| Setting | Default | Meaning |',
      '| --- | --- | --- |',
      '| `A` | `1` | a |',
      '| `B_C` | | b |',
      '',
      '## Next',
      '| `D` | | d |',
    ].join('\n');
    expect(settingsTable(sample)).toEqual(['A', 'B_C']);
    expect(() => settingsTable('# x\n')).toThrow(/no "## Settings" section/);
    expect(() => settingsTable('## Settings\n\n| Setting |\n| --- |\n| A | x |\n')).toThrow(/first cell/);
  });
});

const settingsTable = (markdown: string) => firstColumnNames(markdown, '## Settings');

describe('names shared with the code', () => {
  it('containers and queues are those of shared/core/containers.ts', () => {
    expect(evaluate(t.main.vars.get('containers'), { file: t.main })).toEqual({ ...CONTAINERS });
    expect(evaluate(t.main.vars.get('queues'), { file: t.main })).toEqual({ ...QUEUES });
    expect(evaluate(t.main.vars.get('tables'), { file: t.main })).toEqual({ ...TABLES });
    const storage = t.main.module('modules/storage.bicep');
    expect(get(storage?.body, 'params.containers')?.text).toBe('containers');
    expect(get(storage?.body, 'params.queues')?.text).toBe('queues');
    // storage.bicep creates one container per entry, and one queue per entry.
    const loops = (type: string) => t.storage.resourcesOfType(type, { existing: false }).map((r) => r.loop?.over.text);
    expect(loops('Microsoft.Storage/storageAccounts/blobServices/containers')).toContain('items(containers)');
    expect(loops('Microsoft.Storage/storageAccounts/queueServices/queues')).toEqual(['items(queues)']);
    // ... plus the deployment package container, which is none of the pipeline's.
    const deployment = evaluate(t.main.vars.get('deploymentContainerName'), { file: t.main });
    expect(typeof deployment).toBe('string');
    expect(Object.values(CONTAINERS)).not.toContain(deployment);
  });

  it('the Event Grid subscriptions, their API filter and dead-letter container are those of shared/core/containers.ts', () => {
    const f = t.eventSubscriptions;
    expect(evaluate(f.vars.get('subscriptions'), { file: f })).toEqual(EVENT_SUBSCRIPTIONS.map((s) => ({ ...s })));
    expect(evaluate(f.vars.get('blobCreatedApis'), { file: f })).toEqual([...BLOB_CREATED_APIS]);
    expect(evaluate(f.params.get('deadLetterContainerName')?.default, { file: f })).toBe(CONTAINERS.deadLetter);
    expect(get(t.main.module('modules/storage.bicep')?.body, 'params.deadLetterContainerName')?.text).toBe(
      'containers.deadLetter',
    );
  });
});

// ---- Parameter files ----------------------------------------------------------------------------------

interface EnvParam {
  env: string;
  default: string | undefined;
}

function jsonParameters(): Map<string, EnvParam> {
  const json = JSON.parse(readFileSync(path.join(ROOT, 'infra/main.parameters.json'), 'utf8')) as {
    parameters: Record<string, { value: unknown }>;
  };
  const out = new Map<string, EnvParam>();
  for (const [name, { value }] of Object.entries(json.parameters)) {
    const m = typeof value === 'string' ? /^\$\{([A-Z0-9_]+)(?:=([^}]*))?\}$/.exec(value) : null;
    if (!m) throw new Error(`main.parameters.json: ${name} is not a \${ENV_VAR} or \${ENV_VAR=default} reference`);
    out.set(name, { env: m[1]!, default: m[2] });
  }
  return out;
}

async function bicepparamParameters(): Promise<Map<string, EnvParam>> {
  const text = readFileSync(path.join(ROOT, 'infra/main.bicepparam'), 'utf8');
  const root = await parseBicep(text);
  const out = new Map<string, EnvParam>();
  for (const decl of descendants(root, 'parameter_declaration')) {
    const name = decl.namedChildren[0]?.text ?? '';
    const calls = descendants(decl, 'call_expression').filter(
      (c) => c.childForFieldName('function')?.text === 'readEnvironmentVariable',
    );
    if (calls.length !== 1) throw new Error(`main.bicepparam: ${name} must be read with readEnvironmentVariable()`);
    const [env, dflt] = (calls[0]!.childForFieldName('arguments')?.namedChildren ?? []).map((a) =>
      evaluate(a, { file: new BicepFile('main.bicepparam', text, root) }),
    );
    if (typeof env !== 'string')
      throw new Error(`main.bicepparam: ${name}: environment variable name must be a literal`);
    out.set(name, { env, default: typeof dflt === 'string' ? dflt : undefined });
  }
  return out;
}

const literal = (v: Value): string => (isUnknown(v) ? `<${v.reason}>` : typeof v === 'string' ? v : JSON.stringify(v));

describe('parameter files', () => {
  it('main.parameters.json and main.bicepparam read the same environment variables, with the same defaults', async () => {
    const json = jsonParameters();
    const bicepparam = await bicepparamParameters();
    expect(sorted(bicepparam.keys())).toEqual(sorted(json.keys()));
    for (const [name, j] of json) {
      const b = bicepparam.get(name)!;
      expect(b.env, `environment variable of ${name}`).toBe(j.env);
      // azd substitutes an unset \${VAR} with '', which readEnvironmentVariable() only does when told to.
      if (j.default === undefined) expect([undefined, ''], `default of ${name}`).toContain(b.default);
      else expect(b.default, `default of ${name}`).toBe(j.default);
    }
    expect(json.get('environmentName')?.env).toBe('AZURE_ENV_NAME');
    expect(json.get('location')?.env).toBe('AZURE_LOCATION');
    expect(json.get('principalId')?.env).toBe('AZURE_PRINCIPAL_ID');
  });

  it('set only parameters main.bicep declares, cover every one without a default, and agree with its defaults', () => {
    const json = jsonParameters();
    for (const name of json.keys()) expect(t.main.params.has(name), `main.bicep has no param ${name}`).toBe(true);
    for (const p of t.main.params.values())
      if (!p.default) expect(json.has(p.name), `param ${p.name} has no default and no value`).toBe(true);
    for (const [name, { default: d }] of json) {
      const bicepDefault = t.main.params.get(name)?.default;
      if (d === undefined || !bicepDefault) continue;
      expect(d, `default of ${name}`).toBe(literal(evaluate(bicepDefault, { file: t.main })));
    }
  });
});

// ---- Hooks and azure.yaml -----------------------------------------------------------------------------

/** azure.yaml holds nested mappings and scalars only; this reads exactly that and rejects anything else. */
function readYamlMappings(text: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const stack: { indent: number; map: Record<string, unknown> }[] = [{ indent: -1, map: root }];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '');
    if (!line.trim()) continue;
    const m = /^( *)([A-Za-z0-9_.-]+):(?: +(.*))?$/.exec(line);
    if (!m) throw new Error(`azure.yaml: unsupported line ${JSON.stringify(raw)}`);
    const indent = m[1]!.length;
    while (stack[stack.length - 1]!.indent >= indent) stack.pop();
    const parent = stack[stack.length - 1]!.map;
    if (m[3] === undefined) {
      const child: Record<string, unknown> = {};
      parent[m[2]!] = child;
      stack.push({ indent, map: child });
    } else {
      const v = m[3].trim().replace(/^(['"])(.*)\1$/, '$2');
      parent[m[2]!] = v === 'true' ? true : v === 'false' ? false : v;
    }
  }
  return root;
}

describe('azure.yaml and the postdeploy hook', () => {
  const yaml = () => readYamlMappings(readFileSync(path.join(ROOT, 'azure.yaml'), 'utf8'));

  it('deploys one TypeScript function service from the project root, built locally, to the tagged app', () => {
    const y = yaml() as { infra: Record<string, unknown>; services: Record<string, Record<string, unknown>> };
    expect(y.infra).toEqual({ provider: 'bicep', path: 'infra', module: 'main' });
    expect(Object.keys(y.services)).toHaveLength(1);
    const [name, service] = Object.entries(y.services)[0]!;
    expect(service).toEqual({ project: '.', language: 'ts', host: 'function', remoteBuild: false });
    // The azd-service-name tag is on the site and on nothing else (azd wants exactly one resource per service).
    const locals = moduleArguments(t.main, 'modules/function-app.bicep', new Map([['environmentName', 'env']]));
    const tagged = t.all.flatMap((f) =>
      f.resources
        .filter((r) => !r.existing)
        .map((r) => ({
          type: r.type,
          tags: evaluate(get(r.body, 'tags'), { file: f, ...(f === t.functionApp ? { locals } : {}) }),
        }))
        .filter(
          ({ tags }) =>
            tags !== null &&
            typeof tags === 'object' &&
            !Array.isArray(tags) &&
            !isUnknown(tags) &&
            'azd-service-name' in tags,
        ),
    );
    expect(tagged).toEqual([
      { type: 'Microsoft.Web/sites', tags: { 'azd-env-name': 'env', 'azd-service-name': name } },
    ]);
    expect(
      evaluate(get(t.main.module('modules/function-app.bicep')?.body, 'params.tags'), {
        file: t.main,
        locals: new Map([['environmentName', 'env']]),
      }),
    ).toEqual({ 'azd-env-name': 'env' });
  });

  it('runs the postdeploy hook on both shells, and the scripts exist', () => {
    const hooks = (yaml() as { hooks: { postdeploy: Record<string, Record<string, unknown>> } }).hooks.postdeploy;
    expect(hooks.posix).toMatchObject({ shell: 'sh', run: 'infra/hooks/postdeploy.sh', continueOnError: false });
    expect(hooks.windows).toMatchObject({ shell: 'pwsh', run: 'infra/hooks/postdeploy.ps1', continueOnError: false });
    for (const h of Object.values(hooks)) expect(existsSync(path.join(ROOT, String(h.run)))).toBe(true);
  });

  it("requires an azd that ships .funcignore's `!` lines, and names only files that exist", () => {
    const text = readFileSync(path.join(ROOT, 'azure.yaml'), 'utf8');
    expect((yaml() as { requiredVersions?: Record<string, unknown> }).requiredVersions).toEqual({ azd: '>= 1.23.13' });
    // Paths in values and comments alike (a comment pointing at a missing file sends readers nowhere).
    const paths = [
      ...text.matchAll(
        /(?<![\w/.:-])((?:infra|test|shared|local)\/[\w./-]*\w|[\w-]+\.(?:md|bicep|bicepparam|sh|ps1))\b/g,
      ),
    ].map((m) => m[1]!);
    expect(paths).toContain('infra/hooks/preprovision.sh');
    for (const p of paths)
      expect(existsSync(path.join(ROOT, p)), `azure.yaml names ${p}, which does not exist`).toBe(true);
  });

  it('runs the preprovision preflight on both shells, with the defaults and SKU the templates use', async () => {
    const hooks = (yaml() as { hooks: { preprovision: Record<string, Record<string, unknown>> } }).hooks.preprovision;
    expect(hooks.posix).toMatchObject({ shell: 'sh', run: 'infra/hooks/preprovision.sh', continueOnError: false });
    expect(hooks.windows).toMatchObject({ shell: 'pwsh', run: 'infra/hooks/preprovision.ps1', continueOnError: false });
    const bicepparam = await bicepparamParameters();
    const sh = readFileSync(path.join(ROOT, 'infra/hooks/preprovision.sh'), 'utf8');
    const ps1 = readFileSync(path.join(ROOT, 'infra/hooks/preprovision.ps1'), 'utf8');
    for (const name of ['imageModelName', 'imageModelCapacity', 'openAiLocation']) {
      const { env, default: d } = bicepparam.get(name)!;
      expect(sh, `preprovision.sh: ${env}`).toContain(`\${${env}:-${d}}`);
      expect(ps1, `preprovision.ps1: ${env}`).toContain(`Optional '${env}' '${d}'`);
    }
    const deployment = t.openai.resourcesOfType('Microsoft.CognitiveServices/accounts/deployments')[0];
    const sku = evaluate(get(deployment?.body, 'sku.name'), { file: t.openai });
    expect(sh).toContain(`sku=${String(sku)}`);
    expect(ps1).toContain(`$sku = '${String(sku)}'`);
    for (const text of [sh, ps1]) {
      expect(text).toMatch(/cognitiveservices', 'model', 'list'|cognitiveservices model list/);
      expect(text).toMatch(/cognitiveservices', 'usage', 'list'|cognitiveservices usage list/);
    }
    expect(() =>
      execFileSync('sh', ['-n', path.join(ROOT, 'infra/hooks/preprovision.sh')], { stdio: 'pipe' }),
    ).not.toThrow();
  });

  it("the hooks read only outputs of main.bicep (and azd's own variables)", () => {
    const outputs = new Set(t.main.outputs.map((o) => o.name));
    const azdOwn = new Set(['AZURE_SUBSCRIPTION_ID']);
    const sh = readFileSync(path.join(ROOT, 'infra/hooks/postdeploy.sh'), 'utf8');
    const ps1 = readFileSync(path.join(ROOT, 'infra/hooks/postdeploy.ps1'), 'utf8');
    const fromSh = new Set([...sh.matchAll(/\$\{([A-Z][A-Z0-9_]+)[:}]/g)].map((m) => m[1]!));
    const fromPs1 = new Set([...ps1.matchAll(/(?:Require|Optional) '([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1]!));
    const tunables = (s: Set<string>) => [...s].filter((v) => !v.startsWith('POSTDEPLOY_'));
    expect(sorted(tunables(fromSh))).toEqual(sorted(tunables(fromPs1)));
    for (const v of tunables(fromSh))
      expect(outputs.has(v) || azdOwn.has(v), `${v} is not an output of main.bicep`).toBe(true);
    expect(fromSh).toContain('AZURE_FUNCTION_APP_NAME');
  });

  it('the hooks pass event-subscriptions.bicep every parameter it needs, and nothing it does not declare', () => {
    const declared = t.eventSubscriptions.params;
    const required = [...declared.values()].filter((p) => !p.default).map((p) => p.name);
    for (const file of ['infra/hooks/postdeploy.sh', 'infra/hooks/postdeploy.ps1']) {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      expect(text).toContain('event-subscriptions.bicep');
      const passed = [...text.matchAll(/\b([a-z][A-Za-z]+)=["$]/g)]
        .map((m) => m[1]!)
        .filter((n) => declared.has(n) || /Name$/.test(n));
      for (const n of passed)
        expect(declared.has(n), `${file} passes ${n}, which event-subscriptions.bicep does not declare`).toBe(true);
      for (const n of required) expect(passed, `${file} does not pass ${n}`).toContain(n);
    }
  });

  it('postdeploy.sh is valid POSIX sh', () => {
    expect(() =>
      execFileSync('sh', ['-n', path.join(ROOT, 'infra/hooks/postdeploy.sh')], { stdio: 'pipe' }),
    ).not.toThrow();
  });
});
