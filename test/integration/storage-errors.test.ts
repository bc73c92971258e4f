/**
 * Real conditional writes that lose, on Azurite, surface from the Azure ports as the ports' error classes
 * (shared/ports/errors.ts), never as SDK errors: the blob store, the ledger's record store and the jobs
 * index's table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStorage, type LocalStorage } from '../../local/environment.js';
import { containerRecords } from '../../shared/adapters/azure/blob-records.js';
import { createBlobStore } from '../../shared/adapters/azure/blob-store.js';
import { tableClientIndex } from '../../shared/adapters/azure/index-table.js';
import { createStorageClients, ensureStorageLayout, type StorageClients } from '../../shared/adapters/azure/storage.js';
import { CONTAINERS } from '../../shared/core/containers.js';
import { AlreadyExists, ConditionFailed, NotFound } from '../../shared/ports/errors.js';

describe('storage failures through the Azure ports', () => {
  let storage: LocalStorage;
  let clients: StorageClients;

  beforeAll(async () => {
    storage = await startLocalStorage();
    clients = await createStorageClients({ kind: 'connectionString', connectionString: storage.connectionString });
    await ensureStorageLayout(clients);
  });
  afterAll(async () => storage?.close());

  it('the record store: a create over a record is AlreadyExists, a write over a moved one ConditionFailed', async () => {
    const records = containerRecords(clients.container(CONTAINERS.jobs));
    const first = await records.write('errors/a.json', '{}', { ifNoneMatch: '*' });
    const again = records.write('errors/a.json', '{}', { ifNoneMatch: '*' });
    await expect(again).rejects.toBeInstanceOf(ConditionFailed);
    await expect(again).rejects.toBeInstanceOf(AlreadyExists);
    await records.write('errors/a.json', '{"n":1}', { ifMatch: first });
    const stale = records.write('errors/a.json', '{"n":2}', { ifMatch: first });
    await expect(stale).rejects.toBeInstanceOf(ConditionFailed);
    await expect(stale).rejects.toMatchObject({ cause: { statusCode: 412 } });
    expect(await records.read('errors/none.json')).toBeUndefined();
  });

  it('the blob store: a read under a version that moved, or of a blob gone, is ConditionFailed', async () => {
    const containers = Object.fromEntries(
      Object.entries(CONTAINERS).map(([k, name]) => [k, clients.container(name)]),
    ) as Parameters<typeof createBlobStore>[0];
    const blobs = createBlobStore(containers, (blob) => clients.copySource(blob));
    const blob = containers.edited.getBlockBlobClient('errors/out.png');
    const old = (await blob.upload('one', 3)).etag!;
    await blob.upload('two', 3);
    await expect(blobs.readOutput('errors/out.png', old)).rejects.toBeInstanceOf(ConditionFailed);
    // If-Match on a blob that is not there is a failed condition too (412), as HTTP has it.
    await expect(blobs.readOutput('errors/none.png', old)).rejects.toBeInstanceOf(ConditionFailed);
    const staged = await blobs.stageOutput('errors/out.png', (async function* () {})());
    const commit = await staged.commit('image/png', {}, old);
    expect(commit.written).toBe(false);
  });

  it('the index table: a row created twice, changed since read or gone is the matching class', async () => {
    const table = tableClientIndex(clients.jobsIndexTable);
    await table.commit([{ kind: 'create', row: { rowKey: 'errors|a' } }]);
    const head = (await table.get('errors|a'))!;
    await table.commit([{ kind: 'update', row: { rowKey: 'errors|a', n: 1 }, etag: head.etag }]);
    const twice = table.commit([{ kind: 'create', row: { rowKey: 'errors|a' } }]);
    await expect(twice).rejects.toBeInstanceOf(AlreadyExists);
    const stale = table.commit([{ kind: 'update', row: { rowKey: 'errors|a', n: 2 }, etag: head.etag }]);
    await expect(stale).rejects.toBeInstanceOf(ConditionFailed);
    await expect(stale).rejects.not.toBeInstanceOf(AlreadyExists);
    await expect(table.commit([{ kind: 'delete', rowKey: 'errors|gone' }])).rejects.toBeInstanceOf(NotFound);
  });
});
