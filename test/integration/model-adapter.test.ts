/**
 * The model adapter against the emulator, through the real `openai` SDK and `@azure/identity`'s token
 * provider: the GA v1 route by default, the dated deployment route when AZURE_OPENAI_API_VERSION is set,
 * with the emulator's key or an Entra ID token (the token endpoint is the one part stubbed), and the
 * answers that mean the app, not the drop, is misconfigured.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../local/emulator/server.js';
import { classifyError, COGNITIVE_SERVICES_SCOPE, createImageModel } from '../../shared/adapters/azure/openai-model.js';
import { type EditInput } from '../../shared/ports/image-model.js';
import { loadConfig, type PipelineConfig } from '../../shared/core/config.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { sampleEditInput } from '../helpers/edit-input.js';

const KEY = 'local-adapter-key';
const DATED = '2025-04-01-preview';

let emulator: Emulator;
let input: EditInput;

beforeAll(async () => {
  emulator = await startTestEmulator({ apiKey: KEY });
  input = await sampleEditInput();
});
afterAll(() => emulator.close());

function modelConfig(settings: Record<string, string>): PipelineConfig['model'] {
  return loadConfig({
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    AZURE_OPENAI_ENDPOINT: emulator.url,
    ...settings,
  }).model;
}

/** Stands in for the Entra ID token endpoint: hands out a token the emulator issued and records the scopes asked for. */
function stubCredential(): TokenCredential & { scopes: string[] } {
  const scopes: string[] = [];
  return {
    scopes,
    async getToken(scope: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
      scopes.push(...[scope].flat());
      const issued = emulator.issueToken();
      return { token: issued.access_token, expiresOnTimestamp: issued.expires_on * 1000 };
    },
  };
}

async function lastRequestAfter(edit: () => Promise<unknown>) {
  emulator.clearRequests();
  const outcome = await edit();
  return { outcome, request: emulator.requests().at(-1) };
}

describe('model adapter routes', () => {
  it('calls {endpoint}/openai/v1/images/edits with the key when no API version is set', async () => {
    const model = await createImageModel(modelConfig({ AZURE_OPENAI_API_KEY: KEY }));
    const { outcome, request } = await lastRequestAfter(() => model.edit(input));
    expect(outcome).toMatchObject({ kind: 'ok', contentType: 'image/png', requestId: expect.any(String) });
    expect(outcome).toMatchObject({ output: { sha256: request?.outputSha256[0] } });
    expect(request).toMatchObject({
      path: '/openai/v1/images/edits',
      deployment: 'gpt-image-2',
      status: 200,
      clientRequestId: 'job-1-1',
    });
  });

  it('calls the dated deployment route when AZURE_OPENAI_API_VERSION is set', async () => {
    const model = await createImageModel(modelConfig({ AZURE_OPENAI_API_KEY: KEY, AZURE_OPENAI_API_VERSION: DATED }));
    const { outcome, request } = await lastRequestAfter(() => model.edit(input));
    expect(outcome).toMatchObject({ kind: 'ok' });
    expect(request).toMatchObject({
      path: '/openai/deployments/gpt-image-2/images/edits',
      deployment: 'gpt-image-2',
      status: 200,
    });
  });

  it.each([
    ['v1', {}],
    ['dated', { AZURE_OPENAI_API_VERSION: DATED }],
  ])('authenticates with an Entra ID token on the %s route', async (_route, settings) => {
    const credential = stubCredential();
    const model = await createImageModel(modelConfig(settings), credential);
    const { outcome, request } = await lastRequestAfter(() => model.edit(input));
    expect(outcome).toMatchObject({ kind: 'ok' });
    expect(request?.status).toBe(200);
    expect(credential.scopes).toEqual([COGNITIVE_SERVICES_SCOPE]);
  });

  it('a wrong key is a transient failure (access may still be being granted), not a rejected drop', async () => {
    const model = await createImageModel(modelConfig({ AZURE_OPENAI_API_KEY: 'wrong' }));
    expect(await model.edit(input)).toMatchObject({ kind: 'transient', code: '401' });
  });
});

describe('misconfiguration is named, never blamed on the drop', () => {
  it('a deployment that does not exist names AZURE_OPENAI_DEPLOYMENT, on either route', async () => {
    for (const settings of [{}, { AZURE_OPENAI_API_VERSION: DATED }] as Record<string, string>[]) {
      const model = await createImageModel(
        modelConfig({ AZURE_OPENAI_API_KEY: KEY, AZURE_OPENAI_DEPLOYMENT: 'gpt-image-9', ...settings }),
      );
      expect(await model.edit(input)).toMatchObject({
        kind: 'misconfigured',
        setting: 'AZURE_OPENAI_DEPLOYMENT',
        code: 'DeploymentNotFound',
      });
    }
  });

  it('an endpoint that serves no images API names AZURE_OPENAI_ENDPOINT', async () => {
    const config = { ...modelConfig({ AZURE_OPENAI_API_KEY: KEY }), endpoint: `${emulator.url}/not-openai` };
    const model = await createImageModel(config);
    expect(await model.edit(input)).toMatchObject({
      kind: 'misconfigured',
      setting: 'AZURE_OPENAI_ENDPOINT',
      message: expect.stringMatching(/^HTTP 404/),
    });
  });

  it.each([
    [
      400,
      {
        code: 'MissingApiVersionParameter',
        message: 'The api-version query parameter (?api-version=) is required for all requests.',
      },
      'deployment',
      'AZURE_OPENAI_API_VERSION',
    ],
    [400, { code: 'BadRequest', message: 'API version not supported' }, 'deployment', 'AZURE_OPENAI_API_VERSION'],
    [404, { code: '404', message: 'Resource not found' }, 'deployment', 'AZURE_OPENAI_API_VERSION'],
    [404, { code: '404', message: 'Resource not found' }, 'v1', 'AZURE_OPENAI_ENDPOINT'],
  ] as const)('HTTP %i %j on the %s route names %s', (status, error, route, setting) => {
    const err = APIError.generate(status, { error }, undefined, new Headers());
    expect(classifyError(err, route)).toMatchObject({ kind: 'misconfigured', setting, code: error.code });
  });

  it('keeps content-filter refusals and bad requests apart from misconfiguration', () => {
    const filtered = APIError.generate(
      400,
      { error: { code: 'contentFilter', message: 'Your task failed as a result of our safety system.' } },
      undefined,
      new Headers(),
    );
    expect(classifyError(filtered)).toMatchObject({ kind: 'refused' });
    const invalid = APIError.generate(
      400,
      { error: { code: 'invalid_value', message: "Invalid value: 'ultra'." } },
      undefined,
      new Headers(),
    );
    expect(classifyError(invalid)).toMatchObject({ kind: 'invalid', status: 400 });
  });
});
