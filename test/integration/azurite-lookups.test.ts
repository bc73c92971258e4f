/**
 * `npm start`'s Azurite answers its one-document lookups from LokiJS's binary index on the row key or the blob's
 * name (local/storage/azurite-lookups.ts) instead of scanning the partition or every blob. The answers must be
 * the ones Azurite gives without it, in the cases a reordered lookup could confuse: the same row key in two
 * partitions, row keys LokiJS's index orders as equal ("1", "01", 1e0-like), the same blob name in two containers.
 */
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  azuriteLoki,
  azuriteLookups,
  leadWithIdentifyingKey,
  type LokiResultset,
} from '../../local/storage/azurite-lookups.js';
import { connectionString, startAzurite, type Azurite } from '../../local/storage/azurite.js';

describe('leadWithIdentifyingKey', () => {
  const indexed = { PartitionKey: {}, RowKey: {}, accountName: {}, containerName: {}, name: {}, snapshot: {} };

  it('leads a table entity lookup with its row key and a blob lookup with its name', () => {
    expect(Object.keys(leadWithIdentifyingKey({ PartitionKey: 'p', RowKey: 'r' }, indexed))).toEqual([
      'RowKey',
      'PartitionKey',
    ]);
    const blob = { accountName: 'a', containerName: 'c', name: 'n', snapshot: '' };
    expect(leadWithIdentifyingKey(blob, indexed)).toEqual(blob);
    expect(Object.keys(leadWithIdentifyingKey(blob, indexed))[0]).toBe('name');
    const { snapshot: _, ...anySnapshot } = blob; // a delete's lookup and count
    expect(Object.keys(leadWithIdentifyingKey(anySnapshot, indexed))).toEqual(['name', 'accountName', 'containerName']);
  });

  it('leaves other queries as Azurite made them', () => {
    const blocks = { accountName: 'a', containerName: 'c', blobName: 'b', name: 'AAAA' };
    const ranged = { PartitionKey: 'p', RowKey: { $regex: /^u\|/ } };
    const unindexed = { PartitionKey: 'p', RowKey: 'r' };
    for (const [q, idx] of [
      [blocks, indexed],
      [ranged, indexed],
      [unindexed, { PartitionKey: {} }],
    ] as const)
      expect(Object.keys(leadWithIdentifyingKey(q, idx))).toEqual(Object.keys(q));
  });
});

