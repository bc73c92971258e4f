/** edit: a job on the edit-jobs queue → paced images/edits call → the model's bytes in edited/. */
import { contextLogger, defineFunction, register } from '../shared/adapters/functions-app.js';
import { QUEUES } from '../shared/containers.js';

export const definition = defineFunction({
  name: 'edit',
  trigger: { type: 'storageQueue', queueName: QUEUES.edit, connection: 'AzureWebJobsStorage' },
  async handle(rt, message: unknown, context) {
    const [{ decodeMessage }, { processEditMessage }] = await Promise.all([
      import('../shared/adapters/edit-queue.js'),
      import('../shared/pipeline/edit.js'),
    ]);
    await processEditMessage(rt, decodeMessage(message), contextLogger(context));
  },
});

register(definition);
