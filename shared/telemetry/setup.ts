/**
 * Starts tracing for the process, once. Every runtime gets a context manager (so a step's spans nest under
 * the step that runs them); the local runtime also keeps finished spans in a SpanRing for the console.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { SpanRing } from './ring.js';

let contextStarted = false;
let ring: SpanRing | undefined;

export function startContext(): void {
  if (contextStarted) return;
  contextStarted = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/** The local runtime: spans of the last hours in memory. Loads the SDK only here. */
export async function startLocalTracing(): Promise<SpanRing> {
  startContext();
  if (ring) return ring;
  const { BasicTracerProvider, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
  ring = new SpanRing();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(ring)] }));
  return ring;
}

/** The local span store, when this process keeps one (the local runtime); undefined on Azure. */
export function localSpans(): SpanRing | undefined {
  return ring;
}
