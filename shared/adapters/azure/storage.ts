/**
 * Blob and queue clients from configuration: a connection string locally (Azurite), the app's managed
 * identity on Azure. `@azure/identity` is loaded only when an identity is used.
 */
import {
  BlobSASPermissions,
  BlobServiceClient,
  type BlobClient,
  type ContainerClient,
  type HttpAuthorization,
} from '@azure/storage-blob';
import { TableClient } from '@azure/data-tables';
import type { TokenCredential } from '@azure/identity';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import type { StorageConfig } from '../../core/config.js';
import { CONTAINERS, QUEUES, TABLES } from '../../core/containers.js';
import { azureCredential } from './credential.js';

export interface StorageClients {
  blobs: BlobServiceClient;
  queues: QueueServiceClient;
  container(name: string): ContainerClient;
  queue(name: string): QueueClient;
  /** The jobs index's table. */
  jobsIndexTable: TableClient;
  /**
   * How a server-side copy may read a private source blob: Azure's Copy Blob From URL needs the source
   * authorized (a bearer token with a managed identity, a short SAS with a key), even in the same account.
   */
  copySource(blob: BlobClient): Promise<{ url: string; sourceAuthorization?: HttpAuthorization }>;
}

const STORAGE_SCOPE = 'https://storage.azure.com/.default';

/** The account's table endpoint, beside its blob endpoint (no setting of its own). */
export function tableServiceUri(blobServiceUri: string): string {
  const url = new URL(blobServiceUri);
  url.hostname = url.hostname.replace('.blob.', '.table.');
  return url.toString().replace(/\/$/, '');
}

export async function createStorageClients(config: StorageConfig): Promise<StorageClients> {
  let blobs: BlobServiceClient;
  let queues: QueueServiceClient;
  let tableClient: () => TableClient;
  let credential: TokenCredential | undefined;
  if (config.kind === 'connectionString') {
    blobs = BlobServiceClient.fromConnectionString(config.connectionString);
    queues = QueueServiceClient.fromConnectionString(config.connectionString);
    // Made when first used, so a connection string without a table service still serves blobs and queues;
    // the pipeline itself needs it (the jobs index) and is told which setting lacks it. Azurite's is plain http.
    tableClient = () => {
      try {
        return TableClient.fromConnectionString(config.connectionString, TABLES.jobsIndex, {
          allowInsecureConnection: true,
        });
      } catch (err) {
        throw new Error(
          `AzureWebJobsStorage names no table service the jobs index can use (add TableEndpoint=…; ` +
            `Azurite serves tables on port 10002): ${(err as Error).message}`,
        );
      }
    };
  } else {
    const c = (credential = await azureCredential(config.clientId));
    blobs = new BlobServiceClient(config.blobServiceUri, c);
    queues = new QueueServiceClient(config.queueServiceUri, c);
    tableClient = () => new TableClient(tableServiceUri(config.blobServiceUri), TABLES.jobsIndex, c);
  }
  let table: TableClient | undefined;
  return {
    blobs,
    queues,
    get jobsIndexTable() {
      return (table ??= tableClient());
    },
    container: (name) => blobs.getContainerClient(name),
    queue: (name) => queues.getQueueClient(name),
    async copySource(blob) {
      if (credential) {
        const token = await credential.getToken(STORAGE_SCOPE);
        if (!token) throw new Error('no storage token for the copy source');
        return { url: blob.url, sourceAuthorization: { scheme: 'Bearer', value: token.token } };
      }
      const url = await blob.generateSasUrl({
        permissions: BlobSASPermissions.parse('r'),
        expiresOn: new Date(Date.now() + 15 * 60_000),
      });
      return { url };
    },
  };
}

/** Creates the containers, table and queues the pipeline uses (Bicep does this on Azure; Azurite starts empty). */
export async function ensureStorageLayout(clients: StorageClients): Promise<void> {
  await Promise.all([
    ...Object.values(CONTAINERS).map((c) => clients.container(c).createIfNotExists()),
    ...Object.values(QUEUES).map((q) => clients.queue(q).createIfNotExists()),
    clients.jobsIndexTable.createTable(),
  ]);
}
