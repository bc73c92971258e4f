import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerSASPermissions } from '@azure/storage-blob';
import { startLocalPipeline, type LocalPipeline, type LocalPipelineOptions } from '../../local/environment.js';
import type { LogEntry } from '../../local/host/host.js';
import { isTerminal, type JobRecord } from '../../shared/core/job.js';
import { TEST_CA_DIR } from './emulator.js';

export interface TestPipeline extends LocalPipeline {
  logs: LogEntry[];
  upload(name: string, bytes: Buffer | string, metadata?: Record<string, string>): Promise<string>;
  /** Uploads with the name as a raw HTTP path, past any client-side URL normalisation (e.g. '..' segments). */
  uploadRaw(name: string, bytes: Buffer): Promise<void>;
  /** Every job record in the ledger. */
  jobs(): Promise<JobRecord[]>;
  /** Waits until `predicate` holds for the ledger's jobs; fails with the ledger's contents after `timeoutMs`. */
  waitFor(predicate: (jobs: JobRecord[]) => boolean, timeoutMs?: number): Promise<JobRecord[]>;
  /** Waits until the drop's jobs are all terminal and returns the newest. */
  settled(dropKey: string, timeoutMs?: number): Promise<JobRecord>;
  blobNames(container: keyof LocalPipeline['runtime']['containers']): Promise<string[]>;
  /**
   * A report the pipeline writes just after a job's terminal state (a rejection's `<stem>.json`), parsed
   * once it is there: the job can be seen ended a moment before its report is.
   */
  report(container: 'rejected' | 'published' | 'quarantine', name: string, timeoutMs?: number): Promise<any>;
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
      const job = await rt.ledger.get(blob.name.slice(0, -5)); // one GET: a record rewritten mid-read is never half-read
      if (job) out.push(job.value);
    }
    return out;
  };
  const waitFor = async (predicate: (jobs: JobRecord[]) => boolean, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const current = await jobs();
      if (predicate(current)) return current;
      if (Date.now() > deadline) {
        const summary = current
          .map((j) => `${j.drop.key}:${j.state}${j.error ? `(${j.error.code}: ${j.error.message})` : ''}`)
          .join(', ');
        const errors = logs
          .filter((l) => l.level === 'error' || l.level === 'warning')
          .map((l) => l.message)
          .slice(-10);
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
    async uploadRaw(name, bytes) {
      const sas = new URL(
        await rt.containers.inbox.generateSasUrl({
          permissions: ContainerSASPermissions.parse('cw'),
          expiresOn: new Date(Date.now() + 600_000),
        }),
      );
      await new Promise<void>((resolve, reject) => {
        const req = http.request(
          {
            host: sas.hostname,
            port: sas.port,
            method: 'PUT',
            path: `${sas.pathname}/${name}${sas.search}`,
            headers: { 'x-ms-blob-type': 'BlockBlob', 'content-length': bytes.length },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode === 201 ? resolve() : reject(new Error(`raw upload of ${name}: HTTP ${res.statusCode}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(bytes);
      });
    },
    jobs,
    waitFor,
    async settled(dropKey, timeoutMs) {
      const all = await waitFor((js) => {
        const mine = js.filter((j) => j.drop.key === dropKey);
        return mine.length > 0 && mine.every((j) => isTerminal(j.state));
      }, timeoutMs);
      return all
        .filter((j) => j.drop.key === dropKey)
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
        .at(-1)!;
    },
    async report(container, name, timeoutMs = 10_000) {
      const blob = rt.containers[container].getBlobClient(name);
      for (const deadline = Date.now() + timeoutMs; !(await blob.exists()); await sleep(50)) {
        if (Date.now() > deadline) throw new Error(`${container}/${name} was not written within ${timeoutMs} ms`);
      }
      return JSON.parse((await blob.downloadToBuffer()).toString('utf8'));
    },
    async blobNames(container) {
      const names: string[] = [];
      for await (const b of rt.containers[container].listBlobsFlat()) names.push(b.name);
      return names.sort();
    },
  };
}
