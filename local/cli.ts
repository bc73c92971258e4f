/**
 * `imagegen-pipeline <command>`: the project's command line. Each command loads only what it needs.
 * Exit codes: 0 success, 1 a check failed (e.g. a file would be quarantined, a port is taken), 2 usage or I/O error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { COMMAND_HELP, OVERVIEW } from './help.js';
import { PortBusyError } from './ports.js';

export class UsageError extends Error {}

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
    process.stdout.write(OVERVIEW);
    return command ? 0 : 2;
  }
  const load = COMMANDS[command];
  if (!load) {
    process.stderr.write(`imagegen-pipeline: unknown command "${command}"\n\n${OVERVIEW}`);
    return 2;
  }
  const help = COMMAND_HELP[command] ?? OVERVIEW;
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(help);
    return 0;
  }
  try {
    return await (await load()).run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`imagegen-pipeline ${command}: ${err.message}\n\n${help}`);
      return 2;
    }
    // A check that failed, not a mistake in the command line: exit 1, and no usage text to scroll past.
    if (err instanceof PortBusyError) {
      process.stderr.write(`imagegen-pipeline ${command}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`imagegen-pipeline ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}
