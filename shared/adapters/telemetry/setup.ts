/**
 * Starts tracing for the process, once. On Azure (a connection string set) spans and metrics go to
 * Application Insights; every runtime gets a context manager (so a step's spans nest under the step that
 * runs them); the local runtime also keeps finished spans in a SpanRing for the console.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { SpanRing } from './ring.js';

let contextStarted = false;
let ring: SpanRing | undefined;
let functionsStarted: Promise<void> | undefined;

/** What the Functions host's handlers call first: Azure Monitor when configured, else only the context. */
export function startTelemetry(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING;
  // Telemetry is advisory: an exporter that cannot start must not fail the pipeline's invocations.
  functionsStarted ??= connectionString
    ? import('../azure/monitor.js')
        .then(({ startAzureMonitor }) => startAzureMonitor(connectionString, env.AZURE_CLIENT_ID))
        .catch((err: unknown) => {
          console.warn(`Azure Monitor export is off: ${(err as Error).message}`);
          startContext();
        })
    : Promise.resolve(startContext());
  return functionsStarted;
}

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
