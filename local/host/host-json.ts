/** The queue settings of host.json, which the local host honours like the Functions host does. */
import { readFileSync } from 'node:fs';

export interface QueueSettings {
  batchSize: number;
  newBatchThreshold: number;
  maxDequeueCount: number;
  /** Delay before a failed message is retried. */
  visibilityTimeoutMs: number;
  maxPollingIntervalMs: number;
}

const DEFAULTS: QueueSettings = {
  batchSize: 16,
  newBatchThreshold: 8,
  maxDequeueCount: 5,
  visibilityTimeoutMs: 0,
  maxPollingIntervalMs: 60_000,
};

/** `hh:mm:ss` (the host.json TimeSpan format) → milliseconds. */
export function parseTimeSpan(text: string): number {
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$/.exec(text);
  if (!m) throw new Error(`not a TimeSpan (hh:mm:ss): "${text}"`);
  const [, days, h, min, s, frac] = m;
  return (
    ((Number(days ?? 0) * 24 + Number(h)) * 3600 + Number(min) * 60 + Number(s)) * 1000 +
    Math.round(Number(`0.${frac ?? 0}`) * 1000)
  );
}

export function readQueueSettings(hostJsonPath: URL | string): QueueSettings {
  const json = JSON.parse(readFileSync(hostJsonPath, 'utf8')) as { extensions?: { queues?: Record<string, unknown> } };
  const q = json.extensions?.queues ?? {};
  return {
    batchSize: Number(q.batchSize ?? DEFAULTS.batchSize),
    newBatchThreshold: Number(q.newBatchThreshold ?? DEFAULTS.newBatchThreshold),
    maxDequeueCount: Number(q.maxDequeueCount ?? DEFAULTS.maxDequeueCount),
    visibilityTimeoutMs:
      typeof q.visibilityTimeout === 'string' ? parseTimeSpan(q.visibilityTimeout) : DEFAULTS.visibilityTimeoutMs,
    maxPollingIntervalMs:
      typeof q.maxPollingInterval === 'string' ? parseTimeSpan(q.maxPollingInterval) : DEFAULTS.maxPollingIntervalMs,
  };
}

/** The project's host.json, found relative to this module in both `local/` and `dist/local/`. */
export function projectHostJson(): URL {
  const here = new URL('.', import.meta.url);
  return new URL(here.pathname.includes('/dist/') ? '../../../host.json' : '../../host.json', here);
}
