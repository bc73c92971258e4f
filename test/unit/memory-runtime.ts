/**
 * A JobContext held in memory with a clock the test moves: the ledger over an in-memory record store,
 * the storage port over in-memory containers, the queues as arrays. Conditional writes fail the way
 * Blob Storage's do (an error with statusCode 412 or 409), so the use cases' races play out as on Azure.
 * `onBlobCreated` stands in for Event Grid: tests decide when (and whether) an event is delivered.
 */
import { createHash } from 'node:crypto';
import type { BlobInfo, BlobStore, DropParts, ResultOwner, WriteResult } from '../../shared/adapters/blobs.js';
import { isDropResult, mayReplace, newestFirst, ownerMetadata } from '../../shared/adapters/blobs.js';
import type { EditMessage } from '../../shared/adapters/edit-queue.js';
import { Ledger, type RecordStore } from '../../shared/adapters/ledger.js';
import { memoryIndexTable } from '../../shared/adapters/index-memory.js';
import { JobsIndex } from '../../shared/adapters/jobs-index.js';
import type { EditInput, ImageModel, ModelOutcome } from '../../shared/adapters/model.js';
import { loadConfig } from '../../shared/config.js';
import { classifyBlobName, dropListingPrefix } from '../../shared/drop.js';
import type { PartRef } from '../../shared/job.js';
import type { ProvenanceReport } from '../../shared/provenance/gate.js';
import type { Verifier } from '../../shared/provenance/verifier.js';
import { INTAKE_CONCURRENCY, type JobContext } from '../../shared/runtime.js';
import { createDeploymentPool } from '../../shared/pool/pool.js';
import type { PoolMember } from '../../shared/pool/members.js';
import { Semaphore } from '../../shared/semaphore.js';
import { KeyedLock } from '../../shared/keyed-lock.js';

interface StoredBlob {
  bytes: Buffer;
  etag: string;
  metadata: Record<string, string>;
  contentType: string | undefined;
  lastModified: Date;
}

const failed = (statusCode: 404 | 409 | 412, what: string) =>
  Object.assign(new Error(`${statusCode}: ${what}`), { statusCode });

export class FakeClock {
  constructor(public t = Date.parse('2026-11-24T12:00:00Z')) {}
  now = () => new Date(this.t);
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Containers of blobs, with Blob Storage's conditional-write rules. */
export class MemoryBlobs {
  readonly containers = new Map<string, Map<string, StoredBlob>>();
  /** Output staged but not committed, by blob name: one token per writer. */
  private readonly staged = new Map<string, object[]>();
  private version = 0;
  /** Called after every blob write, like a BlobCreated event (the test decides what it does). */
  onBlobCreated: (container: string, name: string, etag: string) => Promise<void> | void = () => {};

  constructor(private readonly clock: FakeClock) {}

  container(name: string): Map<string, StoredBlob> {
    let c = this.containers.get(name);
    if (!c) this.containers.set(name, (c = new Map()));
    return c;
  }

  get(container: string, name: string): StoredBlob | undefined {
    return this.container(container).get(name);
  }

  async put(
    container: string,
    name: string,
    bytes: Buffer,
    options: { ifMatch?: string; ifNoneMatch?: '*'; metadata?: Record<string, string>; contentType?: string } = {},
  ): Promise<string> {
    const existing = this.get(container, name);
    if (options.ifNoneMatch === '*' && existing) throw failed(409, `${container}/${name} exists`);
    if (options.ifMatch !== undefined && existing?.etag !== options.ifMatch)
      throw failed(412, `${container}/${name} changed`);
    const etag = `"0x${(++this.version).toString(16)}"`;
    this.container(container).set(name, {
      bytes,
      etag,
      metadata: options.metadata ?? {},
      contentType: options.contentType,
      lastModified: this.clock.now(),
    });
    await this.onBlobCreated(container, name, etag);
    return etag;
  }

  info(container: string, name: string): BlobInfo | undefined {
    const b = this.get(container, name);
    return (
      b && {
        name,
        etag: b.etag,
        bytes: b.bytes.length,
        metadata: b.metadata,
        contentType: b.contentType,
        lastModified: b.lastModified,
      }
    );
  }

  read(container: string, part: { name: string; etag: string }): Buffer {
    const b = this.get(container, part.name);
    if (!b) throw failed(404, `${container}/${part.name}`);
    if (b.etag !== part.etag) throw failed(412, `${container}/${part.name} changed`);
    return b.bytes;
  }

  json(container: string, name: string): Record<string, unknown> | undefined {
    const b = this.get(container, name);
    return b && (JSON.parse(b.bytes.toString('utf8')) as Record<string, unknown>);
  }

  private async writeResult(
    container: string,
    name: string,
    bytes: Buffer,
    metadata: Record<string, string>,
    owner: ResultOwner,
  ): Promise<WriteResult> {
    const existing = this.info(container, name);
    if (existing && !mayReplace(existing, owner)) return { written: false, existing };
    const etag = await this.put(container, name, bytes, {
      ...(existing ? { ifMatch: existing.etag } : { ifNoneMatch: '*' }),
      metadata: { ...metadata, ...ownerMetadata(owner) },
    });
    return { written: true, etag };
  }

