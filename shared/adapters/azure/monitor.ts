/**
 * On Azure: the pipeline's spans and metrics to Application Insights with `@azure/monitor-opentelemetry`,
 * authenticated with the app's managed identity (the component accepts Entra ID tokens only; the identity
 * has Monitoring Metrics Publisher, infra/modules/roles.bicep). Loaded only when the Functions host has a
 * connection string, so the local runtime and tests never load it.
 */
import { azureCredential } from './credential.js';

export async function startAzureMonitor(connectionString: string, clientId: string | undefined): Promise<void> {
  const { useAzureMonitor } = await import('@azure/monitor-opentelemetry');
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString, credential: await azureCredential(clientId) },
    // Every job's trace whole: no rate-limited sampling (a job is a handful of spans).
    samplingRatio: 1,
    tracesPerSecond: 0,
    // The pipeline's own spans only: storage and HTTP calls as dependencies would multiply the ingested
    // volume (and its cost) several times over; the Functions host already logs each invocation.
    instrumentationOptions: { azureSdk: { enabled: false }, http: { enabled: false } },
    enableLiveMetrics: false,
  });
}
