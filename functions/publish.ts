/** publish: BlobCreated in edited/ (Event Grid) → provenance gate → published/ or quarantine/ with a report. */
import { defineBlobCreatedFunction, register } from '../shared/adapters/functions-app.js';
import { CONTAINERS } from '../shared/containers.js';

export const definition = defineBlobCreatedFunction('publish', CONTAINERS.edited, async (rt, blobName, etag, log) => {
  const { publishEditedBlob } = await import('../shared/pipeline/publish.js');
  await publishEditedBlob(rt, blobName, etag, log);
});

register(definition);
