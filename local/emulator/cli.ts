/** `imagegen-pipeline emulator`: the gpt-image emulator on its own, until Ctrl-C. */
import { intOption, parse, UsageError } from '../cli.js';
import { ensurePortsFree, explainListenError, type PortUse } from '../ports.js';
import { WELL_KNOWN_API_KEY } from './auth.js';
import { DEFAULT_DEPLOYMENTS, parseDeploymentSpecs } from './deployments.js';
import { parseFaultRates, parseLatency } from './faults.js';
import { DEFAULT_CA_DIR } from './identity.js';
import { startEmulator, type Emulator } from './server.js';

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, {
    port: { type: 'string' },
    host: { type: 'string' },
    rpm: { type: 'string' },
    'latency-ms': { type: 'string' },
    'api-key': { type: 'string' },
    'block-word': { type: 'string', multiple: true },
    faults: { type: 'string' },
    deployment: { type: 'string', multiple: true },
    'ca-dir': { type: 'string' },
    signer: { type: 'string' },
    'no-timestamp': { type: 'boolean' },
  });
  if (values.signer !== undefined && values.signer !== 'current' && values.signer !== 'expired')
    throw new UsageError(`--signer must be "current" or "expired", got "${values.signer}"`);
  let latency, faults, deployments;
  try {
    latency = values['latency-ms'] === undefined ? 0 : parseLatency(values['latency-ms']);
    faults = values.faults === undefined ? {} : parseFaultRates(values.faults);
    deployments = values.deployment === undefined ? DEFAULT_DEPLOYMENTS : parseDeploymentSpecs(values.deployment);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const port: PortUse = {
    port: intOption('port', values.port, 0, 65535) ?? 8011,
    serves: 'the gpt-image emulator',
    usualHolder: '`npm start` or another `imagegen-pipeline emulator`',
    flag: '--port',
  };
  if (!values.host) await ensurePortsFree([port]);
  let emulator: Emulator;
  try {
    emulator = await startEmulator({
      port: port.port,
      host: values.host ?? '127.0.0.1',
      rpm: intOption('rpm', values.rpm, 1, 1_000_000) ?? 9,
      latency,
      faults,
      apiKey: values['api-key'] ?? WELL_KNOWN_API_KEY,
      blockWords: values['block-word'] ?? [],
      deployments,
      caDir: values['ca-dir'] ?? DEFAULT_CA_DIR,
      signer: values.signer ?? 'current',
      timestamp: !values['no-timestamp'],
    });
  } catch (err) {
    // A deployment of a retired or unknown model is a usage problem, reported like one.
    if (err instanceof Error && err.message.startsWith('deployment "')) throw new UsageError(err.message);
    throw explainListenError(err, [port]);
  }
  const served = Object.entries(emulator.deployments).map(([name, model]) => `${name} (${model})`);
  const key =
    emulator.apiKey === WELL_KNOWN_API_KEY
      ? `${WELL_KNOWN_API_KEY}   (the well-known emulator key)`
      : 'the one given with --api-key';
  process.stdout.write(
    `gpt-image emulator listening on ${emulator.url}\n` +
      `  deployments: ${served.join(', ')}\n` +
      `  api-key:     ${key}\n` +
      `  tokens:      POST ${emulator.url}/emulator/token\n` +
      `  trust roots (signing + time-stamping; trust them only for local testing): ${emulator.url}/emulator/ca.pem\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await emulator.close();
  return 0;
}
