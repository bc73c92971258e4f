/**
 * What the function handlers run against: configuration, storage clients, the ledger, and the model and
 * the provenance verifier, each loaded on first use. One per process on Azure (`processRuntime`); the
 * local host and the tests build their own. The use cases see only `JobContext`: the ledger, the pacer,
 * the storage port and the queues, never a storage SDK client, so unit tests run them in memory.
 */
import { hostname } from 'node:os';
import { app, type InvocationContext } from '@azure/functions';
import type { FunctionDefinition } from './adapters/azure/functions-app.js';
import { sharpImageTools } from './adapters/imaging/image-tools.js';
import { outcomeTopic } from './adapters/azure/outcome-topic.js';
import { randomUUID } from 'node:crypto';
import { loadConfig, type PipelineConfig } from './core/config.js';
import { CONTAINERS, QUEUES } from './core/containers.js';
import { createBlobStore } from './adapters/azure/blob-store.js';
import { editQueueOf, poisonQueueOf } from './adapters/azure/edit-queue.js';
import { localSpans } from './adapters/telemetry/setup.js';
import { tableClientIndex } from './adapters/azure/index-table.js';
import { JobsIndex } from './app/jobs-index.js';
import { Ledger } from './app/ledger.js';
import type { ImageModel } from './ports/image-model.js';
import { createStorageClients } from './adapters/azure/storage.js';
import type { Verifier } from './ports/verifier.js';
import type { PublisherSigner } from './ports/publisher.js';
import { createDeploymentPool } from './app/deployment-pool.js';
import { containerRecords } from './adapters/azure/blob-records.js';
import { KeyedLock } from './core/concurrency/keyed-lock.js';
import { Semaphore } from './core/concurrency/semaphore.js';
import { type Runtime } from './adapters/azure/runtime.js';

/**
 * Intakes doing their storage work at once in one process. Each intake is a dozen reads and writes in a row;
 * a burst's hundreds of events, all started at once, queued every one of them behind all the others at the
 * storage service, so the first drop was queued only after most of the burst had been read (bench (f): its
 * model slot reserved 3.1 s after its upload, then 0.8 s with 8 at a time, and the burst 1.14 → 1.05 × the
 * ideal). Eight keep a 2-core machine's storage busy and intake far ahead of any quota (15 drops a second);
 * they also bound the masks held in memory for their pixel check.
 */
export const INTAKE_CONCURRENCY = 8;

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= load();
    value.catch(() => (value = undefined));
    return value;
  };
}

export interface RuntimeOverrides {
  model?: ImageModel;
  verifier?: Verifier;
  publisherSigner?: PublisherSigner;
  localSecret?: string;
  /**
   * `false`: a ledger without the jobs index, as the build before the index had (finished jobs drop their
   * `active/` marker at once), for bench (a) to measure what the index costs (`host --no-jobs-index`). Not a
   * setting: the console and `GET /api/jobs` need the index, and they refuse without it.
   */
  jobsIndex?: boolean;
}

export async function createRuntime(config: PipelineConfig, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const storage = await createStorageClients(config.storage);
  const containers = Object.fromEntries(
    Object.entries(CONTAINERS).map(([k, name]) => [k, storage.container(name)]),
  ) as Runtime['containers'];
  const now = () => new Date();
  const ledger = new Ledger(
    containerRecords(containers.jobs),
    now,
    overrides.jobsIndex === false ? undefined : new JobsIndex(tableClientIndex(storage.jobsIndexTable)),
  );
  const editQueue = storage.queue(QUEUES.edit);
  const editPoisonQueue = storage.queue(QUEUES.editPoison);
  return {
    config,
    storage,
    ledger,
    // Every member is reached with the same credentials and call settings; only where and what differ.
    pool: createDeploymentPool(
      config.pool.members,
      ledger,
      async (m) =>
        overrides.model ??
        (await import('./adapters/azure/openai-model.js')).createImageModel({
          ...config.model,
          endpoint: m.endpoint,
          deployment: m.deployment,
          imageModel: m.model,
        }),
      now,
    ),
    blobs: createBlobStore(containers, (blob) => storage.copySource(blob)),
    queue: editQueueOf(editQueue),
    poison: poisonQueueOf(editPoisonQueue),
    containers,
    editQueue,
    editPoisonQueue,
    verifier: once(
      async () =>
        overrides.verifier ?? (await import('./adapters/c2pa/verifier.js')).createVerifier(config.gate, storage),
    ),
    publisher: once(async () =>
      (await import('./adapters/signing/publisher-from-settings.js')).createPublisher(
        config,
        storage,
        overrides.publisherSigner,
      ),
    ),
    imaging: sharpImageTools,
    outcomeTopic,
    modelSlots: new Semaphore(config.model.concurrency),
    dropIntakes: new KeyedLock(),
    intakeSlots: new Semaphore(INTAKE_CONCURRENCY),
    workerId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    now,
    // Asked each time: the local host starts its span store after the runtime is made.
    spans: () => localSpans()?.all(),
    ...(overrides.localSecret ? { localSecret: overrides.localSecret } : {}),
  };
}

let shared: Promise<Runtime> | undefined;

/** The runtime built from this process's environment (the app settings on Azure); fails fast on bad settings. */
export function processRuntime(): Promise<Runtime> {
  shared ??= createRuntime(loadConfig(process.env));
  return shared;
}

// HTTP bodies as streams, not whole in memory: the console's downloads stream from storage, and a
// submission's Content-Length is checked before its body is read (adapters/http/transfers.ts).
app.setup({ enableHttpStream: true });

/** Registers the definition with the Functions host, running it against the process's Runtime. */
export function register<TInput, TOutput>(definition: FunctionDefinition<TInput, TOutput>): void {
  const handler = async (input: TInput, context: InvocationContext): Promise<TOutput> => {
    const { startTelemetry } = await import('./adapters/telemetry/setup.js');
    await startTelemetry();
    return definition.handle(await processRuntime(), input, context);
  };
  const t = definition.trigger;
  // The casts bridge our generic handler to each trigger's declared input type.
  switch (t.type) {
    case 'eventGrid':
      app.eventGrid(definition.name, { handler: handler as never });
      break;
    case 'storageQueue':
      app.storageQueue(definition.name, {
        queueName: t.queueName,
        connection: t.connection,
        handler: handler as never,
      });
      break;
    case 'timer':
      app.timer(definition.name, { schedule: t.schedule, handler: handler as never });
      break;
    case 'http':
      app.http(definition.name, {
        route: t.route,
        methods: t.methods,
        authLevel: t.authLevel,
        handler: handler as never,
      });
      break;
  }
}
