/**
 * What the adapter sends and how it reads Azure's answers about parameters and the resource, against
 * the emulator (whose deployments refuse what their catalog model does not take) through the real SDK:
 * input_fidelity never goes to a model Azure does not document as accepting it; a 400 for a parameter
 * the model does not take is a configuration error naming the parameter and model; the blocked-resource
 * 403 is its own outcome, neither a refusal of the drop nor a permission problem.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Emulator } from '../../local/emulator/server.js';
import { createImageModel } from '../../shared/adapters/azure/openai-model.js';
import { type EditInput } from '../../shared/ports/image-model.js';
import { loadConfig } from '../../shared/core/config.js';
import { IMAGE_MODELS } from '../../shared/core/model-catalog.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { sampleEditInput } from '../helpers/edit-input.js';

const KEY = 'local-parameters-key';
// Every catalog model Azure still deploys, each behind a deployment named after it.
const DEPLOYED = IMAGE_MODELS.filter((m) => m.name !== 'gpt-image-1').map((m) => m.name);

let emulator: Emulator;
let input: EditInput;

beforeAll(async () => {
  emulator = await startTestEmulator({
    apiKey: KEY,
    deployments: { ...Object.fromEntries(DEPLOYED.map((m) => [m, m])), 'mislabelled-mini': 'gpt-image-1-mini' },
  });
  input = await sampleEditInput({ inputFidelity: 'high' });
});
afterAll(() => emulator.close());

function modelFor(deployment: string, imageModel: string) {
  const config = loadConfig({
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    AZURE_OPENAI_ENDPOINT: emulator.url,
    AZURE_OPENAI_API_KEY: KEY,
    AZURE_OPENAI_DEPLOYMENT: deployment,
  }).model;
  return createImageModel({ ...config, imageModel });
}

it.each(DEPLOYED)('%s: input_fidelity is sent only where the catalog cites Azure accepting it', async (name) => {
  const model = await modelFor(name, name);
  // The emulator answers 400 unsupported_parameter to a model that does not take input_fidelity.
  expect(await model.edit(input)).toMatchObject({ kind: 'ok' });
});

it('never sends input_fidelity to gpt-image-2 (OpenAI answers 400 for it; no Azure page says it is accepted)', () => {
  expect(IMAGE_MODELS.find((m) => m.name === 'gpt-image-2')!.inputFidelity).toBe(false);
});

it('a 400 for a parameter the deployed model does not take names the parameter and model, as a configuration error', async () => {
  // IMAGE_MODEL says gpt-image-1.5 (which takes input_fidelity) but the deployment serves gpt-image-1-mini.
  const model = await modelFor('mislabelled-mini', 'gpt-image-1.5');
  const outcome = await model.edit(input);
  expect(outcome).toMatchObject({ kind: 'misconfigured', setting: 'IMAGE_MODEL', code: 'unsupported_parameter' });
  expect(outcome.kind === 'misconfigured' && outcome.message).toMatch(
    /^input_fidelity is not accepted by the deployment of gpt-image-1\.5 \(HTTP 400 unsupported_parameter: .*gpt-image-1-mini/,
  );
});

it("Azure's blocked-resource 403 is a blocked outcome; a permission 403 stays transient", async () => {
  const model = await modelFor('gpt-image-2', 'gpt-image-2');
  emulator.setFaults({ blocked: 1 });
  try {
    const blocked = await model.edit(input);
    expect(blocked).toMatchObject({ kind: 'blocked', code: 'Forbidden' });
    expect(blocked.kind === 'blocked' && blocked.message).toMatch(/temporarily blocked .* content policy/);
    emulator.setFaults({ http403: 1 });
    expect(await model.edit(input)).toMatchObject({ kind: 'transient', code: 'PermissionDenied' });
  } finally {
    emulator.setFaults({});
  }
});
