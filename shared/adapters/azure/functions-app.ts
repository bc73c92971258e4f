/**
 * Function definitions shared by the Azure Functions host and the local host. Each `functions/*.ts`
 * module defines one function (its trigger and a thin handler taking a Runtime) and registers it with
 * `@azure/functions`; the local host runs the same definitions against its own Runtime.
 */
import { type EventGridEvent, type InvocationContext } from '@azure/functions';
import { parseBlobCreated } from '../../core/blob-created.js';
import type { Logger } from '../../core/log.js';
import type { Runtime } from './runtime.js';

export type TriggerSpec =
  | { type: 'eventGrid' }
  | { type: 'storageQueue'; queueName: string; connection: string }
  | { type: 'timer'; schedule: string }
  | { type: 'http'; route: string; methods: ('GET' | 'POST')[]; authLevel: 'anonymous' | 'function' };

export interface FunctionDefinition<TInput = unknown, TOutput = unknown> {
  name: string;
  trigger: TriggerSpec;
  handle(rt: Runtime, input: TInput, context: InvocationContext): Promise<TOutput>;
}

export function defineFunction<TInput, TOutput>(
  definition: FunctionDefinition<TInput, TOutput>,
): FunctionDefinition<TInput, TOutput> {
  return definition;
}

/**
 * An Event Grid function for BlobCreated in one container: anything else it is handed (another event
 * type, another container, a write that does not complete a blob) is logged and ignored.
 */
export function defineBlobCreatedFunction(
  name: string,
  container: string,
  run: (rt: Runtime, blobName: string, etag: string | undefined, log: Logger) => Promise<unknown>,
): FunctionDefinition<EventGridEvent, void> {
  return defineFunction({
    name,
    trigger: { type: 'eventGrid' },
    async handle(rt, event: EventGridEvent, context) {
      const log = contextLogger(context);
      const blob = parseBlobCreated(event);
      if (!blob.ok || blob.container !== container) {
        log.info(`${name} ignores event ${event.id}: ${blob.ok ? `container ${blob.container}` : blob.reason}`);
        return;
      }
      await run(rt, blob.blobName, blob.etag, log);
    },
  });
}

export function contextLogger(context: InvocationContext): Logger {
  return { info: (m) => context.info(m), warn: (m) => context.warn(m), error: (m) => context.error(m) };
}
