/** intake: BlobCreated in inbox/ (Event Grid) → classify, wait for the drop's last part, validate, queue the job. */
import type { EventGridEvent } from '@azure/functions';
import { contextLogger, defineFunction, register } from '../shared/adapters/functions-app.js';
import { CONTAINERS } from '../shared/containers.js';
import { parseBlobCreated } from '../shared/events.js';

export const definition = defineFunction({
  name: 'intake',
  trigger: { type: 'eventGrid' },
  async handle(rt, event: EventGridEvent, context) {
    const log = contextLogger(context);
    const blob = parseBlobCreated(event);
    if (!blob.ok || blob.container !== CONTAINERS.inbox) {
      log.info(`intake ignores event ${event.id}: ${blob.ok ? `container ${blob.container}` : blob.reason}`);
      return;
    }
    const { intakeBlob } = await import('../shared/pipeline/intake.js');
    await intakeBlob(rt, blob.blobName, blob.etag, log);
  },
});

register(definition);
