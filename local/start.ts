/**
 * `npm start`: the whole pipeline on this machine with no Azure account. Azurite (persisted in
 * `.local/azurite`), Event Grid in front of it on the usual blob port, the gpt-image emulator, the
 * Functions host on :7071, `./drop` → `inbox/` and every container → `./out/`. Settings from
 * `local.settings.json`, when present, override the local defaults (for example a real
 * AZURE_OPENAI_ENDPOINT instead of the emulator). Ctrl-C stops it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CONTAINERS } from '../shared/containers.js';
import { intOption, parse, UsageError } from './cli.js';
import { startLocalPipeline, type LocalPipeline, type Settings } from './environment.js';
import { createReporter } from './reporter.js';
import { parsePoolSpec } from './pool.js';
import { ensurePortsFree, explainListenError, startPorts } from './ports.js';
import { startDropSync, startMirror } from './sync.js';

export function readLocalSettings(file = 'local.settings.json'): Settings {
  if (!existsSync(file)) return {};
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as { Values?: Record<string, string> };
    return json.Values ?? {};
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function isLocalUrl(url: string | undefined): boolean {
  return !url || /^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(url);
}

/** The banner's model lines: the emulator with its well-known key and deployment, or the real endpoint. */
function modelLines({ emulator, emulatorPool, settings }: LocalPipeline): string[] {
  if (emulatorPool) {
    const regions = emulatorPool.regions.map(
      ({ region, rpm }) => `${region} ${emulatorPool.emulators.get(region)!.url} (${rpm} RPM)`,
    );
    return [
      `  Model pool:    ${regions.join(', ')}  gpt-image emulators, one per region`,
      `  Emulator key:  ${settings.AZURE_OPENAI_API_KEY}   (well-known, like Azurite's: api-key header; it opens only these emulators)`,
    ];
  }
  if (!emulator) return [`  Model:         ${settings.AZURE_OPENAI_ENDPOINT}`];
  const deployments = Object.entries(emulator.deployments)
    .map(([name, model]) => `${name} (${model})`)
    .join(', ');
  return [
    `  Model:         ${emulator.url}  gpt-image emulator, deployment ${deployments}; its two roots are trusted in local mode only`,
    `  Emulator key:  ${emulator.apiKey}   (well-known, like Azurite's: api-key header; it opens only this emulator)`,
  ];
}

