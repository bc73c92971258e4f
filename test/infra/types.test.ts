/**
 * Every resource declaration in infra/ checked against Microsoft's type data for its type and API version
 * (test/infra/azure-types): unknown properties, wrong nesting, read-only properties, values outside the
 * allowed ones, missing required properties. A fixture with planted mistakes proves each check can fail.
 */
import { describe, expect, it } from 'vitest';
import { BicepFile, infraFiles, parseBicep } from './bicep.js';
import { nearest, TypeLibrary, typeProblems } from './azure-types.js';

const lib = new TypeLibrary();

/**
 * Resource types the team's type set (test/infra/azure-types/README.md) has no data for, and where their
 * bodies are checked instead. Type data is only ever copied from that set, never from elsewhere.
 */
const WITHOUT_TYPE_DATA: Record<string, string> = {
  'Microsoft.Authorization/roleDefinitions@2022-04-01':
    "the publisher key's custom role; its permissions are checked in test/infra/semantics.test.ts",
};

describe('Bicep against the Azure resource types', () => {
  it('every resource in infra/ has type data for its API version, and matches it', async () => {
    const files = await Promise.all(infraFiles('.bicep').map((f) => BicepFile.load(f)));
    const resources = files.flatMap((f) => f.resources);
    expect(resources.length).toBeGreaterThan(20);
    const checked = resources.filter((r) => !(r.typeString in WITHOUT_TYPE_DATA));
    for (const r of checked) expect(lib.resourceBody(r.typeString), r.typeString).toBeDefined();
    // The exceptions stay exceptions: each is used, and none has type data here after all.
    for (const type of Object.keys(WITHOUT_TYPE_DATA)) {
      expect(
        resources.some((r) => r.typeString === type),
        type,
      ).toBe(true);
      expect(lib.resourceBody(type), type).toBeUndefined();
    }
    expect(typeProblems(files, lib).filter((p) => !Object.keys(WITHOUT_TYPE_DATA).some((t) => p.includes(t)))).toEqual(
      [],
    );
  });

  it('catches each planted mistake in the fixture, with the fix', async () => {
    const fixture = await BicepFile.load('test/infra/fixtures/type-mistakes.bicep');
    const problems = typeProblems([fixture], lib);
    const planted = fixture.lines.flatMap((l, i) => (l.includes('// mistake') ? [i + 1] : []));
    // One report per planted line, and nothing else.
    expect(problems.map((p) => Number(/^[^:]+:(\d+):/.exec(p)?.[1]))).toEqual(planted);
    expect(problems).toEqual([
      expect.stringMatching(
        /storage\.properties\.allowBlobPublicAcess: unknown property of .*; did you mean allowBlobPublicAccess\?$/,
      ),
      expect.stringMatching(
        /storage\.properties\.publicNetworkAccess: 'Enabld' is not a known value; did you mean 'Enabled'\?$/,
      ),
      expect.stringMatching(/storage\.properties\.primaryEndpoints: read-only property/),
      expect.stringMatching(
        /app\.identity\.type: 'SystemAsigned' is not an allowed value \(.*'SystemAssigned'.*\); did you mean 'SystemAssigned'\?$/,
      ),
      expect.stringMatching(
        /app\.httpsOnly: unknown property of Microsoft\.Web\/sites; wrong nesting: it belongs at app\.properties\.httpsOnly$/,
      ),
      expect.stringMatching(/config: name 'weird' is none of 'appsettings', .*'web'$/),
      expect.stringMatching(/vault \(Microsoft\.KeyVault\/vaults@2019-09-01\): no type data .*known: 2026-02-01/),
      expect.stringMatching(/assignment\.properties: required property principalId of .* is missing$/),
    ]);
  });

  it('names the API version that has a property the one in use lacks (vnetEnabled on an older site API)', async () => {
    const file = 'infra/modules/function-app.bicep';
    const original = await BicepFile.load(file);
    const text = original.text.replace(
      '    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId\n',
      '$&    outboundVnetRouting: {\n      allTraffic: true\n    }\n',
    );
    expect(text).not.toBe(original.text);
    const edited = new BicepFile(file, text, await parseBicep(text));
    expect(typeProblems([edited], lib)).toEqual([
      expect.stringMatching(
        /^infra\/modules\/function-app\.bicep:\d+:\d+: app\.properties\.outboundVnetRouting: unknown property of SiteProperties; API version 2024-04-01 lacks it, 2025-03-01 has it$/,
      ),
    ]);
  });

  it('suggests only a near spelling', () => {
    expect(nearest('allowBlobPublicAcess', ['allowBlobPublicAccess', 'allowSharedKeyAccess'])).toBe(
      'allowBlobPublicAccess',
    );
    expect(nearest('sku', ['properties', 'location'])).toBeUndefined();
  });
});
