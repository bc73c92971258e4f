/**
 * The Bicep follows shared/core/model-catalog.ts: the models it may deploy, their versions, requests per minute
 * per capacity unit, the default model and its default capacity, the regions and the SKU. Bicep cannot
 * import the catalog, so this test is what keeps the two in step.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkModel,
  DEFAULT_IMAGE_MODEL,
  findModel,
  IMAGE_MODELS,
  latestVersion,
} from '../../shared/core/model-catalog.js';
import { evaluate, get, infraFiles, type Value } from './bicep.js';
import { appSettingExpressions, loadTemplates, type Templates } from './checks.js';

let t: Templates;

beforeAll(async () => {
  t = await loadTemplates(infraFiles('.bicep'));
});

const param = (name: string) => {
  const p = t.main.params.get(name);
  if (!p) throw new Error(`main.bicep has no param ${name}`);
  return p;
};
const allowed = (name: string) => evaluate(t.main.decorator(param(name), 'allowed')?.[0], { file: t.main });
/** A param's default when imageModelName is `model`. */
const defaultFor = (name: string, model: string): Value =>
  evaluate(param(name).default, { file: t.main, locals: new Map([['imageModelName', model]]) });

describe('Bicep and the model catalog', () => {
  it("offers exactly the catalog's models, defaulting to DEFAULT_IMAGE_MODEL", () => {
    expect(allowed('imageModelName')).toEqual(IMAGE_MODELS.map((m) => m.name));
    expect(evaluate(param('imageModelName').default, { file: t.main })).toBe(DEFAULT_IMAGE_MODEL);
    // The default must be deployable today (GA, not retired); checkModel is what the preflight applies.
    expect(checkModel(DEFAULT_IMAGE_MODEL, undefined, new Date()).ok).toBe(true);
  });

  it("maps each model to its newest catalog version, and allows exactly the catalog's versions", () => {
    expect(allowed('imageModelVersion')).toEqual(IMAGE_MODELS.flatMap((m) => m.versions.map((v) => v.version)));
    for (const m of IMAGE_MODELS)
      expect(defaultFor('imageModelVersion', m.name), m.name).toBe(latestVersion(m).version);
  });

  it('takes requests per minute per capacity unit from the catalog, and a default capacity that fits the default quota', () => {
    for (const m of IMAGE_MODELS) {
      expect(m.rpmPerCapacityUnit, `${m.name}: the catalog must give rpmPerCapacityUnit for Bicep`).toBeDefined();
      expect(defaultFor('requestsPerMinutePerCapacityUnit', m.name), m.name).toBe(m.rpmPerCapacityUnit);
    }
    const model = findModel(DEFAULT_IMAGE_MODEL)!;
    const capacity = evaluate(param('imageModelCapacity').default, { file: t.main });
    expect(capacity).toBe(model.defaultRpm! / model.rpmPerCapacityUnit!);
    const rpm = appSettingExpressions(t).get('IMAGE_MODEL_RPM')!;
    expect(evaluate(rpm.node, { file: t.main })).toBe(String(model.defaultRpm));
  });

  it('deploys to a catalog region, on a SKU the model is offered under', () => {
    expect(allowed('openAiLocation')).toEqual([...new Set(IMAGE_MODELS.flatMap((m) => m.regions))]);
    expect(IMAGE_MODELS.flatMap((m) => m.regions)).toContain(
      evaluate(param('openAiLocation').default, { file: t.main }),
    );
    const deployment = t.openai.resourcesOfType('Microsoft.CognitiveServices/accounts/deployments')[0];
    const sku = evaluate(get(deployment?.body, 'sku.name'), { file: t.openai });
    for (const m of IMAGE_MODELS) expect(m.skus, m.name).toContain(sku);
  });

  it('tells the app which model it serves, on the GA v1 route by default', () => {
    const settings = appSettingExpressions(t);
    expect(settings.get('IMAGE_MODEL')?.node.text).toBe('imageModelName');
    const version = settings.get('AZURE_OPENAI_API_VERSION')!;
    expect(evaluate(version.node, { file: version.file })).toBe('');
    const deployment = settings.get('AZURE_OPENAI_DEPLOYMENT')!;
    expect(evaluate(deployment.node, { file: deployment.file })).toBe(DEFAULT_IMAGE_MODEL);
  });
});