describe("Azurite's lookups led by the identifying key", () => {
  let azurite: Azurite;
  let cs: string;
  beforeAll(async () => {
    azurite = await startAzurite();
    cs = connectionString(azurite.blobEndpoint, azurite.queueEndpoint, azurite.tableEndpoint);
  });
  afterAll(() => azurite.close());

  // An Azurite that asked otherwise would be left as it asks: slower, never wrong. This says when that happens.
  it('still makes the lookups it leads (an upgraded Azurite that asks otherwise fails here)', async () => {
    const proto = azuriteLoki().Resultset.prototype;
    const patched = proto.find;
    const led: string[] = [];
    proto.find = function (this: LokiResultset, q?: unknown, firstOnly?: boolean) {
      if (q && typeof q === 'object') {
        const keys = Object.keys(leadWithIdentifyingKey(q as Record<string, unknown>, this.collection.binaryIndices));
        if (keys[0] !== Object.keys(q)[0]) led.push(keys[0]!);
      }
      return patched.call(this, q, firstOnly);
    };
    try {
      const table = TableClient.fromConnectionString(cs, 'asked', { allowInsecureConnection: true });
      await table.createTable();
      const container = BlobServiceClient.fromConnectionString(cs).getContainerClient('asked');
      await container.create();
      const blob = container.getBlockBlobClient('b');
      await blob.upload('x', 1);
      const ask = async (what: () => Promise<unknown>) => {
        led.length = 0;
        await what();
        return [...new Set(led)];
      };
      expect(await ask(() => table.createEntity({ partitionKey: 'p', rowKey: 'r' }))).toEqual(['RowKey']);
      expect(await ask(() => table.getEntity('p', 'r'))).toEqual(['RowKey']);
      expect(await ask(() => table.updateEntity({ partitionKey: 'p', rowKey: 'r', v: 1 }, 'Replace'))).toEqual([
        'RowKey',
      ]);
      expect(await ask(() => table.deleteEntity('p', 'r'))).toEqual(['RowKey']);
      expect(await ask(() => blob.downloadToBuffer())).toEqual(['name']);
      expect(await ask(() => blob.delete())).toEqual(['name']);
    } finally {
      proto.find = patched;
    }
  });

  it('answers, updates and deletes every entity and blob as without them', async () => {
    const table = TableClient.fromConnectionString(cs, 'lookups', { allowInsecureConnection: true });
    await table.createTable();
    const keys = ['1', '01', '001', '1.0', 'a', 'A', ''];
    for (const p of ['p1', 'p2'])
      for (const r of keys) await table.createEntity({ partitionKey: p, rowKey: r, v: `${p}/${r}` });
    const blobs = BlobServiceClient.fromConnectionString(cs);
    for (const c of ['one', 'two']) {
      await blobs.createContainer(c);
      for (const n of ['x.json', '1', '01'])
        await blobs.getContainerClient(c).getBlockBlobClient(n).upload(`${c}/${n}`, `${c}/${n}`.length);
    }
    const answers = async () => {
      const seen: string[] = [];
      for (const p of ['p1', 'p2'])
        for (const r of keys) seen.push(String((await table.getEntity(p, r).catch(() => ({ v: 'missing' }))).v));
      for (const c of ['one', 'two'])
        for (const n of ['x.json', '1', '01']) {
          const blob = blobs.getContainerClient(c).getBlobClient(n);
          seen.push(await blob.downloadToBuffer().then(String, () => 'missing'));
        }
      return seen;
    };
    expect(azuriteLookups.indexed).toBe(true);
    const led = await answers();
    expect(led).toEqual([
      ...keys.map((r) => `p1/${r}`),
      ...keys.map((r) => `p2/${r}`),
      ...['one/x.json', 'one/1', 'one/01', 'two/x.json', 'two/1', 'two/01'],
    ]);
    // An update finds its row among those the index orders alike, and only in its partition.
    await table.updateEntity({ partitionKey: 'p2', rowKey: '01', v: 'changed' }, 'Merge');
    await table.deleteEntity('p1', '1');
    expect((await table.getEntity('p2', '01')).v).toBe('changed');
    expect((await table.getEntity('p1', '01')).v).toBe('p1/01');
    await expect(table.getEntity('p1', '1')).rejects.toMatchObject({ statusCode: 404 });
    expect((await table.getEntity('p2', '1')).v).toBe('p2/1');
    // A delete finds its blob among those of the same name, in its container, and counts its snapshots.
    const one = blobs.getContainerClient('one');
    await one.getBlobClient('1').delete();
    await one.getBlobClient('x.json').createSnapshot();
    await expect(one.getBlobClient('x.json').delete()).rejects.toMatchObject({ statusCode: 409 });
    await one.getBlobClient('x.json').delete({ deleteSnapshots: 'include' });
    const names = async (c: string) => {
      const found: string[] = [];
      for await (const b of blobs.getContainerClient(c).listBlobsFlat({ includeSnapshots: true })) found.push(b.name);
      return found.sort();
    };
    expect([await names('one'), await names('two')]).toEqual([['01'], ['01', '1', 'x.json']]);
    await expect(one.getBlobClient('1').download()).rejects.toMatchObject({ statusCode: 404 });
    expect((await blobs.getContainerClient('two').getBlobClient('1').downloadToBuffer()).toString()).toBe('two/1');
    azuriteLookups.indexed = false;
    try {
      const asAzurite = await answers();
      azuriteLookups.indexed = true;
      expect(await answers()).toEqual(asAzurite);
    } finally {
      azuriteLookups.indexed = true;
    }
  }, 60_000);
});
