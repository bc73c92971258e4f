/**
 * What the composition root builds: the use cases' JobContext, plus the Azure clients that the HTTP
 * adapters and the local runtime reach directly (downloads, the drop-folder mirror).
 */
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { CONTAINERS } from '../../core/containers.js';
import { type StorageClients } from './storage.js';
import { type JobContext } from '../../app/job-context.js';

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
