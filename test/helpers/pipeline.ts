import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalPipeline, type LocalPipeline, type LocalPipelineOptions } from '../../local/environment.js';
import type { LogEntry } from '../../local/host/host.js';
import { isTerminal, type JobRecord } from '../../shared/job.js';
import { TEST_CA_DIR } from './emulator.js';

export interface TestPipeline extends LocalPipeline {
  logs: LogEntry[];
  upload(name: string, bytes: Buffer | string, metadata?: Record<string, string>): Promise<string>;
  /** Every job record in the ledger. */
  jobs(): Promise<JobRecord[]>;
  /** Waits until `predicate` holds for the ledger's jobs; fails with the ledger's contents after `timeoutMs`. */
  waitFor(predicate: (jobs: JobRecord[]) => boolean, timeoutMs?: number): Promise<JobRecord[]>;
  /** Waits until the drop's jobs are all terminal and returns the newest. */
  settled(dropKey: string, timeoutMs?: number): Promise<JobRecord>;
  blobNames(container: keyof LocalPipeline['runtime']['containers']): Promise<string[]>;
}

export async function startTestPipeline(options: LocalPipelineOptions = {}): Promise<TestPipeline> {
  const logs: LogEntry[] = [];
  const pipeline = await startLocalPipeline({
    timers: false,
    ...options,
    emulator: options.emulator === false ? false : { caDir: TEST_CA_DIR, rpm: 10_000, ...options.emulator },
    settings: { DROP_SETTLE: '0s', ...options.settings },
    onLog: (e) => {
      logs.push(e);
      options.onLog?.(e);
    },
  });
  const rt = pipeline.runtime;
  const jobs = async () => {
    const out: JobRecord[] = [];
    for await (const blob of rt.containers.jobs.listBlobsFlat()) {
      if (!/^[0-9a-f]{32}\.json$/.test(blob.name)) continue;
      out.push(JSON.parse((await rt.containers.jobs.getBlobClient(blob.name).downloadToBuffer()).toString('utf8')) as JobRecord);
    }
    return out;
  };
  const waitFor = async (predicate: (jobs: JobRecord[]) => boolean, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await jobs();
      if (predicate(current)) return current;
      if (Date.now() > deadline) {
        const summary = current.map((j) => `${j.drop.key}:${j.state}${j.error ? `(${j.error.code}: ${j.error.message})` : ''}`).join(', ');
        const errors = logs.filter((l) => l.level === 'error' || l.level === 'warning').map((l) => l.message).slice(-10);
        throw new Error(`timed out waiting for the ledger; jobs: [${summary}]; last warnings: ${errors.join(' | ')}`);
      }
      await sleep(100);
    }
  };
  return {
    ...pipeline,
    logs,
    async upload(name, bytes, metadata) {
      const body = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
      const res = await rt.containers.inbox.getBlockBlobClient(name).uploadData(body, metadata ? { metadata } : {});
      return res.etag!;
    },
    jobs,
    waitFor,
    async settled(dropKey, timeoutMs) {
      const all = await waitFor((js) => {
        const mine = js.filter((j) => j.drop.key === dropKey);
        return mine.length > 0 && mine.every((j) => isTerminal(j.state));
      }, timeoutMs);
      return all.filter((j) => j.drop.key === dropKey).sort((a, b) => a.createdAt.localeCompare(b.createdAt)).at(-1)!;
    },
    async blobNames(container) {
      const names: string[] = [];
      for await (const b of rt.containers[container].listBlobsFlat()) names.push(b.name);
      return names.sort();
    },
  };
}
