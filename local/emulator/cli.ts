/** `imagegen-pipeline emulator`: the gpt-image-1 emulator on its own, until Ctrl-C. */
import { intOption, parse, UsageError } from '../cli.js';
import { parseFaultRates, parseLatency } from './faults.js';
import { DEFAULT_CA_DIR } from './identity.js';
import { DEFAULT_DEPLOYMENTS, startEmulator } from './server.js';

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
  });
  let latency, faults;
  try {
    latency = values['latency-ms'] === undefined ? 0 : parseLatency(values['latency-ms']);
    faults = values.faults === undefined ? {} : parseFaultRates(values.faults);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const emulator = await startEmulator({
    port: intOption('port', values.port, 0, 65535) ?? 8011,
    host: values.host ?? '127.0.0.1',
    rpm: intOption('rpm', values.rpm, 1, 1_000_000) ?? 9,
    latency,
    faults,
    apiKey: values['api-key'],
    blockWords: values['block-word'] ?? [],
    deployments: values.deployment ?? DEFAULT_DEPLOYMENTS,
    caDir: values['ca-dir'] ?? DEFAULT_CA_DIR,
  });
  process.stdout.write(
    `gpt-image-1 emulator listening on ${emulator.url}\n` +
      `  deployments: ${(values.deployment ?? DEFAULT_DEPLOYMENTS).join(', ')}\n` +
      `  CA (trust it only for local testing): ${emulator.url}/emulator/ca.pem\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await emulator.close();
  return 0;
}