/** The banner's outcome-events line: the local topic and its subscribers, or the configured topic. */
function outcomeEventLines({ outcomeTopic, settings, host }: LocalPipeline): string[] {
  const feed = `feed ${host.url}/api/events`;
  if (outcomeTopic) {
    const subscribers = (settings.OUTCOME_EVENT_SUBSCRIBERS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const to = subscribers.length ? `→ ${subscribers.join(', ')}` : '(no subscribers: set OUTCOME_EVENT_SUBSCRIBERS)';
    return [`  Outcome events: ${outcomeTopic.endpoint} local topic ${to}; ${feed}`];
  }
  return settings.OUTCOME_EVENTS_TOPIC_ENDPOINT
    ? [`  Outcome events: ${settings.OUTCOME_EVENTS_TOPIC_ENDPOINT}; ${feed}`]
    : [];
}

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, {
    port: { type: 'string' },
    'emulator-port': { type: 'string' },
    'blob-port': { type: 'string' },
    'queue-port': { type: 'string' },
    drop: { type: 'string' },
    out: { type: 'string' },
    state: { type: 'string' },
    'in-memory': { type: 'boolean' },
    verbose: { type: 'boolean' },
    pool: { type: 'string' },
  });
  const local = readLocalSettings();
  // Azurite is ours, so the sample's "UseDevelopmentStorage=true" means "the local one" anyway.
  delete local.AzureWebJobsStorage;
  const useEmulator = isLocalUrl(local.AZURE_OPENAI_ENDPOINT);
  if (useEmulator) {
    delete local.AZURE_OPENAI_ENDPOINT;
    delete local.AZURE_OPENAI_API_KEY;
    delete local.EXTRA_TRUST_ANCHORS;
  }
  const stateDir = values.state ?? '.local';
  const dropDir = values.drop ?? 'drop';
  const outDir = values.out ?? 'out';
  const reporter = createReporter({ verbose: values.verbose === true });
  let regions;
  try {
    regions = values.pool === undefined ? undefined : parsePoolSpec(values.pool);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (regions && !useEmulator)
    throw new UsageError('--pool runs emulated deployments; local.settings.json points at a real endpoint');

  const emulatorPort = intOption('emulator-port', values['emulator-port'], 0, 65535) ?? 8011;
  const emulatorOptions = { port: emulatorPort, latency: { min: 500, max: 1500 }, blockWords: ['forbidden'] };
  const port = {
    blob: intOption('blob-port', values['blob-port'], 0, 65535) ?? 10000,
    queue: intOption('queue-port', values['queue-port'], 0, 65535) ?? 10001,
    // A pool's emulators take the ports after the first one.
    emulator: !useEmulator ? [] : (regions ?? [undefined]).map((_, i) => (emulatorPort ? emulatorPort + i : 0)),
    host: intOption('port', values.port, 0, 65535) ?? 7071,
  };
  const ports = startPorts(port);
  // Before anything starts, so a taken port costs nothing to clean up.
  await ensurePortsFree(ports);
  const pipeline = await startLocalPipeline({
    storage: {
      azurite: values['in-memory'] ? {} : { location: path.join(stateDir, 'azurite') },
      blobPort: port.blob,
      queuePort: port.queue,
    },
    emulator: useEmulator ? emulatorOptions : false,
    ...(regions ? { emulatorPool: { regions, options: emulatorOptions } } : {}),
    hostPort: port.host,
    // Composites are signed by a local CA kept with the state, unless the settings name a publisher.
    ...(local.PUBLISHER_CERT_CHAIN ? {} : { publisher: path.join(stateDir, 'publisher-ca') }),
    settings: { SWEEP_SCHEDULE: '*/15 * * * * *', ...local },
    onLog: (entry) => reporter.log(entry),
  }).catch((err: unknown) => {
    throw explainListenError(err, ports);
  });
  const onError = (err: unknown) => process.stderr.write(`  ! ${(err as Error).message}\n`);
  const sync = startDropSync({
    dir: dropDir,
    inbox: pipeline.runtime.containers.inbox,
    onUpload: (name) => process.stdout.write(`          uploaded drop/${name} → inbox/${name}\n`),
    onError,
  });
  const mirror = startMirror({
    containers: Object.values(CONTAINERS).map((c) => pipeline.runtime.storage.container(c)),
    dir: outDir,
    onError,
  });

  // `--drop /tmp/x` is shown as given, `--drop x` as ./x.
  const shown = (dir: string) => (path.isAbsolute(dir) ? dir : `./${dir}`);
  process.stdout.write(
    [
      'imagegen-pipeline is running locally.',
      `  Drop folder:   ${shown(dropDir)}/   (photo.png + photo.mask.png, optional photo.json {"prompt": "..."})`,
      `  Results:       ${shown(outDir)}/published/, ${shown(outDir)}/quarantine/, ${shown(outDir)}/rejected/ (every container is mirrored)`,
      `  Console:       ${pipeline.host.url}/api/console   (open it in a browser: paint a mask, submit, watch it publish)`,
      `  Functions:     ${pipeline.host.url}/api/jobs`,
      `  Storage:       ${pipeline.storage.eventGrid.blobEndpoint} (blob, raises Event Grid events)  ${pipeline.storage.queueEndpoint} (queue)`,
      ...modelLines(pipeline),
      ...outcomeEventLines(pipeline),
      '  Ctrl-C stops.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stdout.write('\nstopping…\n');
  await sync.close();
  await mirror.close();
  await pipeline.close();
  return 0;
}
