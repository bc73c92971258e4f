/**
 * The `edit-jobs` queue. Messages are base64 JSON, the Functions queue trigger's default encoding.
 * A delayed message (visibility timeout) is how a job waits for its model slot or a Retry-After
 * without holding a worker.
 */
import type { QueueClient } from '@azure/storage-queue';
import type { DropRef } from '../../core/drop.js';
import { translated } from './storage-errors.js';

export interface EditMessage {
  jobId: string;
  /** The job's ticket when the message was sent; the worker ignores messages whose ticket is stale. */
  ticket: number;
  /** Lets a worker rebuild a job whose record was never written (the intake died between send and create). */
  drop: DropRef;
  /** The job's W3C trace context, so the edit's spans join the job's trace. */
  traceparent?: string | undefined;
}

/** Azure Storage queues accept visibility timeouts up to 7 days. */
const MAX_DELAY_SECONDS = 7 * 24 * 3600 - 1;

export function encodeMessage(message: EditMessage): string {
  return Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
}

/** Accepts what the Functions host hands a queue trigger: the decoded object, a JSON string, or base64. */
export function decodeMessage(raw: unknown): EditMessage {
  let value = raw;
  if (typeof value === 'string') {
    const text = value.trim().startsWith('{') ? value : Buffer.from(value, 'base64').toString('utf8');
    value = JSON.parse(text);
  }
  const m = value as Partial<EditMessage>;
  if (!m || typeof m.jobId !== 'string' || typeof m.ticket !== 'number' || !m.drop || typeof m.drop.stem !== 'string') {
    throw new Error(`not an edit message: ${JSON.stringify(raw).slice(0, 200)}`);
  }
  return m as EditMessage;
}

export async function sendEditMessage(queue: QueueClient, message: EditMessage, delayMs = 0): Promise<void> {
  const visibilityTimeout = Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000)));
  await queue.sendMessage(encodeMessage(message), visibilityTimeout > 0 ? { visibilityTimeout } : {});
}

/** The queue as the use cases see it. */
export interface EditQueue {
  send(message: EditMessage, delayMs?: number): Promise<void>;
  /** Whether no message waits on the queue (as the service counts, approximately). */
  isEmpty(): Promise<boolean>;
}

/** A message the Functions host gave up on. */
export interface PoisonMessage {
  text: string;
  dequeueCount: number;
  remove(): Promise<void>;
}

export interface PoisonQueue {
  /** The next batch (empty when none is left); each message stays hidden a minute unless removed. */
  receive(): Promise<PoisonMessage[]>;
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
