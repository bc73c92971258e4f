/**
 * The `edit-jobs` queue as the use cases see it, and its message format: base64 JSON, the Functions
 * queue trigger's default encoding. A delayed message is how a job waits for its model slot.
 */
import type { DropRef } from '../core/drop.js';

export interface EditMessage {
  jobId: string;
  /** The job's ticket when the message was sent; the worker ignores messages whose ticket is stale. */
  ticket: number;
  /** Lets a worker rebuild a job whose record was never written (the intake died between send and create). */
  drop: DropRef;
  /** The job's W3C trace context, so the edit's spans join the job's trace. */
  traceparent?: string | undefined;
}

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
