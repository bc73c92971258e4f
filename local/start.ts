/**
 * `npm start`: the whole pipeline on this machine with no Azure account. Azurite (persisted in
 * `.local/azurite`), Event Grid in front of it on the usual blob port, the gpt-image emulator, the
 * Functions host on :7071, `./drop` → `inbox/` and every container → `./out/`. Settings from
 * `local.settings.json`, when present, override the local defaults (for example a real
 * AZURE_OPENAI_ENDPOINT instead of the emulator). Ctrl-C stops it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CONTAINERS } from '../shared/core/containers.js';
import { intOption, parse, UsageError } from './cli.js';
import { startLocalPipeline, type LocalPipeline, type Settings } from './environment.js';
import { createReporter } from './reporter.js';
import type { LogEntry } from './host/host.js';
import { parsePoolSpec, type EmulatedRegion } from './pool.js';
import { ensurePortsFree, explainListenError, startPorts } from './ports.js';
import { startDropSync, startMirror } from './sync.js';
import { describeUnchanged } from './unchanged-drop.js';

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
  const key = (which: string) =>
    `  Emulator key:  ${settings.AZURE_OPENAI_API_KEY}   (a fixed, public key like Azurite's, sent as the api-key header; it opens only ${which})`;
  if (emulatorPool) {
    const regions = emulatorPool.regions.map(
      ({ region, rpm }) => `${region} ${emulatorPool.emulators.get(region)!.url} (${rpm} RPM)`,
    );
    return [`  Model pool:    ${regions.join(', ')}  local stand-ins for Azure OpenAI, one per region`, key('these')];
  }
  if (!emulator) return [`  Model:         ${settings.AZURE_OPENAI_ENDPOINT}`];
  const deployments = Object.keys(emulator.deployments).join(', ');
  return [
    `  Model:         ${emulator.url}  a local stand-in for Azure OpenAI (deployment ${deployments}); it signs its images with test certificates that only this local pipeline trusts`,
    key('this emulator'),
  ];
}

/** The banner's line on job events: where to watch them, and where they are sent. */
function outcomeEventLines({ outcomeTopic, settings, host }: LocalPipeline): string[] {
  const feed = `${host.url}/api/events`;
  if (outcomeTopic) {
    const subscribers = (settings.OUTCOME_EVENT_SUBSCRIBERS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const sent = subscribers.length
      ? `also sent to ${subscribers.join(', ')}`
      : 'to have them sent to your own webhook, set OUTCOME_EVENT_SUBSCRIBERS in local.settings.json';
    return [`  Job events:    ${feed}   (an event for every job that ends; ${sent})`];
  }
  return settings.OUTCOME_EVENTS_TOPIC_ENDPOINT
    ? [
        `  Job events:    ${feed}   (an event for every job that ends, also sent to ${settings.OUTCOME_EVENTS_TOPIC_ENDPOINT})`,
      ]
    : [];
}

/** What `npm start` prints once everything listens: where to drop, where results land, what runs where. */
function banner(pipeline: LocalPipeline, dropDir: string, outDir: string): string {
  // `--drop /tmp/x` is shown as given, `--drop x` as ./x.
  const shown = (dir: string) => (path.isAbsolute(dir) ? dir : `./${dir}`);
  const [drop, out] = [shown(dropDir), shown(outDir)];
  const { host, storage } = pipeline;
  return [
    'imagegen-pipeline is running locally.',
    `  Drop folder:   ${drop}/   (photo.png + photo.mask.png, optional photo.json {"prompt": "..."})`,
    `  Try it:        cp samples/lighthouse.* ${drop}/   (a pair with its prompt, in this repository)`,
    `  Results:       ${out}/published/, ${out}/quarantine/, ${out}/rejected/ (every container is mirrored)`,
    `  Console:       ${host.url}/api/console   (open it in a browser: paint a mask, submit, watch it publish)`,
    `  Jobs (JSON):   ${host.url}/api/jobs`,
    `  Storage:       ${storage.eventGrid.blobEndpoint} (blob, raises Event Grid events)  ${storage.queueEndpoint} (queue)`,
    ...modelLines(pipeline),
    ...outcomeEventLines(pipeline),
    '  Ctrl-C stops.',
    '',
  ].join('\n');
}

function parseStartArgs(args: string[]) {
  return parse(args, {
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
  }).values;
}

type StartValues = ReturnType<typeof parseStartArgs>;

/** local.settings.json, less what the local runtime brings itself; a local model endpoint means the emulator. */
function settingsForLocal(): { local: Settings; useEmulator: boolean } {
  const local = readLocalSettings();
  // Azurite is ours, so the sample's "UseDevelopmentStorage=true" means "the local one" anyway.
  delete local.AzureWebJobsStorage;
  const useEmulator = isLocalUrl(local.AZURE_OPENAI_ENDPOINT);
  if (useEmulator) {
    delete local.AZURE_OPENAI_ENDPOINT;
    delete local.AZURE_OPENAI_API_KEY;
    delete local.EXTRA_TRUST_ANCHORS;
  }
  return { local, useEmulator };
}

function poolRegions(spec: string | undefined, useEmulator: boolean): EmulatedRegion[] | undefined {
  let regions;
  try {
    regions = spec === undefined ? undefined : parsePoolSpec(spec);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (regions && !useEmulator)
    throw new UsageError('--pool runs emulated deployments; local.settings.json points at a real endpoint');
  return regions;
}

interface StartChoices {
  local: Settings;
  useEmulator: boolean;
  regions: EmulatedRegion[] | undefined;
  stateDir: string;
  onLog: (entry: LogEntry) => void;
}

/** Checks the ports are free, then starts the pipeline on them. */
async function startOnPorts(values: StartValues, choices: StartChoices): Promise<LocalPipeline> {
  const { local, useEmulator, regions, stateDir } = choices;
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
  return startLocalPipeline({
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
    onLog: choices.onLog,
  }).catch((err: unknown) => {
    throw explainListenError(err, ports);
  });
}

/** `./drop` → inbox/, and every container → `./out/`; `close()` stops both. */
function syncFolders(pipeline: LocalPipeline, dropDir: string, outDir: string): { close(): Promise<void> } {
  const onError = (err: unknown) => process.stderr.write(`  ! ${(err as Error).message}\n`);
  const sync = startDropSync({
    dir: dropDir,
    inbox: pipeline.runtime.containers.inbox,
    onUpload: (name) => process.stdout.write(`          uploaded drop/${name} → inbox/${name}\n`),
    onUnchanged: (name, uploadedAt) =>
      void describeUnchanged(pipeline.runtime, name, uploadedAt)
        .then((line) => process.stdout.write(`          ${line}\n`))
        .catch(onError),
    onError,
  });
  const mirror = startMirror({
    containers: Object.values(CONTAINERS).map((c) => pipeline.runtime.storage.container(c)),
    dir: outDir,
    onError,
  });
  // Results are mirrored as the pipeline writes them, not at the next look (the poll remains for the rest).
  const results = new Set<string>([CONTAINERS.published, CONTAINERS.quarantine, CONTAINERS.rejected]);
  const stopKicking = pipeline.storage.eventGrid.onBlobCreated((container) => {
    if (results.has(container)) mirror.changed(container);
  });
  return {
    close: async () => {
      await sync.close();
      stopKicking();
      await mirror.close();
    },
  };
}

export async function run(args: string[]): Promise<number> {
  const values = parseStartArgs(args);
  const { local, useEmulator } = settingsForLocal();
  const stateDir = values.state ?? '.local';
  const dropDir = values.drop ?? 'drop';
  const outDir = values.out ?? 'out';
  const reporter = createReporter({ verbose: values.verbose === true });
  const regions = poolRegions(values.pool, useEmulator);
  const onLog = (entry: LogEntry) => reporter.log(entry);
  const pipeline = await startOnPorts(values, { local, useEmulator, regions, stateDir, onLog });
  const folders = syncFolders(pipeline, dropDir, outDir);

  process.stdout.write(banner(pipeline, dropDir, outDir));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  process.stdout.write('\nstopping…\n');
  await folders.close();
  await pipeline.close();
  return 0;
}
