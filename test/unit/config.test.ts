import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadGateConfig, parseDuration, SETTINGS } from '../../shared/core/config.js';

const minimal = {
  AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com/',
};

function problems(env: Record<string, string>, today?: Date): string[] {
  try {
    loadConfig(env, today);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('config', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig(minimal);
    expect(c.model).toMatchObject({
      endpoint: 'https://res.openai.azure.com',
      deployment: 'gpt-image-2',
      imageModel: 'gpt-image-2',
      apiVersion: '',
      rpm: 9,
      maxAttempts: 4,
      timeoutMs: 300_000,
    });
    expect(c.drop).toMatchObject({
      maxImageBytes: 52_428_800,
      settleMs: 5000,
      deadlineMs: 86_400_000,
      defaultOutputFormat: 'png',
    });
    expect(c.gate).toMatchObject({
      allowedAgents: ['Azure OpenAI ImageGen'],
      agentScope: 'active',
      tolerated: [{ code: 'claim.malformed', label: 'c2pa.soft-binding' }],
    });
    expect(c.storage).toEqual({ kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' });
  });

  it('names a missing endpoint and a missing storage setting, all at once', () => {
    const found = problems({});
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^AzureWebJobsStorage is missing/);
    expect(found[1]).toMatch(/^AZURE_OPENAI_ENDPOINT is missing/);
  });

  it('names each invalid setting with what it got', () => {
    const found = problems({
      ...minimal,
      IMAGE_MODEL_RPM: 'fast',
      DROP_DEADLINE: '24',
      AGENT_SCOPE: 'everywhere',
      TOLERATED_FAILURES: 'claim.malformed',
      SWEEP_SCHEDULE: '* * * * *',
    });
    expect(found.map((p) => p.split(' ')[0]).sort()).toEqual([
      'AGENT_SCOPE',
      'DROP_DEADLINE',
      'IMAGE_MODEL_RPM',
      'SWEEP_SCHEDULE',
      'TOLERATED_FAILURES',
    ]);
    expect(found.join('\n')).toContain('got "fast"');
  });

  it('refuses a retired, preview or unknown IMAGE_MODEL, naming the retirement date and the replacement', () => {
    const today = new Date('2026-11-24T00:00:00Z');
    const retired = problems({ ...minimal, IMAGE_MODEL: 'gpt-image-1' }, today);
    expect(retired).toEqual([
      'IMAGE_MODEL: gpt-image-1 2025-04-15 was retired on 2026-10-23; Microsoft names no replacement; use gpt-image-2',
    ]);
    expect(problems({ ...minimal, IMAGE_MODEL: 'gpt-image-2.5-flare' }, today)[0]).toMatch(
      /^IMAGE_MODEL: "gpt-image-2\.5-flare" is not an image model the pipeline knows \(gpt-image-1, gpt-image-1-mini, gpt-image-1\.5, gpt-image-2\)/,
    );
    // The same setting passes while the model is current and fails once its date has passed.
    expect(loadConfig({ ...minimal, IMAGE_MODEL: 'gpt-image-1.5' }, today).drop.model.name).toBe('gpt-image-1.5');
    expect(problems({ ...minimal, IMAGE_MODEL: 'gpt-image-1.5' }, new Date('2027-06-16T00:00:00Z'))[0]).toMatch(
      /retired on 2027-06-16/,
    );
  });

  it('selects the route by AZURE_OPENAI_API_VERSION and refuses a value that is not a dated version', () => {
    expect(loadConfig({ ...minimal, AZURE_OPENAI_API_VERSION: '2025-04-01-preview' }).model.apiVersion).toBe(
      '2025-04-01-preview',
    );
    expect(problems({ ...minimal, AZURE_OPENAI_API_VERSION: 'v1' })).toEqual([
      'AZURE_OPENAI_API_VERSION must be empty (the GA v1 route) or a dated version such as 2025-04-01-preview, got "v1"',
    ]);
  });

  it('checks the drop defaults against the model', () => {
    expect(loadConfig({ ...minimal, DEFAULT_SIZE: '2048x1152' }).drop.defaultSize).toBe('2048x1152');
    expect(problems({ ...minimal, IMAGE_MODEL: 'gpt-image-1.5', DEFAULT_SIZE: '2048x1152' })[0]).toMatch(
      /^DEFAULT_SIZE: gpt-image-1\.5 accepts "auto", "1024x1024"/,
    );
    expect(problems({ ...minimal, DEFAULT_OUTPUT_FORMAT: 'webp' })[0]).toMatch(
      /^DEFAULT_OUTPUT_FORMAT must be one of png, jpeg/,
    );
  });

  it('uses identity-based storage when the service URIs are set', () => {
    const c = loadConfig({
      AZURE_OPENAI_ENDPOINT: 'https://x.openai.azure.com',
      AzureWebJobsStorage__blobServiceUri: 'https://acct.blob.core.windows.net',
      AzureWebJobsStorage__queueServiceUri: 'https://acct.queue.core.windows.net',
      AZURE_CLIENT_ID: '11111111-2222-3333-4444-555555555555',
    });
    expect(c.storage).toEqual({
      kind: 'identity',
      blobServiceUri: 'https://acct.blob.core.windows.net',
      queueServiceUri: 'https://acct.queue.core.windows.net',
      clientId: '11111111-2222-3333-4444-555555555555',
    });
    expect(c.model.apiKey).toBeUndefined();
    expect(
      problems({
        AZURE_OPENAI_ENDPOINT: 'https://x',
        AzureWebJobsStorage__blobServiceUri: 'https://acct.blob.core.windows.net',
      })[0],
    ).toMatch(/queueServiceUri is missing/);
  });

  it('reads the gate settings alone for the verify command', () => {
    expect(loadGateConfig({ AGENT_SCOPE: 'chain', ALLOWED_SOFTWARE_AGENTS: 'A, B' })).toMatchObject({
      agentScope: 'chain',
      allowedAgents: ['A', 'B'],
    });
    expect(() => loadGateConfig({ ALLOWED_SOFTWARE_AGENTS: ' , ' })).toThrow(/ALLOWED_SOFTWARE_AGENTS must name/);
  });

  it("reads the console's sign-in only when both its settings are set", () => {
    const tenant = { CONSOLE_TENANT_ID: ' tenant-1 ' };
    expect(loadConfig({ ...minimal, ...tenant, CONSOLE_CLIENT_ID: 'client-1' }).console).toEqual({
      maxTransfers: 4,
      signIn: { tenantId: 'tenant-1', clientId: 'client-1' },
    });
    expect(loadConfig({ ...minimal, ...tenant }).console.signIn).toBeUndefined();
    expect(loadConfig({ ...minimal, ...tenant, CONSOLE_CLIENT_ID: ' ' }).console.signIn).toBeUndefined();
  });

  it('parses durations', () => {
    expect([
      parseDuration('250ms'),
      parseDuration('90s'),
      parseDuration('5m'),
      parseDuration('24h'),
      parseDuration('1.5d'),
    ]).toEqual([250, 90_000, 300_000, 86_400_000, 129_600_000]);
    expect(parseDuration('5')).toBeUndefined();
  });

  it('documents every setting once', () => {
    const names = SETTINGS.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const s of SETTINGS) expect(s.description.length).toBeGreaterThan(10);
  });
});
