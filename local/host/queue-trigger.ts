/**
 * A storage-queue trigger like the Functions host's: fetch batches, keep running messages invisible,
 * delete on success, make a failed message visible again after `visibilityTimeout`, and move it to
 * `<queue>-poison` after `maxDequeueCount` attempts.
 */
import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';
import type { QueueSettings } from './host-json.js';

const MIN_POLL_MS = 100;

/** How long a fetched message stays invisible before it is renewed; a killed host's messages return after this. */
export const LEASE_SECONDS = 30;

export interface QueueTriggerOptions {
  name: string;
  queue: QueueClient;
  poison: QueueClient;
  settings: QueueSettings;
  /** Runs one message; throwing counts as a failed attempt. */
  run(input: unknown, message: DequeuedMessageItem): Promise<void>;
  onError(error: unknown, message: DequeuedMessageItem | undefined): void;
  leaseSeconds?: number;
}

/** The message as the Node worker hands it to a handler: base64 decoded, JSON parsed when it is JSON. */
export function triggerInput(messageText: string): unknown {
  const text = Buffer.from(messageText, 'base64').toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export class QueueTrigger {
  private running = 0;
  private stopped = false;
  private idleMs = MIN_POLL_MS;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly options: QueueTriggerOptions) {}

  get name(): string {
    return this.options.name;
  }

  start(): void {
    this.loop = this.poll();
  }

  /** Polls now and restarts the back-off, e.g. because a message was just sent. */
  nudge(): void {
    this.idleMs = MIN_POLL_MS;
    this.wake?.();
  }

  get busy(): number {
    return this.running;
  }

  private async poll(): Promise<void> {
    const { queue, settings } = this.options;
    while (!this.stopped) {
      if (this.running > settings.newBatchThreshold) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      let items: DequeuedMessageItem[] = [];
      try {
        const res = await queue.receiveMessages({
          numberOfMessages: Math.min(32, settings.batchSize),
          visibilityTimeout: this.options.leaseSeconds ?? LEASE_SECONDS,
        });
        items = res.receivedMessageItems;
      } catch (err) {
        if (this.stopped) return;
        this.options.onError(err, undefined);
      }
      if (items.length === 0) {
        const wait = this.idleMs;
        this.idleMs = Math.min(settings.maxPollingIntervalMs, this.idleMs * 2);
        await this.sleep(wait);
        continue;
      }
      this.idleMs = MIN_POLL_MS;
      for (const item of items) {
        const task = this.process(item).finally(() => {
          this.inflight.delete(task);
          this.running--;
          this.wake?.();
          this.wake = undefined;
        });
        this.running++;
        this.inflight.add(task);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private async process(item: DequeuedMessageItem): Promise<void> {
    const { queue, poison, settings } = this.options;
    const lease = this.options.leaseSeconds ?? LEASE_SECONDS;
    let popReceipt = item.popReceipt;
    const renew = setInterval(
      () => {
        queue
          .updateMessage(item.messageId, popReceipt, undefined, lease)
          .then((r) => (popReceipt = r.popReceipt ?? popReceipt))
          .catch(() => undefined);
      },
      (lease * 1000) / 3,
    );
    try {
      await this.options.run(triggerInput(item.messageText), item);
      clearInterval(renew);
      await queue.deleteMessage(item.messageId, popReceipt);
    } catch (err) {
      clearInterval(renew);
      this.options.onError(err, item);
      try {
        if (item.dequeueCount >= settings.maxDequeueCount) {
          await poison.sendMessage(item.messageText);
          await queue.deleteMessage(item.messageId, popReceipt);
        } else {
          await queue.updateMessage(
            item.messageId,
            popReceipt,
            undefined,
            Math.round(settings.visibilityTimeoutMs / 1000),
          );
        }
      } catch (moveErr) {
        this.options.onError(moveErr, item);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await Promise.allSettled([...this.inflight]);
  }
}
