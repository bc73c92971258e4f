/** publish: BlobCreated in edited/ (Event Grid) → provenance gate → published/ or quarantine/ with a report. */
import { defineBlobCreatedFunction } from '../shared/adapters/azure/functions-app.js';
import { register } from '../shared/composition.js';
import { CONTAINERS } from '../shared/core/containers.js';

export const definition = defineBlobCreatedFunction('publish', CONTAINERS.edited, async (rt, blobName, etag, log) => {
  const { publishEditedBlob } = await import('../shared/app/publish.js');
  await publishEditedBlob(rt, blobName, etag, log);
});

register(definition);
