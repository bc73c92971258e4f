/** publish: BlobCreated in edited/ (Event Grid) → provenance gate → published/ or quarantine/ with a report. */
import type { EventGridEvent } from '@azure/functions';
import { contextLogger, defineFunction, register } from '../shared/adapters/functions-app.js';
import { CONTAINERS } from '../shared/containers.js';
import { parseBlobCreated } from '../shared/events.js';

export const definition = defineFunction({
  name: 'publish',
  trigger: { type: 'eventGrid' },
  async handle(rt, event: EventGridEvent, context) {
    const log = contextLogger(context);
    const blob = parseBlobCreated(event);
    if (!blob.ok || blob.container !== CONTAINERS.edited) {
      log.info(`publish ignores event ${event.id}: ${blob.ok ? `container ${blob.container}` : blob.reason}`);
      return;
    }
    const { publishEditedBlob } = await import('../shared/pipeline/publish.js');
    await publishEditedBlob(rt, blob.blobName, blob.etag, log);
  },
});

register(definition);
