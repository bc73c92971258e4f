/**
 * The `edit-jobs` queue. Messages are base64 JSON, the Functions queue trigger's default encoding.
 * A delayed message (visibility timeout) is how a job waits for its model slot or a Retry-After
 * without holding a worker.
 */
import type { QueueClient } from '@azure/storage-queue';
import { type EditMessage, encodeMessage, type EditQueue, type PoisonQueue } from '../../ports/edit-queue.js';
import { translated } from './storage-errors.js';

/** Azure Storage queues accept visibility timeouts up to 7 days. */
const MAX_DELAY_SECONDS = 7 * 24 * 3600 - 1;

export async function sendEditMessage(queue: QueueClient, message: EditMessage, delayMs = 0): Promise<void> {
  const visibilityTimeout = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000)));
  await queue.sendMessage(encodeMessage(message), visibilityTimeout > 0 ? { visibilityTimeout } : {});
}

export function editQueueOf(queue: QueueClient): EditQueue {
  const where = `queue ${queue.name}`;
  return {
    send: (message, delayMs) => translated(`send to ${where}`, () => sendEditMessage(queue, message, delayMs)),
    isEmpty: () =>
      translated(`count ${where}`, async () => ((await queue.getProperties()).approximateMessagesCount ?? 0) === 0),
  };
}

export function poisonQueueOf(queue: QueueClient): PoisonQueue {
  const where = `queue ${queue.name}`;
  return {
    async receive() {
      const { receivedMessageItems } = await translated(`receive from ${where}`, () =>
        queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 }),
      );
      return receivedMessageItems.map((item) => ({
        text: item.messageText,
        dequeueCount: item.dequeueCount,
        // NotFound: another receiver took the message after this one's visibility ran out.
        remove: () =>
          translated(`remove message from ${where}`, async () => {
            await queue.deleteMessage(item.messageId, item.popReceipt);
          }),
      }));
    },
  };
}
