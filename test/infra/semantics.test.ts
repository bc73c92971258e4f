/**
 * What the templates say, read from their syntax trees: API versions, role assignments, secrets, the
 * storage and model accounts' posture, the Event Grid subscriptions. Each check also runs on a copy of
 * the templates broken on purpose, to prove it can fail.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONTAINERS, EVENT_SUBSCRIPTIONS } from '../../shared/core/containers.js';
import { evaluate, get, infraFiles, ROOT } from './bicep.js';
import {
  apiVersionProblems,
  BUILT_IN_ROLES,
  eventSubscriptionProblems,
  keyVaultProblems,
  loadTemplates,
  networkProblems,
  openAiProblems,
  roleAssignments,
  secretProblems,
  sizingProblems,
  storageProblems,
  type Templates,
} from './checks.js';

const files = infraFiles('.bicep');
let t: Templates;

beforeAll(async () => {
  t = await loadTemplates(files);
});

const broken = (edits: Parameters<typeof loadTemplates>[1]) => loadTemplates(files, edits);

describe('API versions', () => {
  it('every resource declaration has an explicit GA API version', () => {
    expect(t.all.flatMap((f) => f.resources).length).toBeGreaterThan(20);
    expect(apiVersionProblems(t.all)).toEqual([]);
  });

  it('catches a resource without one', async () => {
    const b = await broken({
      storage: (s) =>
        s.replace(
          "'Microsoft.Storage/storageAccounts/queueServices@2023-05-01'",
          "'Microsoft.Storage/storageAccounts/queueServices'",
        ),
    });
    expect(apiVersionProblems(b.all)).toEqual([
      expect.stringMatching(/^infra\/modules\/storage\.bicep:\d+:\d+: resource queueService .* has no @api-version$/),
    ]);
    const preview = await broken({ openai: (s) => s.replace('accounts@2026-07-01', 'accounts@2026-05-15-preview') });
    expect(apiVersionProblems(preview.all)).toEqual([expect.stringMatching(/uses API version 2026-05-15-preview/)]);
  });
});

describe('role assignments', () => {
  it('use known built-in roles, named in a comment next to each id', () => {
    const { problems, assignments } = roleAssignments(t.all);
    expect(problems).toEqual([]);
    expect(new Set(assignments.map((a) => a.role))).toEqual(
      new Set([
        ...Object.values(BUILT_IN_ROLES).filter((r) => r !== 'Storage Blob Data Reader'),
        'custom role signerRole',
      ]),
    );
  });

  it('are least privilege, each scoped to its one resource', () => {
    const { assignments } = roleAssignments(t.all);
    const of = (principal: string) =>
      assignments
        .filter((a) => a.principal === principal)
        .map((a) => `${a.role} @ ${a.scopeType}${a.conditional ? ' (optional)' : ''}`)
        .sort();
    // Inference on the first account (roles.bicep) and on each extra region's (openai-access.bicep).
    expect(of('functionPrincipalId')).toEqual([
      'Cognitive Services OpenAI User @ Microsoft.CognitiveServices/accounts',
      'Cognitive Services OpenAI User @ Microsoft.CognitiveServices/accounts',
      'Monitoring Metrics Publisher @ Microsoft.Insights/components',
      'Storage Blob Data Owner @ Microsoft.Storage/storageAccounts',
      'Storage Queue Data Contributor @ Microsoft.Storage/storageAccounts',
      'Storage Table Data Contributor @ Microsoft.Storage/storageAccounts',
      'custom role signerRole @ Microsoft.KeyVault/vaults/keys',
    ]);
    // Dead-lettering only: blob writes in the dead-letter container, nothing else.
    expect(of('eventGridPrincipalId')).toEqual([
      'Storage Blob Data Contributor @ Microsoft.Storage/storageAccounts/blobServices/containers',
    ]);
    const deadLetter = t.roles.resourcesOfType('Microsoft.Storage/storageAccounts/blobServices/containers', {
      existing: true,
    })[0];
    expect(
      evaluate(get(deadLetter?.body, 'name'), {
        file: t.roles,
        locals: new Map([['deadLetterContainerName', CONTAINERS.deadLetter]]),
      }),
    ).toBe(CONTAINERS.deadLetter);
    expect(get(t.main.module('modules/roles.bicep')?.body, 'params.deadLetterContainerName')?.text).toBe(
      'containers.deadLetter',
    );
    // The developer: only when a principal is given; data access and inference, no Owner, no telemetry.
    expect(of('developerPrincipalId')).toEqual([
      'Cognitive Services OpenAI User @ Microsoft.CognitiveServices/accounts (optional)',
      'Cognitive Services OpenAI User @ Microsoft.CognitiveServices/accounts (optional)',
      'Storage Blob Data Contributor @ Microsoft.Storage/storageAccounts (optional)',
      'Storage Queue Data Contributor @ Microsoft.Storage/storageAccounts (optional)',
      'Storage Table Data Contributor @ Microsoft.Storage/storageAccounts (optional)',
    ]);
    for (const r of t.roles.resourcesOfType('Microsoft.Authorization/roleAssignments')) {
      if (r.condition) expect(r.condition.text).toBe('(!empty(developerPrincipalId))');
    }
    // Outcome events: send, on the outcome topic only, by the function app's identity.
    expect(of('senderPrincipalId')).toEqual(['EventGrid Data Sender @ Microsoft.EventGrid/topics']);
    expect(get(t.main.module('modules/outcome-topic.bicep')?.body, 'params.senderPrincipalId')?.text).toBe(
      'identity.outputs.principalId',
    );
    expect(assignments).toHaveLength(14);
  });

  it('explains why the function identity gets Storage Blob Data Owner', () => {
    const line = t.roles.lines.findIndex((l) => l.includes('resource functionBlob'));
    const comment = t.roles.lines.slice(Math.max(0, line - 20), line).join('\n');
    expect(comment).toMatch(/Storage Blob Data Owner, not Contributor/);
    expect(comment).toMatch(/AzureWebJobsStorage/);
  });

  it('catches an unknown role, a wrong comment and a resource-group-wide scope', async () => {
    const b = await broken({
      roles: (s) =>
        s
          .replace(
            "'3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher",
            "'3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Contributor",
          )
          .replace(
            "cognitiveServicesOpenAiUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'",
            "cognitiveServicesOpenAiUser: 'a001fd3d-188f-4b5d-821b-7da978bf7442'",
          )
          .replace('  scope: appInsights\n', ''),
    });
    const problems = roleAssignments(b.all).problems.join('\n');
    expect(problems).toMatch(
      /the comment next to 3913510d-42f4-4e42-8a64-420c390055eb must name the role "Monitoring Metrics Publisher"/,
    );
    expect(problems).toMatch(/a001fd3d-188f-4b5d-821b-7da978bf7442 is not a built-in role this deployment knows/);
    expect(problems).toMatch(/role assignment functionTelemetry: must be scoped to a resource declared in the file/);
  });
});

describe('no keys', () => {
  it('no listKeys(), no secret outputs, no webhook keys, no key or connection string in app settings', () => {
    expect(secretProblems(t)).toEqual([]);
  });

  it('catches listKeys(), a connection string output and a key in an app setting', async () => {
    const b = await broken({
      main: (s) =>
        s
          .replace("  EXTRA_TRUST_ANCHORS: ''", "  EXTRA_TRUST_ANCHORS: ''\n  AZURE_OPENAI_API_KEY: openAiKey")
          .concat(
            "\nresource sa 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {\n  name: 'x'\n  scope: rg\n}\noutput STORAGE_CONNECTION string = 'AccountKey=${sa.listKeys().keys[0].value}'\n",
          ),
    });
    const problems = secretProblems(b).join('\n');
    expect(problems).toMatch(/listKeys\(\) reads secrets/);
    expect(problems).toMatch(/output STORAGE_CONNECTION looks like a secret/);
    expect(problems).toMatch(/output STORAGE_CONNECTION exposes keys/);
    expect(problems).toMatch(/app setting AZURE_OPENAI_API_KEY looks like a secret/);
  });

  it('catches an undocumented APPLICATIONINSIGHTS_CONNECTION_STRING', async () => {
    const b = await broken({ functionApp: (s) => s.replace(/it is not a credential/, 'it is fine') });
    expect(secretProblems(b)).toEqual([
      expect.stringMatching(/explain next to APPLICATIONINSIGHTS_CONNECTION_STRING why it is not a credential/),
    ]);
  });
});

describe('storage account', () => {
  it('is keyless, TLS 1.2, HTTPS only, private unless published read is asked for, with soft delete and lifecycle', () => {
    expect(storageProblems(t)).toEqual([]);
  });

  it('catches shared keys, public access and a missing lifecycle rule', async () => {
    const b = await broken({
      storage: (s) =>
        s
          .replace('allowSharedKeyAccess: false', 'allowSharedKeyAccess: true')
          .replace("(publishedPublicRead && (container.value == publishedContainerName)) ? 'Blob' : 'None'", "'Blob'")
          .replace("                '${containers.edited}/'\n", ''),
    });
    const problems = storageProblems(b).join('\n');
    expect(problems).toMatch(/properties\.allowSharedKeyAccess is true, want false/);
    expect(problems).toMatch(/container "inbox" has publicAccess "Blob" with publishedPublicRead=false/);
    expect(problems).toMatch(/no lifecycle rule deletes blobs under edited\//);
  });
});

describe('Azure OpenAI', () => {
  it('has local auth disabled, a custom subdomain, the image model on GlobalStandard, in an allowed region', () => {
    expect(openAiProblems(t)).toEqual([]);
  });

  it('catches key auth, the OpenAI kind the automatic upgrade replaces, and an unrestricted region', async () => {
    const b = await broken({
      openai: (s) =>
        s.replace('disableLocalAuth: true', 'disableLocalAuth: false').replace("kind: 'AIServices'", "kind: 'OpenAI'"),
      main: (s) => s.replace("  'uaenorth'\n", "  'uaenorth'\n  'eastus'\n"),
    });
    const problems = openAiProblems(b).join('\n');
    expect(problems).toMatch(/disableLocalAuth must be true/);
    expect(problems).toMatch(/kind is "OpenAI", want 'AIServices' \(the preflight's\)/);
    expect(problems).toMatch(/param openAiLocation must be @allowed/);
  });
});

describe('Event Grid subscriptions', () => {
  it('deliver BlobCreated from PutBlob/PutBlockList/CopyBlob/FlushWithClose to the functions, keyless, with dead-lettering', () => {
    const { problems, subscriptions } = eventSubscriptionProblems(t);
    expect(problems).toEqual([]);
    expect(subscriptions).toEqual(
      EVENT_SUBSCRIPTIONS.map((s) => ({
        name: s.name,
        container: s.container,
        functionName: s.functionName,
        subjectBeginsWith: `/blobServices/default/containers/${s.container}/blobs/`,
      })),
    );
  });

  it('catches a subject without /blobs/, a missing API filter and a webhook', async () => {
    const b = await broken({
      eventSubscriptions: (s) =>
        s
          .replace("containers/${s.container}/blobs/'", "containers/${s.container}'")
          .replace("operatorType: 'StringIn'", "operatorType: 'StringNotIn'")
          .replace("endpointType: 'AzureFunction'", "endpointType: 'WebHook'"),
    });
    const problems = eventSubscriptionProblems(b).problems.join('\n');
    expect(problems).toMatch(/subjectBeginsWith "\/blobServices\/default\/containers\/inbox" must end with \/blobs\//);
    expect(problems).toMatch(/needs advanced filter StringIn data\.api/);
    expect(problems).toMatch(/destination must be an AzureFunction endpoint/);
  });
});

describe('Flex Consumption sizing', () => {
  it('offers 2048 and 4096 MB instances only (512 MB cannot hold a worst-case edit), defaulting to 2048', () => {
    for (const f of [t.main, t.functionApp]) {
      const p = f.params.get('instanceMemoryMB')!;
      expect(evaluate(f.decorator(p, 'allowed')?.[0], { file: f }), f.file).toEqual([2048, 4096]);
    }
    expect(evaluate(t.main.params.get('instanceMemoryMB')?.default, { file: t.main })).toBe(2048);
  });
});

describe('network isolation (vnetEnabled)', () => {
  it('is off by default; when on, every service the app calls has a private endpoint and storage still lets Event Grid dead-letter', () => {
    expect(networkProblems(t)).toEqual([]);
  });

  it('catches a missing queue endpoint, storage closed to trusted services, an undelegated subnet and a public vault', async () => {
    const b = await broken({
      network: (s) =>
        s
          .replace(/  \{\n    name: 'queue'[\s\S]*?\n  \}\n/, '')
          .replace("serviceName: 'Microsoft.App/environments'", "serviceName: 'Microsoft.Web/serverFarms'")
          .replace('defaultOutboundAccess: true', 'defaultOutboundAccess: false'),
      storage: (s) =>
        s.replace("publicNetworkAccess: 'Enabled'", "publicNetworkAccess: privateNetworkOnly ? 'Disabled' : 'Enabled'"),
      keyVault: (s) =>
        s.replace("publicNetworkAccess: privateNetworkOnly ? 'Disabled' : 'Enabled'", "publicNetworkAccess: 'Enabled'"),
    });
    const problems = networkProblems(b).join('\n');
    expect(problems).toMatch(/no private endpoint for queue/);
    expect(problems).toMatch(/storage\.bicep: publicNetworkAccess is "Disabled" with vnetEnabled=true, want 'Enabled'/);
    expect(problems).toMatch(
      /key-vault\.bicep: publicNetworkAccess is "Enabled" with vnetEnabled=true, want 'Disabled'/,
    );
    expect(problems).toMatch(/the app subnet must be delegated to Microsoft\.App\/environments/);
    expect(problems).toMatch(/the app subnet must set defaultOutboundAccess: true/);
  });

  it('catches a pool account left without an endpoint, and a Foundry endpoint missing one of its three zones', async () => {
    const b = await broken({
      main: (s) =>
        s.replace(
          'aiAccountIds: concat([openAi.outputs.id], [for (region, i) in extraOpenAiRegions: openAiExtra[i].outputs.id])',
          'aiAccountIds: [openAi.outputs.id]',
        ),
      network: (s) => s.replace("      'aiServices'\n", ''),
    });
    const problems = networkProblems(b).join('\n');
    expect(problems).toMatch(
      /the network module must get every pool account's id \(aiAccountIds\), found \[openAi\.outputs\.id\]/,
    );
    expect(problems).toMatch(/a Foundry account's endpoint needs the zones .*privatelink\.services\.ai\.azure\.com/);
  });
});

describe('Key Vault', () => {
  it('has short soft delete and no purge protection by default, both parameters; the app may only read and sign', () => {
    expect(keyVaultProblems(t)).toEqual([]);
  });

  it('catches fixed purge protection, a wider role and a subscription-wide assignable scope', async () => {
    const b = await broken({
      keyVault: (s) =>
        s
          .replace('enablePurgeProtection: purgeProtection ? true : null', 'enablePurgeProtection: true')
          .replace(
            "  'Microsoft.KeyVault/vaults/keys/sign/action'\n",
            "  'Microsoft.KeyVault/vaults/keys/sign/action'\n  'Microsoft.KeyVault/vaults/keys/backup/action'\n",
          )
          .replace('      resourceGroup().id\n    ]', '      subscription().id\n    ]'),
    });
    const problems = keyVaultProblems(b).join('\n');
    expect(problems).toMatch(/enablePurgeProtection is true with purgeProtection=false/);
    expect(problems).toMatch(/dataActions are .*backup\/action/);
    expect(problems).toMatch(/assignable in this resource group only/);
  });
});

describe('Flex Consumption instance cap', () => {
  const parameterFiles = {
    bicepparam: readFileSync(path.join(ROOT, 'infra/main.bicepparam'), 'utf8'),
    json: readFileSync(path.join(ROOT, 'infra/main.parameters.json'), 'utf8'),
  };

  it('defaults to a maximum every Microsoft page allows (40), in the template and both parameter files', () => {
    expect(evaluate(t.main.params.get('maximumInstanceCount')?.default, { file: t.main })).toBe(40);
    expect(sizingProblems(t, parameterFiles)).toEqual([]);
  });

  it('catches the old default of 4', async () => {
    const b = await broken({
      main: (s) => s.replace('param maximumInstanceCount int = 40', 'param maximumInstanceCount int = 4'),
    });
    expect(sizingProblems(b, parameterFiles)).toEqual([
      expect.stringMatching(/maximumInstanceCount defaults to 4; Microsoft allows 40-1000/),
      expect.stringMatching(/main\.bicepparam: FUNCTIONS_MAXIMUM_INSTANCE_COUNT must default to 4/),
      expect.stringMatching(/main\.parameters\.json: FUNCTIONS_MAXIMUM_INSTANCE_COUNT must default to 4/),
    ]);
  });
});
