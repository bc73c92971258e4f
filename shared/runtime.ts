/**
 * What the function handlers run against: configuration, storage clients, the ledger, and the model and
 * the provenance verifier, each loaded on first use. One per process on Azure (`processRuntime`); the
 * local host and the tests build their own.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { loadConfig, type PipelineConfig } from './config.js';
import { CONTAINERS, QUEUES } from './containers.js';
import { Ledger } from './adapters/ledger.js';
import type { ImageModel } from './adapters/model.js';
import { createStorageClients, type StorageClients } from './adapters/storage.js';
import type { Verifier } from './provenance/verifier.js';
import { Semaphore } from './semaphore.js';

export interface Runtime {
  config: PipelineConfig;
  storage: StorageClients;
  ledger: Ledger;
  containers: Record<keyof typeof CONTAINERS, ContainerClient>;
  editQueue: QueueClient;
  editPoisonQueue: QueueClient;
  model(): Promise<ImageModel>;
  verifier(): Promise<Verifier>;
  /** Model calls in flight in this process. */
  modelSlots: Semaphore;
  /** Names this process in leases. */
  workerId: string;
  now(): Date;
}

function once<T>(load: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= load();
    value.catch(() => (value = undefined));
    return value;
  };
}

export async function createRuntime(config: PipelineConfig, overrides: { model?: ImageModel; verifier?: Verifier } = {}): Promise<Runtime> {
  const storage = await createStorageClients(config.storage);
  const containers = Object.fromEntries(Object.entries(CONTAINERS).map(([k, name]) => [k, storage.container(name)])) as Runtime['containers'];
  return {
    config,
    storage,
    ledger: new Ledger(containers.jobs),
    containers,
    editQueue: storage.queue(QUEUES.edit),
    editPoisonQueue: storage.queue(QUEUES.editPoison),
    model: once(async () => overrides.model ?? (await import('./adapters/model.js')).createImageModel(config.model)),
    verifier: once(async () => overrides.verifier ?? (await import('./provenance/verifier.js')).createVerifier(config.gate, storage)),
    modelSlots: new Semaphore(config.model.concurrency),
    workerId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    now: () => new Date(),
  };
}

let shared: Promise<Runtime> | undefined;

/** The runtime built from this process's environment (the app settings on Azure); fails fast on bad settings. */
export function processRuntime(): Promise<Runtime> {
  shared ??= createRuntime(loadConfig(process.env));
  return shared;
}
