/**
 * The preprovision preflight: its decisions on responses in the shape `az cognitiveservices model list` and
 * `az cognitiveservices usage list` print (test/infra/fixtures/preflight/), and the sh hook end to end with a
 * stand-in `az` on PATH (the Azure control plane is the one thing that cannot run here). No network.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../../infra/preflight/cli.js';
import { ACCOUNT_KIND, decide, type PreflightRequest } from '../../infra/preflight/decide.js';
import { DEFAULT_IMAGE_MODEL } from '../../shared/core/model-catalog.js';
import { ROOT } from './bicep.js';

const FIXTURES = path.join(ROOT, 'test/infra/fixtures/preflight');
const load = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as unknown;
const TODAY = new Date('2026-11-24T00:00:00Z');

interface ModelEntry {
  kind: string;
  model: {
    name: string;
    version: string;
    lifecycleStatus: string;
    deprecation: { inference: string | null };
    skus: { name: string }[];
  };
}

/** The recorded model list, optionally changed for one case. */
const models = (edit: (entries: ModelEntry[]) => ModelEntry[] = (e) => e) =>
  edit(structuredClone(load('models-eastus2.json')) as ModelEntry[]);
const setModel = (name: string, change: (m: ModelEntry['model']) => void) => (entries: ModelEntry[]) => {
  for (const e of entries) if (e.model.name === name) change(e.model);
  return entries;
};

const request = (over: Partial<PreflightRequest> = {}): PreflightRequest => ({
  model: DEFAULT_IMAGE_MODEL,
  sku: 'GlobalStandard',
  capacity: 3,
  region: 'eastus2',
  today: TODAY,
  models: models(),
  usages: load('usages-eastus2.json'),
  ...over,
});

const refusal = (over: Partial<PreflightRequest>) => {
  const d = decide(request(over));
  expect(d.ok).toBe(false);
  expect(d.refusals).toHaveLength(1);
  return d.refusals[0]!;
};

