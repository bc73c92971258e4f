/**
 * The embedded default: Azurite, Event Grid in front of it, the gpt-image emulator (the default model,
 * gpt-image-2, on the v1 route) and the local Functions host, wired together with the same settings the
 * app reads on Azure. `npm start`, the demo,
 * the integration tests and the benchmarks all start the pipeline through here.
 */
import { newLocalSecret } from '../shared/adapters/http/access.js';
import { localSigner } from '../shared/adapters/signing/local-signer.js';
import { loadConfig, settingDefault, type SettingName } from '../shared/core/config.js';
import { EVENT_SUBSCRIPTIONS } from '../shared/core/containers.js';
import { ensureStorageLayout } from '../shared/adapters/azure/storage.js';
import type { ImageModel } from '../shared/ports/image-model.js';
import { createRuntime } from '../shared/composition.js';
import { type Runtime } from '../shared/adapters/azure/runtime.js';
import { DEFAULT_IMAGE_MODEL } from '../shared/core/model-catalog.js';
import { startEmulator, WELL_KNOWN_API_KEY, type Emulator, type EmulatorOptions } from './emulator/server.js';
import { startEmulatorPool, type EmulatedRegion, type EmulatorPool } from './pool.js';
import { loadFunctionDefinitions } from './functions.js';
import { projectHostJson, readQueueSettings, type QueueSettings } from './host/host-json.js';
import { startHost, type AnyFunction, type FunctionHost, type LogEntry } from './host/host.js';
import { connectionString, DEV_ACCOUNT, startAzurite, type Azurite, type AzuriteOptions } from './storage/azurite.js';
import { startObservingProxy } from './storage/proxy.js';
import { startEventGrid, type DeliveryOptions, type EventGrid } from './storage/event-grid.js';
import { startInOrder, type Opened } from './opened.js';
import { startIndexUpgrade, type BackgroundUpgrade } from './index-upgrade.js';
import { startOutcomeTopic, type LocalOutcomeTopic, type TopicDeliveryOptions } from './storage/outcome-topic.js';

export type Settings = Partial<Record<SettingName, string>>;

export interface LocalStorageOptions {
  azurite?: AzuriteOptions;
  /** Ports of the endpoints clients use (the proxies); Azurite's own ports stay internal. */
  blobPort?: number;
  queuePort?: number;
  delivery?: Partial<DeliveryOptions>;
}

export interface LocalStorage {
  azurite: Azurite;
  eventGrid: EventGrid;
  /** The queue endpoint clients use. */
  queueEndpoint: string;
  /** For the pipeline and for people: blobs through the Event Grid proxy, queues through the queue watcher. */
  connectionString: string;
  /** Called with the queue's name whenever a message is put on a queue. */
  onQueueMessage(listener: (queue: string) => void): void;
  close(): Promise<void>;
}

export function startLocalStorage(options: LocalStorageOptions = {}): Promise<LocalStorage> {
  return startInOrder((opened) => startStorageParts(options, opened));
}

async function startStorageParts(options: LocalStorageOptions, opened: Opened): Promise<LocalStorage> {
  const azurite = opened(await startAzurite(options.azurite));
  const eventGrid = opened(
    await startEventGrid({
      azuriteBlobEndpoint: azurite.blobEndpoint,
      azuriteQueueEndpoint: azurite.queueEndpoint,
      ...(options.blobPort !== undefined ? { port: options.blobPort } : {}),
      ...(options.delivery ? { delivery: options.delivery } : {}),
    }),
  );
  // Like the Functions host's shared queue watcher: a message put on a queue wakes that queue's trigger
  // at once instead of at its next poll.
  const listeners: ((queue: string) => void)[] = [];
  const queueProxy = await startObservingProxy({
    target: new URL(azurite.queueEndpoint).origin,
    ...(options.queuePort !== undefined ? { port: options.queuePort } : {}),
    onCompleted: (req, res) => {
      const m = /^\/[^/]+\/([^/?]+)\/messages(\?|$)/.exec(req.url ?? '');
      if (req.method === 'POST' && res.statusCode === 201 && m) for (const l of listeners) l(decodeURIComponent(m[1]!));
    },
  });
  const queueEndpoint = `http://127.0.0.1:${queueProxy.port}/${DEV_ACCOUNT}`;
  return {
    azurite,
    eventGrid,
    queueEndpoint,
    connectionString: connectionString(eventGrid.blobEndpoint, queueEndpoint, azurite.tableEndpoint),
    onQueueMessage: (listener) => void listeners.push(listener),
    close: async () => {
      await queueProxy.close();
      await eventGrid.close();
      await azurite.close();
    },
  };
}

