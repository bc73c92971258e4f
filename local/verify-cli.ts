/**
 * `imagegen-pipeline verify FILE…`: the publish gate on local files. Exit 0 when every file would be
 * published, 1 when any would be quarantined, 2 on a usage or I/O error. Gate settings
 * (ALLOWED_SOFTWARE_AGENTS, TOLERATED_FAILURES, …) come from the environment like the app's.
 */
import { readFile } from 'node:fs/promises';
import { parse, UsageError } from './cli.js';
import { ConfigError, loadGateConfig } from '../shared/config.js';
import { renderChecklist } from '../shared/provenance/checklist.js';
import { certificatesIn, createVerifier } from '../shared/provenance/verifier.js';

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      trust: { type: 'string', multiple: true },
      'no-default-trust': { type: 'boolean' },
      'agent-scope': { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (positionals.length === 0) throw new UsageError('verify needs at least one FILE');
  const scope = values['agent-scope'];
  if (scope !== undefined && scope !== 'active' && scope !== 'chain') throw new UsageError(`--agent-scope must be active or chain, got "${scope}"`);
  let gate;
  try {
    gate = loadGateConfig({ ...process.env, ...(scope ? { AGENT_SCOPE: scope } : {}) });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  const extraPems: string[] = [];
  for (const file of values.trust ?? []) {
    const pem = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`--trust ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    if (certificatesIn(pem).length === 0) throw new UsageError(`--trust ${file}: no PEM certificate in it`);
    extraPems.push(pem);
  }
  const verifier = await createVerifier(gate, undefined, { noDefaultTrust: values['no-default-trust'] === true, extraPems });
  let exit = 0;
  for (const file of positionals) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      process.stderr.write(`imagegen-pipeline verify: ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}\n`);
      exit = 2;
      continue;
    }
    const report = await verifier.verify(bytes, { file });
    process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : `${renderChecklist(report)}\n`);
    if (report.verdict === 'quarantine' && exit === 0) exit = 1;
  }
  return exit;
}