describe('preflight decisions', () => {
  it('lets the default model through with its default capacity', () => {
    expect(decide(request())).toEqual({ ok: true, refusals: [], notes: [] });
  });

  it('refuses to re-provision over an account of another kind than the Foundry resource the template declares', () => {
    const r = refusal({ existingAccount: { name: 'oai-x', kind: 'OpenAI' }, models: 'not even read' });
    expect(r).toEqual({
      setting: 'AZURE_OPENAI_ENDPOINT',
      problem: `the account oai-x is kind OpenAI; this template deploys kind ${ACCOUNT_KIND} (a Foundry resource) and would change it`,
      fix: expect.stringMatching(
        /^upgrade oai-x to a Foundry resource first .*learn\.microsoft\.com.*then run azd provision again$/,
      ),
    });
    expect(decide(request({ existingAccount: { name: 'oai-x', kind: 'AIServices' } })).ok).toBe(true);
  });

  it('finds the image model whichever account kind Azure lists it under', () => {
    const foundry = models((e) => e.map((m) => ({ ...m, kind: 'AIServices' })));
    expect(decide(request({ models: foundry })).ok).toBe(true);
  });

  it("refuses a retired model, naming the retirement date and the replacement, before reading Azure's answer", () => {
    const r = refusal({ model: 'gpt-image-1', models: 'not even read' });
    expect(r.setting).toBe('IMAGE_MODEL_NAME');
    expect(r.problem).toMatch(
      /gpt-image-1 2025-04-15 was retired on 2026-10-23; Microsoft names no replacement; use gpt-image-2/,
    );
    expect(r.fix).toBe('azd env set IMAGE_MODEL_NAME gpt-image-2');
  });

  it('refuses an unknown model', () => {
    const r = refusal({ model: 'gpt-image-9' });
    expect(r).toMatchObject({
      setting: 'IMAGE_MODEL_NAME',
      problem: expect.stringMatching(/"gpt-image-9" is not an image model the pipeline knows \(gpt-image-1, .*\)/),
    });
    expect(r.fix).toBe(`azd env set IMAGE_MODEL_NAME ${DEFAULT_IMAGE_MODEL}`);
  });

  it('refuses a model Azure lists as preview, deprecating, or retired earlier than the catalog says', () => {
    const preview = refusal({ models: models(setModel('gpt-image-2', (m) => (m.lifecycleStatus = 'Preview'))) });
    expect(preview.problem).toBe(
      'Azure lists gpt-image-2 2026-04-21 as "Preview" in eastus2: it is a preview (retires 2027-10-21)',
    );
    expect(preview.fix).toBe('azd env set IMAGE_MODEL_NAME gpt-image-1.5');
    const deprecating = refusal({
      model: 'gpt-image-1.5',
      models: models(setModel('gpt-image-1.5', (m) => (m.lifecycleStatus = 'Deprecating'))),
    });
    expect(deprecating).toMatchObject({
      setting: 'IMAGE_MODEL_NAME',
      problem: expect.stringMatching(/"Deprecating" in eastus2: it is being retired/),
      fix: 'azd env set IMAGE_MODEL_NAME gpt-image-2',
    });
    const early = refusal({
      models: models(setModel('gpt-image-2', (m) => (m.deprecation.inference = '2026-11-01T00:00:00Z'))),
    });
    expect(early.problem).toBe('Azure lists gpt-image-2 2026-04-21 as retired on 2026-11-01 in eastus2');
  });

  it('refuses a region that does not offer the model, naming the regions that do', () => {
    const r = refusal({
      region: 'westeurope',
      models: models((e) => e.filter((m) => !m.model.name.startsWith('gpt-image'))),
    });
    expect(r.setting).toBe('AZURE_OPENAI_LOCATION');
    expect(r.problem).toBe('westeurope does not offer gpt-image-2 2026-04-21');
    expect(r.fix).toMatch(
      /^azd env set AZURE_OPENAI_LOCATION <one of eastus2, polandcentral, swedencentral, uaenorth, westus3>/,
    );
    const otherVersion = refusal({ models: models(setModel('gpt-image-2', (m) => (m.version = '2026-09-01'))) });
    expect(otherVersion.problem).toBe('eastus2 does not offer gpt-image-2 2026-04-21 (it lists version 2026-09-01)');
  });

  it('refuses a SKU the region does not offer the model under', () => {
    const r = refusal({ models: models(setModel('gpt-image-2', (m) => (m.skus[0]!.name = 'DataZoneStandard'))) });
    expect(r).toMatchObject({
      setting: 'AZURE_OPENAI_LOCATION',
      problem: 'eastus2 offers gpt-image-2 2026-04-21 as DataZoneStandard, not GlobalStandard',
    });
  });

  it('refuses a capacity over the free quota, with the capacity that fits', () => {
    // The recorded usage has 6 of gpt-image-2's 9 units in use.
    const r = refusal({ capacity: 4 });
    expect(r.setting).toBe('IMAGE_MODEL_CAPACITY');
    expect(r.problem).toBe(
      '4 units of OpenAI.GlobalStandard.gpt-image-2 asked for, 3 free in eastus2 (limit 9, in use 6)',
    );
    expect(r.fix).toMatch(
      /^azd env set IMAGE_MODEL_CAPACITY 3, free quota by deleting another gpt-image-2 deployment, request more quota, or azd env set AZURE_OPENAI_LOCATION/,
    );
    // Re-provisioning the same deployment: its own 3 units are not someone else's.
    expect(decide(request({ capacity: 4, existingCapacity: 3 })).ok).toBe(true);
    const tooMany = decide(request({ capacity: 101 })).refusals.map((r) => r.problem);
    expect(tooMany[0]).toBe('101 units is over the 100 a GlobalStandard deployment of gpt-image-2 2026-04-21 may have');
  });

  it('refuses when the subscription has no quota for the model (limited access)', () => {
    const usages = (load('usages-eastus2.json') as { name: { value: string } }[]).filter(
      (u) => !u.name.value.endsWith('gpt-image-2'),
    );
    expect(refusal({ usages }).problem).toMatch(
      /no quota OpenAI\.GlobalStandard\.gpt-image-2 in eastus2 \(is it approved for gpt-image-2\?/,
    );
  });

  it("reads the REST shape ({ value: [...] }) as well as the CLI's array", () => {
    expect(decide(request({ models: { value: models() }, usages: { value: load('usages-eastus2.json') } })).ok).toBe(
      true,
    );
  });
});

describe('preflight command line', () => {
  const args = (over: Record<string, string> = {}) =>
    Object.entries({
      models: path.join(FIXTURES, 'models-eastus2.json'),
      usages: path.join(FIXTURES, 'usages-eastus2.json'),
      model: 'gpt-image-2',
      sku: 'GlobalStandard',
      capacity: '3',
      region: 'eastus2',
      today: '2026-11-24',
      ...over,
    }).flatMap(([k, v]) => [`--${k}`, v]);
  const capture = (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = run(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('exits 0 and says so when the deployment can be made, 1 with the reasons and fixes when not', () => {
    expect(capture(args())).toEqual({
      code: 0,
      out: 'preflight: gpt-image-2 (GlobalStandard, 3 units) in eastus2 can be deployed',
      err: '',
    });
    const refused = capture(args({ capacity: '5' }));
    expect(refused.code).toBe(1);
    expect(refused.err.split('\n')).toEqual([
      'preflight: cannot deploy gpt-image-2 (GlobalStandard, 5 units) in eastus2; nothing has been created:',
      '  - IMAGE_MODEL_CAPACITY: 5 units of OpenAI.GlobalStandard.gpt-image-2 asked for, 3 free in eastus2 (limit 9, in use 6)',
      expect.stringMatching(/^ {4}fix: azd env set IMAGE_MODEL_CAPACITY 3, /),
    ]);
  });

  it('exits 2 with a specific message on input it cannot read', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'preflight-'));
    try {
      writeFileSync(path.join(dir, 'bad.json'), 'ERROR: Please run az login');
      expect(capture(args({ models: path.join(dir, 'bad.json') }))).toMatchObject({
        code: 2,
        err: 'preflight: the output of `az cognitiveservices model list` is not JSON: "ERROR: Please run az login"',
      });
      expect(capture(args({ capacity: 'three' }))).toMatchObject({
        code: 2,
        err: 'preflight: --capacity must be a whole number, got "three"',
      });
      expect(capture([...args(), '--bogus', 'x']).err).toMatch(/^preflight: unexpected argument "--bogus"/);
      expect(capture(args({ usages: path.join(dir, 'missing.json') })).err).toMatch(
        /^preflight: cannot read the output of `az cognitiveservices usage list`/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the preprovision hook (sh) with a stand-in az', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'preprovision-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Answers the two list commands for eastus2 from the fixtures; anything else fails, as az would.
  const az = path.join(dir, 'az');
  writeFileSync(
    az,
    [
      '#!/bin/sh',
      `case "$1 $2 $3" in`,
      '  "cognitiveservices model list" | "cognitiveservices usage list")',
      `    case "$*" in *"--location eastus2"*) ;; *) echo "ERROR: (NoRegisteredProviderFound) $*" >&2; exit 1 ;; esac`,
      `    cat '${FIXTURES}/'"$2"'s-eastus2.json' ;;`,
      // An earlier `azd provision` left a gpt-image-2 deployment of 3 units in account oai-test.
      '  "cognitiveservices account deployment")',
      '    case "$*" in *"--name oai-test "*) printf "gpt-image-2\\t3\\n" ;; *) exit 3 ;; esac ;;',
      // The kind of that account: AZ_ACCOUNT_KIND, or none (az fails as for a missing account).
      '  "cognitiveservices account show")',
      '    case "$*" in *"--name oai-test "*) [ -n "${AZ_ACCOUNT_KIND:-}" ] && echo "$AZ_ACCOUNT_KIND" ;; *) exit 3 ;; esac ;;',
      // Who is signed in (user or servicePrincipal), and the Microsoft.App provider's state; registering is logged.
      '  "account show --query") echo "${AZ_USER_TYPE:-user}" ;;',
      '  "provider show --namespace") echo "${AZ_APP_STATE:-Registered}" ;;',
      `  "provider register --namespace") echo "az $*" >> '${dir}/calls.log' ;;`,
      '  *) echo "az stand-in: $*" >&2; exit 3 ;;',
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(az, 0o755);
  // azd: only `azd env set`, logged.
  writeFileSync(path.join(dir, 'azd'), `#!/bin/sh\necho "azd $*" >> '${dir}/calls.log'\n`);
  chmodSync(path.join(dir, 'azd'), 0o755);
  /** The azd and az calls logged since the last look (`['']`: none). */
  const calls = () => {
    const log = path.join(dir, 'calls.log');
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    rmSync(log, { force: true });
    return text.trim().split('\n');
  };
  const hook = (env: Record<string, string>) =>
    promisify(execFile)('sh', [path.join(ROOT, 'infra/hooks/preprovision.sh')], {
      env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, ...env },
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('stops a retired model before anything is created, and lets the default through', async () => {
    const retired = await hook({ IMAGE_MODEL_NAME: 'gpt-image-1', AZURE_OPENAI_LOCATION: 'eastus2' });
    expect(retired.code).toBe(1);
    expect(retired.stderr).toMatch(
      /IMAGE_MODEL_NAME: gpt-image-1 2025-04-15 was retired on 2026-10-23; Microsoft names no replacement; use gpt-image-2/,
    );
    const ok = await hook({});
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/preflight: gpt-image-2 \(GlobalStandard, 3 units\) in eastus2 can be deployed/);
  }, 180_000);

  it("counts the existing deployment's own capacity on a re-provision", async () => {
    // 6 of 9 units are in use; 3 of them are this deployment's, so 6 may be asked for, and no more.
    const earlier = { AZURE_RESOURCE_GROUP: 'rg-test', AZURE_OPENAI_ENDPOINT: 'https://oai-test.openai.azure.com/' };
    expect((await hook({ ...earlier, IMAGE_MODEL_CAPACITY: '6' })).code).toBe(0);
    const more = await hook({ ...earlier, IMAGE_MODEL_CAPACITY: '7' });
    expect(more.code).toBe(1);
    expect(more.stderr).toMatch(
      /7 units of OpenAI\.GlobalStandard\.gpt-image-2 asked for, 6 free in eastus2 \(limit 9, in use 3\)/,
    );
    expect((await hook({ IMAGE_MODEL_CAPACITY: '6' })).code).toBe(1);
  }, 180_000);

  it('checks every region of the pool, and refuses a malformed or repeated one before asking Azure', async () => {
    // The stand-in knows eastus2 only: the extra region is asked about, and its failure stops the hook.
    const westus3 = await hook({ AZURE_OPENAI_EXTRA_REGIONS: 'westus3:3' });
    expect(westus3.code).toBe(1);
    expect(westus3.stdout).toMatch(
      /in eastus2 can be deployed[\s\S]*asking Azure about gpt-image-2 \(GlobalStandard, 3 units\) in westus3/,
    );
    expect(westus3.stderr).toMatch(/preprovision: could not list the models of westus3/);
    const malformed = await hook({ AZURE_OPENAI_EXTRA_REGIONS: 'westus3' });
    expect(malformed).toMatchObject({ code: 1, stdout: '' });
    expect(malformed.stderr).toMatch(/entries must be region:capacity with a whole number of units, got 'westus3'/);
    const twice = await hook({ AZURE_OPENAI_EXTRA_REGIONS: 'swedencentral:3, eastus2:3' });
    expect(twice.stderr).toMatch(/names eastus2 twice/);
    // Every pool account now gets its private endpoint: extra regions and VNET_ENABLED go together.
    const vnet = await hook({ AZURE_OPENAI_EXTRA_REGIONS: 'westus3:3', VNET_ENABLED: 'true' });
    expect(vnet.stderr).not.toMatch(/VNET_ENABLED/);
    expect(vnet.stdout).toMatch(/asking Azure about gpt-image-2 \(GlobalStandard, 3 units\) in westus3/);
    calls();
  }, 180_000);

  it('records whether a user or a service principal deploys, so role assignments match (UnmatchedPrincipalType)', async () => {
    calls();
    const ci = await hook({ AZ_USER_TYPE: 'servicePrincipal', PREFLIGHT_SKIP: 'true' });
    expect(ci.code).toBe(0);
    expect(ci.stdout).toMatch(/signed in as a ServicePrincipal: AZURE_PRINCIPAL_TYPE=ServicePrincipal/);
    expect(calls()).toEqual(['azd env set AZURE_PRINCIPAL_TYPE ServicePrincipal']);
    const user = await hook({ AZ_USER_TYPE: 'user', AZURE_PRINCIPAL_TYPE: 'ServicePrincipal', PREFLIGHT_SKIP: 'true' });
    expect(user.code).toBe(0);
    expect(calls()).toEqual(['azd env set AZURE_PRINCIPAL_TYPE User']);
    // Already right: nothing to set.
    await hook({ AZ_USER_TYPE: 'user', AZURE_PRINCIPAL_TYPE: 'User', PREFLIGHT_SKIP: 'true' });
    expect(calls()).toEqual(['']);
  }, 180_000);

  it('registers Microsoft.App when VNET_ENABLED and it is not registered, and only then', async () => {
    const env = { AZURE_PRINCIPAL_TYPE: 'User', PREFLIGHT_SKIP: 'true' };
    calls();
    const registering = await hook({ ...env, VNET_ENABLED: 'true', AZ_APP_STATE: 'NotRegistered' });
    expect(registering.code).toBe(0);
    expect(registering.stdout).toMatch(
      /registering the Microsoft\.App resource provider \(VNET_ENABLED=true; it was NotRegistered\)/,
    );
    expect(calls()).toEqual([
      expect.stringMatching(/^az provider register --namespace Microsoft\.App --wait --only-show-errors/),
    ]);
    await hook({ ...env, VNET_ENABLED: 'true', AZ_APP_STATE: 'Registered' });
    await hook({ ...env, AZ_APP_STATE: 'NotRegistered' });
    expect(calls()).toEqual(['']);
  }, 180_000);

  it('reports an account an earlier version made as kind OpenAI before anything is changed', async () => {
    const earlier = { AZURE_RESOURCE_GROUP: 'rg-test', AZURE_OPENAI_ENDPOINT: 'https://oai-test.openai.azure.com/' };
    const old = await hook({ ...earlier, AZ_ACCOUNT_KIND: 'OpenAI' });
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(
      /AZURE_OPENAI_ENDPOINT: the account oai-test is kind OpenAI; this template deploys kind AIServices \(a Foundry resource\)/,
    );
    expect(old.stderr).toMatch(/fix: upgrade oai-test to a Foundry resource first/);
    expect((await hook({ ...earlier, AZ_ACCOUNT_KIND: 'AIServices' })).code).toBe(0);
  }, 180_000);

  it('stops with the fix when az cannot answer, or the capacity is not a number', async () => {
    const broken = await hook({ AZURE_OPENAI_LOCATION: 'nowhere', AZURE_SUBSCRIPTION_ID: 'x' });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/preprovision: could not list the models of nowhere/);
    const capacity = await hook({ IMAGE_MODEL_CAPACITY: 'three' });
    expect(capacity).toMatchObject({
      code: 1,
      stderr: "preprovision: IMAGE_MODEL_CAPACITY must be a whole number of capacity units, got 'three'\n",
    });
  }, 180_000);
});
