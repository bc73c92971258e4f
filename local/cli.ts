/**
 * `imagegen-pipeline <command>`: the project's command line. Each command loads only what it needs.
 * Exit codes: 0 success, 1 a check failed (e.g. a file would be quarantined), 2 usage or I/O error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

const USAGE = `Usage: imagegen-pipeline <command> [options]

Commands:
  emulator   Run the gpt-image emulator (Azure OpenAI images API) alone
               [--port N] [--host H] [--rpm N] [--latency-ms N|MIN-MAX] [--api-key K]
               [--block-word W]... [--faults kind=rate,...] [--deployment NAME]... [--ca-dir DIR]
  verify     Check files against the provenance gate
               FILE... [--trust PEM]... [--no-default-trust] [--agent-scope active|chain] [--publisher CHAIN.pem [--edit MODEL-OUTPUT]] [--json]
  start      Run the whole pipeline locally: Azurite, the emulator, the Functions host, ./drop sync
               [--pool REGION=RPM,...] (a deployment pool: one emulator per region, e.g. eastus2=12,westus3=6)
  demo       Drop the bundled samples through a fresh local pipeline and print the results
  host       Run only the local Functions host against existing storage and model endpoints
  chaos      Drive the local pipeline with faults and check its invariants   [--drops N] [--pool]
  help       Show this help
`;

export type CommandResult = number;

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function intOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return n;
}

const COMMANDS: Record<string, () => Promise<{ run(args: string[]): Promise<CommandResult> }>> = {
  emulator: () => import('./emulator/cli.js'),
  verify: () => import('./verify-cli.js'),
  start: () => import('./start.js'),
  demo: () => import('./demo.js'),
  host: () => import('./host/cli.js'),
  chaos: () => import('./chaos.js'),
};

export async function main(argv: string[]): Promise<CommandResult> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const load = COMMANDS[command];
  if (!load) {
    process.stderr.write(`imagegen-pipeline: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await (await load()).run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`imagegen-pipeline ${command}: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`imagegen-pipeline ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}
