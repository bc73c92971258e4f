/**
 * The developer setup Azure samples ship: the azd CI/CD workflow (parsed with a YAML parser, not matched as
 * text), the dev container and the VS Code launch and tasks files (JSON with comments, parsed as VS Code does).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './bicep.js';

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** JSON with comments (devcontainer.json, launch.json, tasks.json), through TypeScript's own JSONC reader. */
function jsonc(file: string): Record<string, unknown> {
  const { config, error } = ts.parseConfigFileTextToJson(file, read(file));
  if (error) throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(error.messageText, '\n')}`);
  return config as Record<string, unknown>;
}

interface Step {
  name?: string;
  run?: string;
  uses?: string;
  with?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, { branches?: string[] } | null>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflow = parse(read('.github/workflows/azure-dev.yml')) as Workflow;
const runs = (job: Job) => job.steps.map((s) => s.run ?? '').join('\n');

describe('.github/workflows/azure-dev.yml', () => {
  it('runs on pushes to main and on pull requests to main', () => {
    expect(workflow.on.push?.branches).toEqual(['main']);
    expect(workflow.on.pull_request?.branches).toEqual(['main']);
  });

  it('tests every change: npm ci then npm test, with no access to Azure', () => {
    const test = workflow.jobs.test!;
    expect(runs(test)).toMatch(/npm ci[\s\S]*\nnpm test$/);
    expect(test.permissions ?? workflow.permissions).toEqual({ contents: 'read' });
    expect(runs(test)).not.toMatch(/azd|az login/);
  });

  it('deploys pushes only, after the tests, with azd provision and azd deploy', () => {
    const deploy = workflow.jobs.deploy!;
    expect(deploy.needs).toBe('test');
    expect(deploy.if).toBe("github.event_name != 'pull_request'");
    const commands = runs(deploy);
    expect(commands).toMatch(
      /npm ci[\s\S]*azd auth login[\s\S]*azd provision --no-prompt[\s\S]*azd deploy --no-prompt/,
    );
  });

  it('logs in with OIDC federated credentials as `azd pipeline config` sets them up: no secrets', () => {
    const deploy = workflow.jobs.deploy!;
    expect(deploy.permissions).toEqual({ 'id-token': 'write', contents: 'read' });
    for (const name of [
      'AZURE_CLIENT_ID',
      'AZURE_TENANT_ID',
      'AZURE_SUBSCRIPTION_ID',
      'AZURE_ENV_NAME',
      'AZURE_LOCATION',
    ])
      expect(deploy.env?.[name]).toBe(`\${{ vars.${name} }}`);
    const login = deploy.steps.find((s) => s.run?.includes('azd auth login'))?.run ?? '';
    expect(login).toMatch(/--client-id "\$Env:AZURE_CLIENT_ID"/);
    expect(login).toMatch(/--federated-credential-provider "github"/);
    expect(login).toMatch(/--tenant-id "\$Env:AZURE_TENANT_ID"/);
    // The preprovision hook's az calls, as the same service principal, also through OIDC.
    const az = deploy.steps.find((s) => s.uses?.startsWith('azure/login@'));
    expect(az?.with).toEqual({
      'client-id': '${{ vars.AZURE_CLIENT_ID }}',
      'tenant-id': '${{ vars.AZURE_TENANT_ID }}',
      'subscription-id': '${{ vars.AZURE_SUBSCRIPTION_ID }}',
    });
    expect(read('.github/workflows/azure-dev.yml')).not.toMatch(/secrets\./);
  });
});

describe('.devcontainer/devcontainer.json', () => {
  const container = jsonc('.devcontainer/devcontainer.json') as {
    image: string;
    features: Record<string, unknown>;
    forwardPorts: number[];
    customizations: { vscode: { extensions: string[] } };
  };

  it('is Node.js 20 or 22 with azd, the Azure CLI and Functions Core Tools', () => {
    expect(container.image).toMatch(/typescript-node:.*\b(20|22)-/);
    expect(Object.keys(container.features)).toEqual([
      'ghcr.io/azure/azure-dev/azd:latest',
      'ghcr.io/devcontainers/features/azure-cli:1',
      'ghcr.io/jlaundry/devcontainer-features/azure-functions-core-tools:1',
    ]);
    expect(container.forwardPorts).toContain(7071);
  });

  it('recommends the Azure Functions, azd and Bicep extensions', () => {
    expect(container.customizations.vscode.extensions).toEqual(
      expect.arrayContaining([
        'ms-azuretools.vscode-azurefunctions',
        'ms-azuretools.azure-dev',
        'ms-azuretools.vscode-bicep',
      ]),
    );
  });
});

describe('.vscode launch and tasks', () => {
  const launch = jsonc('.vscode/launch.json') as { configurations: Record<string, unknown>[] };
  const tasks = jsonc('.vscode/tasks.json') as { tasks: { label: string; command: string; type: string }[] };

  it('debugs under npm start, and attaches to func start through a task that exists', () => {
    const byName = (name: RegExp) => launch.configurations.find((c) => name.test(String(c.name)));
    expect(byName(/^npm start/)).toMatchObject({ request: 'launch', runtimeExecutable: 'npm', runtimeArgs: ['start'] });
    const func = byName(/^func start/);
    expect(func).toMatchObject({ request: 'attach', port: 9229 });
    const task = tasks.tasks.find((t) => t.label === func?.preLaunchTask);
    expect(task).toMatchObject({ type: 'func', command: 'host start', dependsOn: 'npm: build' });
    expect(JSON.stringify(task)).toMatch(/--inspect=9229/);
    expect(tasks.tasks.map((t) => t.label)).toEqual(expect.arrayContaining(['npm: build', 'npm: start']));
  });
});