/** Event Grid subscriptions pointing at a host's webhooks, as the azd post-deploy hook creates them on Azure. */
export function subscriptionsFor(hostUrl: string) {
  return EVENT_SUBSCRIPTIONS.map((s) => ({
    name: s.name,
    container: s.container,
    endpoint: `${hostUrl}/runtime/webhooks/EventGrid?functionName=${s.functionName}`,
  }));
}

export interface LocalPipelineOptions {
  storage?: LocalStorageOptions;
  /** Options for an emulator started here, or `false` to use AZURE_OPENAI_ENDPOINT from `settings`. */
  emulator?: EmulatorOptions | false;
  hostPort?: number;
  /** App settings on top of the local defaults. */
  settings?: Settings;
  timers?: boolean;
  queueSettings?: Partial<QueueSettings>;
  queueLeaseSeconds?: number;
  onLog?: (entry: LogEntry) => void;
  functions?: AnyFunction[];
  /**
   * Sign full-size composites with a local publisher CA kept in this folder (`npm start`: `<state>/publisher-ca`);
   * `'memory'`: a fresh one for this run. Unset: no publisher unless the settings name one.
   */
  publisher?: string | 'memory';
  /** Replace the model client (benchmarks measuring the pipeline without HTTP to a model). */
  model?: ImageModel;
  /**
   * The local outcome-event topic, started unless `false` or the settings name a topic elsewhere;
   * it delivers to the webhooks in OUTCOME_EVENT_SUBSCRIBERS.
   */
  outcomeTopic?: false | { port?: number; delivery?: Partial<TopicDeliveryOptions> };
  /** A pool of emulated deployments, one emulator per region (IMAGE_MODEL_POOL), instead of `emulator`. */
  emulatorPool?: { regions: EmulatedRegion[]; options?: EmulatorOptions };
}

export interface LocalPipeline {
  storage: LocalStorage;
  emulator: Emulator | undefined;
  outcomeTopic: LocalOutcomeTopic | undefined;
  emulatorPool: EmulatorPool | undefined;
  host: FunctionHost;
  runtime: Runtime;
  /** Indexing a state written before the jobs index, while the host serves (`finished` once done). */
  indexUpgrade: BackgroundUpgrade;
  /** Every app setting the host runs with (what local.settings.json would hold). */
  settings: Record<string, string>;
  close(): Promise<void>;
}

/** The one deployment the settings name, serving IMAGE_MODEL (or the default model), as `azd up` creates it. */
function servedDeployment(settings: Settings = {}): Record<string, string> {
  const name = settings.AZURE_OPENAI_DEPLOYMENT || settingDefault('AZURE_OPENAI_DEPLOYMENT') || DEFAULT_IMAGE_MODEL;
  const model = settings.IMAGE_MODEL || settingDefault('IMAGE_MODEL') || DEFAULT_IMAGE_MODEL;
  return { [name]: model };
}

async function localPublisher(where: string) {
  const ca = await import('../shared/adapters/signing/local-ca.js');
  return where === 'memory' ? ca.generatePublisher() : ca.loadOrCreatePublisher(where);
}

const LOCAL_EVENT_SOURCE = '/imagegen-pipeline/local';

/** The local topic, unless turned off or the settings name one elsewhere (a real Event Grid topic). */
async function startLocalOutcomeTopic(options: LocalPipelineOptions): Promise<LocalOutcomeTopic | undefined> {
  const configured = options.settings?.OUTCOME_EVENTS_TOPIC_ENDPOINT;
  const elsewhere = configured && !/^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?(\/|$)/.test(configured);
  if (options.outcomeTopic === false || elsewhere) return undefined;
  const subscribers = (options.settings?.OUTCOME_EVENT_SUBSCRIBERS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const notUrl = subscribers.find((s) => !/^https?:\/\/[^\s/]+/.test(s));
  if (notUrl) throw new Error(`OUTCOME_EVENT_SUBSCRIBERS must list http(s) webhook URLs, got "${notUrl}"`);
  const onDropped = (message: string) =>
    options.onLog?.({ level: 'warning', functionName: 'event-grid', invocationId: '', message });
  return startOutcomeTopic({ subscribers, onDropped, ...options.outcomeTopic });
}

export function startLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  return startInOrder((opened) => startPipelineParts(options, opened));
}

