/**
 * A persisted local state (`npm start`'s) writes Azurite's metadata to disk every 30 s rather than every 5 s
 * (local/storage/azurite.ts: each save blocks the process for the whole database), and closing the pipeline
 * still saves everything: a record and an index row written a moment before the close are there after it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectionString, PERSIST_EVERY_MS, startAzurite } from '../../local/storage/azurite.js';
import { createStorageClients, ensureStorageLayout } from '../../shared/adapters/azure/storage.js';

async function clientsOf(location: string) {
  const azurite = await startAzurite({ location });
  const cs = connectionString(azurite.blobEndpoint, azurite.queueEndpoint, azurite.tableEndpoint);
  return { azurite, clients: await createStorageClients({ kind: 'connectionString', connectionString: cs }) };
}

describe('a persisted local state', () => {
  it('saves its metadata every 30 s, and everything when it closes', async () => {
    const location = mkdtempSync(path.join(tmpdir(), 'azurite-persist-'));
    const first = await clientsOf(location);
    const { blob, table } = first.azurite.stores as Record<'blob' | 'table', { autosaveInterval: number }>;
    expect([blob.autosaveInterval, table.autosaveInterval]).toEqual([PERSIST_EVERY_MS, PERSIST_EVERY_MS]);
    await ensureStorageLayout(first.clients);
    await first.clients.container('jobs').getBlockBlobClient('kept.json').upload('{"kept":true}', 13);
    await first.clients.jobsIndexTable.createEntity({ partitionKey: 'jobs', rowKey: 'm|kept', value: 'yes' });
    await first.azurite.close(); // well within 30 s of the writes: only the close can have saved them

    const second = await clientsOf(location);
    try {
      const body = await second.clients.container('jobs').getBlockBlobClient('kept.json').downloadToBuffer();
      expect(JSON.parse(body.toString())).toEqual({ kept: true });
      expect((await second.clients.jobsIndexTable.getEntity('jobs', 'm|kept')).value).toBe('yes');
    } finally {
      await second.azurite.close();
    }
  }, 60_000);
});
