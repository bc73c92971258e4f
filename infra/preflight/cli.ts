/**
 * Command line of the preflight, run by infra/hooks/preprovision.{sh,ps1} after they have saved what
 * `az cognitiveservices model list` and `az cognitiveservices usage list` printed:
 *
 *   node dist/preflight/infra/preflight/cli.js --models m.json --usages u.json --model gpt-image-2 \
 *     --sku GlobalStandard --capacity 3 --region eastus2 [--existing-capacity 3] [--today 2026-11-24] \
 *     [--account oai-x --existing-kind OpenAI]
 *
 * Exit 0: deployable; 1: refused (the reasons and fixes on stderr); 2: the input could not be read.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { decide, formatDecision, PreflightInputError, type PreflightRequest } from './decide.js';

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

const FLAGS = [
  'models',
  'usages',
  'model',
  'version',
  'sku',
  'capacity',
  'region',
  'existing-capacity',
  'today',
  'account',
  'existing-kind',
] as const;
type Flag = (typeof FLAGS)[number];

export function run(argv: string[], io: Output): number {
  try {
    const args = parseArgs(argv);
    const request: PreflightRequest = {
      model: required(args, 'model'),
      sku: required(args, 'sku'),
      capacity: count(args, 'capacity', required(args, 'capacity')),
      region: required(args, 'region'),
      today: args.today ? date(args.today) : new Date(),
      models: readJson(required(args, 'models'), 'az cognitiveservices model list'),
      usages: readJson(required(args, 'usages'), 'az cognitiveservices usage list'),
      ...(args.version ? { version: args.version } : {}),
      ...(args['existing-capacity']
        ? { existingCapacity: count(args, 'existing-capacity', args['existing-capacity']) }
        : {}),
      ...(args['existing-kind']
        ? { existingAccount: { name: required(args, 'account'), kind: args['existing-kind'] } }
        : {}),
    };
    const decision = decide(request);
    (decision.ok ? io.out : io.err)(formatDecision(request, decision));
    return decision.ok ? 0 : 1;
  } catch (error) {
    if (!(error instanceof PreflightInputError)) throw error;
    io.err(`preflight: ${error.message}`);
    return 2;
  }
}

function parseArgs(argv: string[]): Partial<Record<Flag, string>> {
  const out: Partial<Record<Flag, string>> = {};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]?.replace(/^--/, '') as Flag;
    const value = argv[i + 1];
    if (!FLAGS.includes(flag) || value === undefined)
      throw new PreflightInputError(
        `unexpected argument ${JSON.stringify(argv[i])} (flags: ${FLAGS.map((f) => `--${f}`).join(' ')})`,
      );
    out[flag] = value;
  }
  return out;
}

function required(args: Partial<Record<Flag, string>>, flag: Flag): string {
  const value = args[flag];
  if (!value) throw new PreflightInputError(`--${flag} is required`);
  return value;
}

function count(args: Partial<Record<Flag, string>>, flag: Flag, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new PreflightInputError(`--${flag} must be a whole number, got ${JSON.stringify(args[flag])}`);
  return n;
}

function date(value: string): Date {
  const d = new Date(`${value}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(d.getTime()))
    throw new PreflightInputError(`--today must be YYYY-MM-DD, got ${JSON.stringify(value)}`);
  return d;
}

function readJson(file: string, command: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PreflightInputError(`cannot read the output of \`${command}\` (${file}): ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new PreflightInputError(`the output of \`${command}\` is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = run(process.argv.slice(2), { out: (t) => console.log(t), err: (t) => console.error(t) });
}
