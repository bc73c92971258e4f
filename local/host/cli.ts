/**
 * `imagegen-pipeline host`: only the local Functions host, against the storage and model the settings
 * name (environment, then local.settings.json). The chaos run starts it as a child process it can kill.
 */
import { loadConfig } from '../../shared/core/config.js';
import { newLocalSecret } from '../../shared/adapters/http/access.js';
import { ensureStorageLayout } from '../../shared/adapters/azure/storage.js';
import { createRuntime } from '../../shared/composition.js';
import type { Runtime } from '../../shared/adapters/azure/runtime.js';
import { intOption, parse } from '../cli.js';
import { ensurePortsFree, explainListenError, type PortUse } from '../ports.js';
import { loadFunctionDefinitions } from '../functions.js';
import { createReporter } from '../reporter.js';
import { readLocalSettings } from '../start.js';
import { projectHostJson, readQueueSettings } from './host-json.js';
import { startHost } from './host.js';

/** The host's flags (`imagegen-pipeline host --help`). */
export function parseHostArgs(args: string[]) {
  return parse(args, {
    port: { type: 'string' },
    'no-timers': { type: 'boolean' },
    // For benchmarks only (bench (a) with and without the index): the console needs the index.
    'no-jobs-index': { type: 'boolean' },
    'queue-lease-seconds': { type: 'string' },
    verbose: { type: 'boolean' },
  }).values;
}

/**
 * The runtime the host runs against, as its flags ask. The host on this machine: its console user is the
 * machine's own (see shared/adapters/http/access.ts).
 */
export function hostRuntime(
  flags: ReturnType<typeof parseHostArgs>,
  settings: Record<string, string | undefined>,
): Promise<Runtime> {
  return createRuntime(loadConfig(settings), {
    localSecret: newLocalSecret(),
    jobsIndex: flags['no-jobs-index'] !== true,
  });
}

export async function run(args: string[]): Promise<number> {
  const values = parseHostArgs(args);
  const port: PortUse = {
    port: intOption('port', values.port, 0, 65535) ?? 7071,
    serves: 'the Functions host',
    usualHolder: '`npm start`, another `imagegen-pipeline host` or `func start`',
    flag: '--port',
  };
  // Before the storage is touched, so a taken port fails at once.
  await ensurePortsFree([port]);
  const settings = { ...readLocalSettings(), ...process.env } as Record<string, string | undefined>;
  const runtime = await hostRuntime(values, settings);
  await ensureStorageLayout(runtime.storage);
  const reporter = createReporter({ verbose: values.verbose === true });
  const leaseSeconds = intOption('queue-lease-seconds', values['queue-lease-seconds'], 1, 600);
  const host = await startHost({
    runtime,
    functions: await loadFunctionDefinitions(),
    queueSettings: readQueueSettings(projectHostJson()),
    settings,
    port: port.port,
    timers: values['no-timers'] !== true,
    ...(leaseSeconds ? { queueLeaseSeconds: leaseSeconds } : {}),
    onLog: (entry) => reporter.log(entry),
  }).catch((err: unknown) => {
    throw explainListenError(err, [port]);
  });
  process.stdout.write(`Functions host listening on ${host.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await host.close();
  return 0;
}
