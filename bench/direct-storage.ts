/**
 * Clients straight to Azurite's blob, queue and table services, the storage layout made: benches that write
 * thousands of records skip the Event Grid proxy, which would raise an event for each.
 */
import { connectionString, type Azurite } from '../local/storage/azurite.js';
import { createStorageClients, ensureStorageLayout } from '../shared/adapters/azure/storage.js';

export async function directClients(azurite: Pick<Azurite, 'blobEndpoint' | 'queueEndpoint' | 'tableEndpoint'>) {
  const direct = connectionString(azurite.blobEndpoint, azurite.queueEndpoint, azurite.tableEndpoint);
  const clients = await createStorageClients({ kind: 'connectionString', connectionString: direct });
  await ensureStorageLayout(clients);
  return { direct, clients };
}
