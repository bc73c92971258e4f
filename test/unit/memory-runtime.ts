/**
 * A JobContext held in memory with a clock the test moves: the ledger over an in-memory record store,
 * the storage port over in-memory containers, the queues as arrays (shared/adapters/memory/). Conditional
 * writes fail with the port's errors as Blob Storage's do, so the use cases' races play out as on Azure.
 * `onBlobCreated` stands in for Event Grid: tests decide when (and whether) an event is delivered.
 */
import { createHash } from 'node:crypto';
import { outcomeTopic } from '../../shared/adapters/azure/outcome-topic.js';
import { sharpImageTools } from '../../shared/adapters/imaging/image-tools.js';
import type { EditMessage } from '../../shared/ports/edit-queue.js';
import { Ledger } from '../../shared/app/ledger.js';
import { memoryIndexTable } from '../../shared/adapters/memory/index-table.js';
import { MemoryBlobs } from '../../shared/adapters/memory/blob-store.js';
import { MemoryRecords } from '../../shared/adapters/memory/record-store.js';
import { memoryEditQueue, memoryPoisonQueue } from '../../shared/adapters/memory/edit-queue.js';
import { JobsIndex } from '../../shared/app/jobs-index.js';
import type { EditInput, ImageModel, ModelOutcome } from '../../shared/ports/image-model.js';
import { loadConfig } from '../../shared/core/config.js';
import type { ProvenanceReport } from '../../shared/core/provenance/gate.js';
import type { Verifier } from '../../shared/ports/verifier.js';
import { INTAKE_CONCURRENCY } from '../../shared/composition.js';
import { type JobContext } from '../../shared/app/job-context.js';
import { createDeploymentPool } from '../../shared/app/deployment-pool.js';
import type { PoolMember } from '../../shared/core/pool/members.js';
import { Semaphore } from '../../shared/core/concurrency/semaphore.js';
import { KeyedLock } from '../../shared/core/concurrency/keyed-lock.js';

export class FakeClock {
  constructor(public t = Date.parse('2026-11-24T12:00:00Z')) {}
  now = () => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}

/** What FakeModel answers: an outcome, with the image's bytes where the real model streams them. */
export type FakeAnswer =
  Exclude<ModelOutcome, { kind: 'ok' }> | (Omit<Extract<ModelOutcome, { kind: 'ok' }>, 'output'> & { bytes: Buffer });

/** A model that answers every edit with the same bytes (or whatever `next` says). */
export class FakeModel implements ImageModel {
  calls = 0;
  next: () => FakeAnswer = () => ({
    kind: 'ok',
    bytes: Buffer.from('edited image'),
    contentType: 'image/png',
    requestId: `req-${this.calls}`,
  });
  async edit(input: EditInput): Promise<ModelOutcome> {
    this.calls++;
    const answer = this.next();
    if (answer.kind !== 'ok') return answer;
    const { bytes, ...rest } = answer;
    const image = (async function* () {
      yield bytes;
    })();
    return { ...rest, output: await input.output(image) };
  }
}

/** A verifier that publishes bytes it was told are credentialed and quarantines the rest. */
export function fakeVerifier(credentialed: (bytes: Uint8Array) => boolean = () => true): Verifier {
  return {
    policy: {} as Verifier['policy'],
    async verify(input, context) {
      const bytes = typeof input === 'function' ? await input() : input;
      const ok = credentialed(bytes);
      return {
        file: context.file,
        verdict: ok ? 'publish' : 'quarantine',
        reasons: ok ? [] : ['no Content Credentials'],
        manifest: null,
      } as unknown as ProvenanceReport;
    },
    read: async () => {
      throw new Error('not used');
    },
  };
}

export interface MemoryRuntime extends JobContext {
  clock: FakeClock;
  blobStore: MemoryBlobs;
  records: MemoryRecords;
  fakeModel: FakeModel;
  /** Messages sent to the edit queue, with the time they become visible. */
  sent: { message: EditMessage; visibleAt: number }[];
  poisoned: { text: string; dequeueCount: number }[];
  /** Uploads a part to `inbox/` (its event goes through `onBlobCreated`). */
  upload(name: string, bytes: Buffer | string): Promise<string>;
  logs: string[];
}

/** `modelFor` gives pool members their own model; the rest share `fakeModel`. */
export function memoryRuntime(
  settings: Record<string, string> = {},
  workerId = 'worker-a',
  modelFor?: (member: PoolMember) => ImageModel | undefined,
): MemoryRuntime {
  const clock = new FakeClock();
  const blobStore = new MemoryBlobs(clock);
  const records = new MemoryRecords();
  const indexTable = memoryIndexTable();
  const ledger = new Ledger(records, clock.now, new JobsIndex(indexTable));
  const fakeModel = new FakeModel();
  const config = loadConfig({
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:9',
    DROP_SETTLE: '0s',
    IMAGE_MODEL_RPM: '6000',
    ...settings,
  });
  const queue = memoryEditQueue(clock.now);
  const poison = memoryPoisonQueue();
  const verifier = fakeVerifier();
  return {
    config,
    ledger,
    pool: createDeploymentPool(config.pool.members, ledger, async (m) => modelFor?.(m) ?? fakeModel, clock.now),
    blobs: blobStore.store(),
    queue,
    poison,
    verifier: async () => verifier,
    imaging: sharpImageTools,
    outcomeTopic,
    modelSlots: new Semaphore(4),
    dropIntakes: new KeyedLock(),
    intakeSlots: new Semaphore(INTAKE_CONCURRENCY),
    workerId,
    now: clock.now,
    clock,
    blobStore,
    records,
    fakeModel,
    sent: queue.sent,
    poisoned: poison.poisoned,
    logs: [],
    upload: (name, bytes) => blobStore.put('inbox', name, typeof bytes === 'string' ? Buffer.from(bytes) : bytes),
  };
}

/** A logger that keeps its lines in `rt.logs`. */
export function memoryLogger(rt: MemoryRuntime) {
  return {
    info: (m: string) => void rt.logs.push(m),
    warn: (m: string) => void rt.logs.push(`WARN ${m}`),
    error: (m: string) => void rt.logs.push(`ERROR ${m}`),
  };
}

export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
