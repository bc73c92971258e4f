/** edit: a job on the edit-jobs queue → paced images/edits call → the model's bytes in edited/. */
import { contextLogger, defineFunction } from '../shared/adapters/azure/functions-app.js';
import { register } from '../shared/composition.js';
import { QUEUES } from '../shared/core/containers.js';

export const definition = defineFunction({
  name: 'edit',
  trigger: { type: 'storageQueue', queueName: QUEUES.edit, connection: 'AzureWebJobsStorage' },
  async handle(rt, message: unknown, context) {
    const [{ decodeMessage }, { processEditMessage }] = await Promise.all([
      import('../shared/ports/edit-queue.js'),
      import('../shared/app/edit.js'),
    ]);
    const { inSpan, SpanKind } = await import('../shared/app/telemetry/trace.js');
    const edit = decodeMessage(message);
    const attributes = { 'imagegen.job': edit.jobId, 'imagegen.ticket': edit.ticket };
    await inSpan('edit', { parent: edit.traceparent ?? 'new', kind: SpanKind.CONSUMER, attributes }, async (span) =>
      span.set({ 'imagegen.edit': await processEditMessage(rt, edit, contextLogger(context)) }),
    );
  },
});

register(definition);
