/**
 * The ledger's record store (shared/app/ledger.ts `RecordStore`) on a Blob Storage container: one blob per
 * document, every write conditional on the ETag the caller names. A lost condition is thrown as the
 * port's ConditionFailed (AlreadyExists for If-None-Match: *), never as an SDK error.
 */
import type { ContainerClient } from '@azure/storage-blob';
import type { RecordStore } from '../../ports/record-store.js';
import { isSdkNotFound, toPortError, translated, translatedIteration } from './storage-errors.js';

export function containerRecords(container: ContainerClient): RecordStore {
  return {
    async read(name) {
      try {
        const res = await container.getBlobClient(name).download();
        const chunks: Buffer[] = [];
        for await (const chunk of res.readableStreamBody as AsyncIterable<Buffer>) chunks.push(chunk);
        return { text: Buffer.concat(chunks).toString('utf8'), etag: res.etag! };
      } catch (err) {
        if (isSdkNotFound(err)) return undefined;
        throw toPortError(err, `read ${container.containerName}/${name}`);
      }
    },
    write: (name, text, conditions, metadata) =>
      translated(`write ${container.containerName}/${name}`, async () => {
        const res = await container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text), {
          conditions,
          blobHTTPHeaders: { blobContentType: 'application/json' },
          ...(metadata ? { metadata } : {}),
        });
        return res.etag!;
      }),
    remove: (name) =>
      translated(`remove ${container.containerName}/${name}`, async () => {
        await container.getBlobClient(name).deleteIfExists();
      }),
    async *names(prefix) {
      const listing = container.listBlobsFlat({ prefix });
      for await (const blob of translatedIteration(`list ${container.containerName}/${prefix}`, listing))
        yield blob.name;
    },
    page: (limit, token) =>
      translated(`list ${container.containerName}`, async () => {
        const page = await container
          .listBlobsByHierarchy('/', { includeMetadata: true })
          .byPage({ maxPageSize: limit, ...(token ? { continuationToken: token } : {}) })
          .next();
        if (page.done) return { items: [] };
        const items = page.value.segment.blobItems.map((b) => ({ name: b.name, metadata: b.metadata ?? {} }));
        return { items, ...(page.value.continuationToken ? { token: page.value.continuationToken } : {}) };
      }),
  };
}
