import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/core/config.js';
import { parseSidecar } from '../../shared/core/sidecar.js';

const minimal = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com/',
};

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...minimal, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('OUTPUT_MODE and the publisher settings', () => {
  it('default to composites, with no publisher until one is configured', () => {
    expect(loadConfig(minimal).output).toEqual({
      mode: 'composite',
      stripGps: true,
      publisherChain: '',
      publisherKeyId: '',
    });
  });

  it('strip the GPS position unless STRIP_GPS=false, and refuse anything but true or false', () => {
    expect(loadConfig({ ...minimal, STRIP_GPS: 'false' }).output.stripGps).toBe(false);
    expect(problems({ STRIP_GPS: 'no' })).toEqual(['STRIP_GPS must be one of true, false, got "no"']);
  });

  it('name a bad mode and a signer that is not a Key Vault key URL', () => {
    expect(problems({ OUTPUT_MODE: 'full' })).toEqual(['OUTPUT_MODE must be one of composite, model, got "full"']);
    expect(problems({ PUBLISHER_SIGNER: 'https://example.com/keys/x' })[0]).toMatch(
      /^PUBLISHER_SIGNER must be a Key Vault key URL/,
    );
    const keyId = 'https://kv-abc.vault.azure.net/keys/publisher-signing/0123abcd';
    expect(loadConfig({ ...minimal, PUBLISHER_SIGNER: keyId, OUTPUT_MODE: 'model' }).output).toMatchObject({
      mode: 'model',
      publisherKeyId: keyId,
    });
  });
});

describe('the sidecar "output" field', () => {
  it('accepts composite and model, and refuses anything else by name', () => {
    expect(parseSidecar('{"output":"model"}')).toEqual({ ok: true, sidecar: { output: 'model' } });
    expect(parseSidecar('{"output":"composite"}')).toEqual({ ok: true, sidecar: { output: 'composite' } });
    expect(parseSidecar('{"output":"full-size"}')).toEqual({
      ok: false,
      problems: ['"output" must be one of "composite", "model", got "full-size"'],
    });
  });
});
