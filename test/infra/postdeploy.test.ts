/**
 * The postdeploy hook (sh) end to end with a stand-in `az` on PATH that records every call: while the
 * functions are not yet listed it asks the host to sync on every check (POST .../host/default/sync), then
 * deploys the Event Grid subscriptions. The Azure control plane is the one thing that cannot run here.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './bicep.js';

const APP_ID = '/subscriptions/s/resourceGroups/rg-test/providers/Microsoft.Web/sites/func-test';

describe('the postdeploy hook (sh) with a stand-in az', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'postdeploy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const calls = path.join(dir, 'calls.log');
  const checks = path.join(dir, 'checks');
  // The functions show up on the third listing; everything else succeeds and is logged.
  writeFileSync(
    path.join(dir, 'az'),
    [
      '#!/bin/sh',
      `echo "$*" >> '${calls}'`,
      'case "$1 $2 $3" in',
      `  "functionapp function list") n=$(cat '${checks}' 2>/dev/null || echo 0); n=$((n + 1)); echo $n > '${checks}'`,
      '    [ "$n" -ge 3 ] && printf "func-test/intake\\nfunc-test/publish\\n" ;;',
      `  "functionapp show --resource-group") echo '${APP_ID}' ;;`,
      'esac',
      'exit 0',
      '',
    ].join('\n'),
  );
  chmodSync(path.join(dir, 'az'), 0o755);

  it('syncs the host on every check until intake and publish are listed, then deploys the subscriptions', async () => {
    const env = {
      PATH: `${dir}:${process.env.PATH}`,
      HOME: dir,
      AZURE_RESOURCE_GROUP: 'rg-test',
      AZURE_FUNCTION_APP_NAME: 'func-test',
      AZURE_STORAGE_ACCOUNT_NAME: 'sttest',
      EVENT_GRID_SYSTEM_TOPIC_NAME: 'evgt-test',
      AZURE_SUBSCRIPTION_ID: 's',
      POSTDEPLOY_WAIT_SECONDS: '1',
    };
    const { stdout } = await promisify(execFile)('sh', [path.join(ROOT, 'infra/hooks/postdeploy.sh')], { env });
    expect(stdout).toMatch(/postdeploy: func-test has intake and publish/);
    const log = readFileSync(calls, 'utf8').trim().split('\n');
    const syncs = log.filter((l) => l.startsWith('rest '));
    // Two checks found nothing: two syncs, each the host sync endpoint, none the old syncfunctiontriggers.
    expect(syncs).toEqual(
      Array(2).fill(
        `rest --method post --url https://management.azure.com${APP_ID}/host/default/sync?api-version=2024-04-01 --only-show-errors --output none --subscription s`,
      ),
    );
    expect(log.filter((l) => l.startsWith('functionapp function list'))).toHaveLength(3);
    const deploy = log.find((l) => l.startsWith('deployment group create'));
    expect(deploy).toMatch(
      /--template-file \S+event-subscriptions\.bicep --parameters systemTopicName=evgt-test functionAppName=func-test storageAccountName=sttest deadLetterContainerName=eventgrid-deadletter/,
    );
  }, 60_000);
});
