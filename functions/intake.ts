/** intake: BlobCreated in inbox/ (Event Grid) → classify, wait for the drop's last part, validate, queue the job. */
import { defineBlobCreatedFunction } from '../shared/adapters/azure/functions-app.js';
import { register } from '../shared/composition.js';
import { CONTAINERS } from '../shared/core/containers.js';

export const definition = defineBlobCreatedFunction('intake', CONTAINERS.inbox, async (rt, blobName, etag, log) => {
  const [{ intakeBlob }, { inSpan, SpanKind }] = await Promise.all([
    import('../shared/app/intake.js'),
    import('../shared/app/telemetry/trace.js'),
  ]);
  const attributes = { 'imagegen.blob': blobName };
  await inSpan('intake', { parent: 'new', kind: SpanKind.CONSUMER, attributes }, async (span) =>
    span.set({ 'imagegen.intake': await intakeBlob(rt, blobName, etag, log) }),
  );
});

register(definition);
