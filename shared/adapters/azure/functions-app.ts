/**
 * Function definitions shared by the Azure Functions host and the local host. Each `functions/*.ts`
 * module defines one function (its trigger and a thin handler taking a Runtime) and registers it with
 * `@azure/functions`; the local host runs the same definitions against its own Runtime.
 */
import { app, type EventGridEvent, type InvocationContext } from '@azure/functions';
import { parseBlobCreated } from '../../core/blob-created.js';
import type { Logger } from '../../core/log.js';
import type { Runtime } from '../../composition.js';

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

// HTTP bodies as streams, not whole in memory: the console's downloads stream from storage, and a
// submission's Content-Length is checked before its body is read (shared/adapters/http/transfers.ts).
app.setup({ enableHttpStream: true });

/** Registers the definition with the Functions host, running it against the process's Runtime. */
export function register<TInput, TOutput>(definition: FunctionDefinition<TInput, TOutput>): void {
  const handler = async (input: TInput, context: InvocationContext): Promise<TOutput> => {
    const [{ processRuntime }, { startTelemetry }] = await Promise.all([
      import('../../composition.js'),
      import('../telemetry/setup.js'),
    ]);
    await startTelemetry();
    return definition.handle(await processRuntime(), input, context);
  };
  const t = definition.trigger;
  // The casts bridge our generic handler to each trigger's declared input type.
  switch (t.type) {
    case 'eventGrid':
      app.eventGrid(definition.name, { handler: handler as never });
      break;
    case 'storageQueue':
      app.storageQueue(definition.name, {
        queueName: t.queueName,
        connection: t.connection,
        handler: handler as never,
      });
      break;
    case 'timer':
      app.timer(definition.name, { schedule: t.schedule, handler: handler as never });
      break;
    case 'http':
      app.http(definition.name, {
        route: t.route,
        methods: t.methods,
        authLevel: t.authLevel,
        handler: handler as never,
      });
      break;
  }
}
