/**
 * Record stores on the `jobs` container as separate host processes have them, each with its own storage
 * client, each counting the writes it made: the pacer tests share one schedule blob among them.
 */
import { type RecordStore } from '../../shared/ports/record-store.js';
import { containerRecords } from '../../shared/adapters/azure/blob-records.js';
import { createStorageClients } from '../../shared/adapters/azure/storage.js';
import { CONTAINERS } from '../../shared/core/containers.js';

export interface InstanceStore {
  store: RecordStore;
  /** Writes that landed. */
  writes: { ok: number };
}

export function instanceStores(connectionString: string, count: number): Promise<InstanceStore[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const clients = await createStorageClients({ kind: 'connectionString', connectionString });
      const store = containerRecords(clients.container(CONTAINERS.jobs));
      const writes = { ok: 0 };
      const write: RecordStore['write'] = async (...args) => {
        const etag = await store.write(...args);
        writes.ok++;
        return etag;
      };
      return { store: { ...store, write }, writes };
    }),
  );
}