async function startPipelineParts(options: LocalPipelineOptions, opened: Opened): Promise<LocalPipeline> {
  const storage = opened(await startLocalStorage(options.storage));
  // The well-known key (printed in the banner, shown in the README), so people's own snippets work too.
  const apiKey = WELL_KNOWN_API_KEY;
  const emulatorPool = options.emulatorPool
    ? opened(await startEmulatorPool(options.emulatorPool.regions, options.emulatorPool.options))
    : undefined;
  const emulator =
    options.emulator === false || emulatorPool
      ? undefined
      : opened(await startEmulator({ deployments: servedDeployment(options.settings), ...options.emulator, apiKey }));
  const outcomeTopic = await startLocalOutcomeTopic(options);
  if (outcomeTopic) opened(outcomeTopic);
  const settings: Record<string, string> = {
    FUNCTIONS_WORKER_RUNTIME: 'node',
    AzureWebJobsStorage: storage.connectionString,
    // Trust the emulator's two roots (claim signing and time-stamping) and nothing else of the emulator's.
    ...(emulator
      ? { AZURE_OPENAI_ENDPOINT: emulator.url, AZURE_OPENAI_API_KEY: apiKey, EXTRA_TRUST_ANCHORS: emulator.caPem }
      : {}),
    ...emulatorPool?.settings,
    ...Object.fromEntries(Object.entries(options.settings ?? {}).filter(([, v]) => v !== undefined)),
    ...(outcomeTopic
      ? { OUTCOME_EVENTS_TOPIC_ENDPOINT: outcomeTopic.endpoint, OUTCOME_EVENTS_TOPIC_KEY: outcomeTopic.key }
      : {}),
  } as Record<string, string>;
  if (outcomeTopic) settings.OUTCOME_EVENTS_SOURCE ||= LOCAL_EVENT_SOURCE;
  const local = options.publisher ? await localPublisher(options.publisher) : undefined;
  if (local) settings.PUBLISHER_CERT_CHAIN = local.chainPem;
  const runtime = await createRuntime(loadConfig(settings), {
    ...(options.model ? { model: options.model } : {}),
    ...(local ? { publisherSigner: localSigner(local.keyPem, local.chainPem, 'local publisher CA') } : {}),
    // This runtime is the machine's own: its host vouches for its user with a secret no caller can know.
    localSecret: newLocalSecret(),
  });
  await ensureStorageLayout(runtime.storage);
  // A state written before the jobs index is indexed in the background while the host serves (./index-upgrade.ts).
  const say = (message: string) =>
    options.onLog?.({ level: 'warning', functionName: 'jobs-index', invocationId: '', message });
  const indexUpgrade = opened(startIndexUpgrade(runtime.ledger, say));
  const host = opened(
    await startHost({
      runtime,
      functions: options.functions ?? (await loadFunctionDefinitions()),
      queueSettings: { ...readQueueSettings(projectHostJson()), ...options.queueSettings },
      settings,
      ...(options.hostPort !== undefined ? { port: options.hostPort } : {}),
      ...(options.timers !== undefined ? { timers: options.timers } : {}),
      ...(options.queueLeaseSeconds ? { queueLeaseSeconds: options.queueLeaseSeconds } : {}),
      ...(options.onLog ? { onLog: options.onLog } : {}),
    }),
  );
  storage.eventGrid.setSubscriptions(subscriptionsFor(host.url));
  storage.onQueueMessage((queue) => host.nudge(queue));
  return {
    storage,
    emulator,
    outcomeTopic,
    emulatorPool,
    host,
    runtime,
    settings,
    indexUpgrade,
    close: async () => {
      await indexUpgrade.close();
      await host.close();
      await outcomeTopic?.close();
      await emulator?.close();
      await emulatorPool?.close();
      await storage.close();
    },
  };
}
