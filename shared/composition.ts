/**
 * What the function handlers run against: configuration, storage clients, the ledger, and the model and
 * the provenance verifier, each loaded on first use. One per process on Azure (`processRuntime`); the
 * local host and the tests build their own. The use cases see only `JobContext`: the ledger, the pacer,
 * the storage port and the queues, never a storage SDK client, so unit tests run them in memory.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { loadConfig, type PipelineConfig } from './core/config.js';
import { CONTAINERS, QUEUES } from './core/containers.js';
import { createBlobStore, type BlobStore } from './adapters/azure/blob-store.js';
import { localSpans } from './adapters/telemetry/setup.js';
import type { SpanRecord } from './core/spans.js';
import { editQueueOf, poisonQueueOf, type EditQueue, type PoisonQueue } from './adapters/azure/edit-queue.js';
import { tableClientIndex } from './adapters/azure/index-table.js';
import { JobsIndex } from './app/jobs-index.js';
import { containerRecords, Ledger } from './app/ledger.js';
import type { ImageModel } from './adapters/azure/openai-model.js';
import { createStorageClients, type StorageClients } from './adapters/azure/storage.js';
import type { Verifier } from './adapters/c2pa/verifier.js';
import type { Publisher } from './adapters/signing/publisher.js';
import type { PublisherSigner } from './adapters/signing/local-signer.js';
import { createDeploymentPool, type DeploymentPool } from './app/deployment-pool.js';
import { KeyedLock } from './core/concurrency/keyed-lock.js';
import { Semaphore } from './core/concurrency/semaphore.js';

/**
 * Intakes doing their storage work at once in one process. Each intake is a dozen reads and writes in a row;
 * a burst's hundreds of events, all started at once, queued every one of them behind all the others at the
 * storage service, so the first drop was queued only after most of the burst had been read (bench (f): its
 * model slot reserved 3.1 s after its upload, then 0.8 s with 8 at a time, and the burst 1.14 → 1.05 × the
 * ideal). Eight keep a 2-core machine's storage busy and intake far ahead of any quota (15 drops a second);
 * they also bound the masks held in memory for their pixel check.
 */
export const INTAKE_CONCURRENCY = 8;

/** What intake, edit, publish and sweep run against. */
export interface JobContext {
  config: PipelineConfig;
  ledger: Ledger;
  /** The model deployments, each with its shared schedule, circuit breaker and client. */
  pool: DeploymentPool;
  blobs: BlobStore;
  queue: EditQueue;
  poison: PoisonQueue;
  verifier(): Promise<Verifier>;
  /** The publisher that signs and judges full-size composites; undefined when none is configured. */
  publisher?(): Promise<Publisher | undefined>;
  /** Model calls in flight in this process. */
  modelSlots: Semaphore;
  /** One intake at a time per drop in this process (./pipeline/intake.ts). */
  dropIntakes: KeyedLock;
  /** Intakes doing their reads and writes at once in this process (./pipeline/intake.ts). */
  intakeSlots: Semaphore;
  /** Names this process in leases. */
  workerId: string;
  now(): Date;
  /**
   * The finished spans this process keeps, for the console's traces and charts; undefined when it keeps
   * none (on Azure they go to Application Insights). Absent: none kept.
   */
  spans?(): readonly SpanRecord[] | undefined;
}

export interface Runtime extends JobContext {
  /**
   * Set only by the local runtime's composition root (local/environment.ts): the secret its host adds to
   * every HTTP request, which makes the caller the machine's own user (shared/adapters/http/access.ts).
   */
  localSecret?: string;
  storage: StorageClients;
  containers: Record<keyof typeof CONTAINERS, ContainerClient>;
  editQueue: QueueClient;
  editPoisonQueue: QueueClient;
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= load();
    value.catch(() => (value = undefined));
    return value;
  };
}

export async function createRuntime(
  config: PipelineConfig,
  overrides: { model?: ImageModel; verifier?: Verifier; publisherSigner?: PublisherSigner; localSecret?: string } = {},
): Promise<Runtime> {
  const storage = await createStorageClients(config.storage);
  const containers = Object.fromEntries(
    Object.entries(CONTAINERS).map(([k, name]) => [k, storage.container(name)]),
  ) as Runtime['containers'];
  const now = () => new Date();
  const ledger = new Ledger(
    containerRecords(containers.jobs),
    now,
    new JobsIndex(tableClientIndex(storage.jobsIndexTable)),
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
      (await import('./adapters/signing/publisher.js')).createPublisher(config, storage, overrides.publisherSigner),
    ),
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
