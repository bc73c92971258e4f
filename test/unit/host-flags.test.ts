/**
 * `imagegen-pipeline host --no-jobs-index` (benchmarks only: bench (a) with and without the index) gives a
 * runtime whose ledger has no jobs index; without the flag the ledger keeps the index in step.
 */
import { describe, expect, it } from 'vitest';
import { hostRuntime, parseHostArgs } from '../../local/host/cli.js';
import { JobsIndex } from '../../shared/app/jobs-index.js';

// Azurite's well-known account; nothing is called: the runtime's clients connect on first use.
const SETTINGS = {
  AzureWebJobsStorage:
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;' +
    'AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;' +
    'BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;' +
    'TableEndpoint=http://127.0.0.1:9/devstoreaccount1;',
  AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:9',
};

describe('host --no-jobs-index', () => {
  it('gives a ledger without the jobs index', async () => {
    const rt = await hostRuntime(parseHostArgs(['--port', '0', '--no-timers', '--no-jobs-index']), SETTINGS);
    expect(rt.ledger.index).toBeUndefined();
  });

  it('is off by default: the ledger keeps the index', async () => {
    const rt = await hostRuntime(parseHostArgs(['--port', '0', '--no-timers']), SETTINGS);
    expect(rt.ledger.index).toBeInstanceOf(JobsIndex);
  });
});