  store(): BlobStore {
    return {
      listDropParts: async (drop) => {
        const parts: DropParts = { images: [] };
        const prefix = dropListingPrefix(drop);
        for (const name of [...this.container('inbox').keys()].sort()) {
          const c = classifyBlobName(name);
          if (!name.startsWith(prefix) || !c.ok || c.drop.stem !== drop.stem || c.drop.path !== drop.path) continue;
          const info = this.info('inbox', name)!;
          if (c.kind === 'image') parts.images.push(info);
          else parts[c.kind] = info;
        }
        parts.image = parts.images[0];
        return parts;
      },
      samplePart: async (part: PartRef) => {
        const bytes = this.read('inbox', part);
        return { name: part.name, bytes: bytes.length, head: bytes, tail: bytes };
      },
      readPart: async (part) => this.read('inbox', part),
      hashPart: async (part) => createHash('sha256').update(this.read('inbox', part)).digest('hex'),
      findResults: async (drop) =>
        newestFirst(
          (['published', 'quarantine'] as const).flatMap((container) =>
            [...this.container(container).keys()]
              .filter((name) => isDropResult(drop, name))
              .map((name) => ({ ...this.info(container, name)!, container })),
          ),
        ),
      streamPart: async (part) => [this.read('inbox', part)][Symbol.iterator]() as never,
      findOutput: async (name) => this.info('edited', name),
      stageOutput: async (name, image) => {
        const pieces: Buffer[] = [];
        for await (const piece of image) pieces.push(Buffer.from(piece));
        const bytes = Buffer.concat(pieces);
        // Like Put Block List: a commit to the blob drops what other writers staged for it.
        const draft = {};
        this.staged.set(name, [...(this.staged.get(name) ?? []), draft]);
        return {
          bytes: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
          commit: async (contentType, metadata, over) => {
            if (!this.staged.get(name)?.includes(draft))
              return { written: false, discarded: true, existing: this.info('edited', name) };
            try {
              const conditions = over ? { ifMatch: over } : { ifNoneMatch: '*' as const };
              const etag = await this.put('edited', name, bytes, { ...conditions, metadata, contentType });
              this.staged.delete(name);
              return { written: true, etag };
            } catch (err) {
              if (![409, 412].includes((err as { statusCode?: number }).statusCode ?? 0)) throw err;
              const gone = {
                name,
                etag: '',
                bytes: 0,
                metadata: {},
                contentType: undefined,
                lastModified: new Date(0),
              };
              return { written: false, existing: this.info('edited', name) ?? gone };
            }
          },
        };
      },
      readOutput: async (name, etag) => this.read('edited', { name, etag }),
      copyVerified: async (source, target, owner) =>
        this.writeResult(target.container, target.name, this.read('edited', source), source.metadata, owner),
      writeReport: async (container, name, value, owner) =>
        this.writeResult(container, name, Buffer.from(JSON.stringify(value)), {}, owner),
      writeResultBytes: async (container, name, bytes, _type, owner) =>
        this.writeResult(container, name, Buffer.from(bytes), {}, owner),
      deadLetters: async function* (this: MemoryBlobs) {
        for (const [name, b] of [...this.container('eventgrid-deadletter')])
          yield { name, text: async () => b.bytes.toString('utf8') };
      }.bind(this),
      removeDeadLetter: async (name) => void this.container('eventgrid-deadletter').delete(name),
      rewriteDeadLetter: async (name, text) => void (await this.put('eventgrid-deadletter', name, Buffer.from(text))),
    };
  }
}

/** The ledger's documents in memory. */
export class MemoryRecords implements RecordStore {
  readonly docs = new Map<string, { text: string; etag: string; metadata: Record<string, string> }>();
  private version = 0;
  /** Runs before every write: a test can interleave another worker's write here. */
  beforeWrite: (name: string) => Promise<void> | void = () => {};

  async read(name: string) {
    const d = this.docs.get(name);
    return d && { text: d.text, etag: d.etag };
  }

  async write(
    name: string,
    text: string,
    condition: { ifMatch?: string; ifNoneMatch?: '*' },
    metadata: Record<string, string> = {},
  ) {
    await this.beforeWrite(name);
    const existing = this.docs.get(name);
    if (condition.ifNoneMatch === '*' && existing) throw failed(409, name);
    if (condition.ifMatch !== undefined && existing?.etag !== condition.ifMatch) throw failed(412, name);
    const etag = `"r${++this.version}"`;
    this.docs.set(name, { text, etag, metadata });
    return etag;
  }

  async remove(name: string) {
    this.docs.delete(name);
  }

  async *names(prefix: string) {
    for (const name of [...this.docs.keys()].sort()) if (name.startsWith(prefix)) yield name;
  }

  /** In name order; the token is the last name of the page (Blob Storage's tokens are opaque). */
  async page(limit: number, token?: string) {
    const all = [...this.docs]
      .filter(([n]) => !n.includes('/') && (token === undefined || n > token))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const items = all.slice(0, limit);
    const next = all.length > limit ? { token: items.at(-1)![0] } : {};
    return { items: items.map(([name, d]) => ({ name, metadata: d.metadata })), ...next };
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
  const sent: MemoryRuntime['sent'] = [];
  const poisoned: MemoryRuntime['poisoned'] = [];
  const verifier = fakeVerifier();
  return {
    config,
    ledger,
    pool: createDeploymentPool(config.pool.members, ledger, async (m) => modelFor?.(m) ?? fakeModel, clock.now),
    blobs: blobStore.store(),
    queue: {
      send: async (message, delayMs = 0) => void sent.push({ message, visibleAt: clock.t + Math.max(0, delayMs) }),
      isEmpty: async () => sent.length === 0,
    },
    poison: {
      receive: async () => poisoned.splice(0).map((p) => ({ ...p, remove: async () => {} })),
    },
    verifier: async () => verifier,
    modelSlots: new Semaphore(4),
    dropIntakes: new KeyedLock(),
    intakeSlots: new Semaphore(INTAKE_CONCURRENCY),
    workerId,
    now: clock.now,
    clock,
    blobStore,
    records,
    fakeModel,
    sent,
    poisoned,
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
