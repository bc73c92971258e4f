/** intake: BlobCreated in inbox/ (Event Grid) → classify, wait for the drop's last part, validate, queue the job. */
import { defineBlobCreatedFunction, register } from '../shared/adapters/functions-app.js';
import { CONTAINERS } from '../shared/containers.js';

export const definition = defineBlobCreatedFunction('intake', CONTAINERS.inbox, async (rt, blobName, etag, log) => {
  const { intakeBlob } = await import('../shared/pipeline/intake.js');
  await intakeBlob(rt, blobName, etag, log);
});

register(definition);
