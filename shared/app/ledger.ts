/**
 * The job ledger in the `jobs` container:
 *   <jobId>.json          the job record; every write is conditional on the ETag that was read
 *   active/<jobId>        marker for every job not yet in a terminal state, or not yet in the jobs index (what
 *                         the sweep walks: it also repairs an index write lost to a crash)
 *   pending/<dropKey>     marker for a drop still waiting for a part, with when it was first seen
 *   pacer/<deployment>    the shared schedule of model-call slots
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal, type JobRecord, type JobState } from '../core/job.js';
import type { JobsIndex } from './jobs-index.js';
import { type Pacer, storedPacer } from './pacer.js';
import { type RecordStore } from '../ports/record-store.js';
import { isConflict } from '../ports/errors.js';

export interface Versioned<T> {
  value: T;
  etag: string;
}

export interface JobSummary {
  id: string;
  state: JobState;
  drop: string;
  updatedAt: string;
}

const MAX_CAS_RETRIES = 20;

/** After a lost race, wait a random while that grows with each loss, so contenders stop colliding. */
function backOff(attempt: number): Promise<void> {
  return sleep(Math.random() * 15 * (attempt + 1));
}

export class Ledger {
  constructor(
    readonly store: RecordStore,
    /** The runtime's clock: pacing decisions use the same time as the job records. */
    private readonly now: () => Date = () => new Date(),
    /** Kept in step with every record write (./jobs-index.ts); none for tools that only read records. */
    readonly index?: JobsIndex,
  ) {}

  private async readVersioned<T>(name: string): Promise<Versioned<T> | undefined> {
    const found = await this.store.read(name);
    return found && { value: JSON.parse(found.text) as T, etag: found.etag };
  }

  private writeJson(
    name: string,
    value: unknown,
    condition: { ifMatch?: string; ifNoneMatch?: '*' },
    metadata?: Record<string, string>,
  ): Promise<string> {
    return this.store.write(name, JSON.stringify(value, null, 2), condition, metadata);
  }

  private static metadata(job: JobRecord): Record<string, string> {
    return { state: job.state, drop: job.drop.key, updated: job.updatedAt };
  }

  async get(id: string): Promise<Versioned<JobRecord> | undefined> {
    return this.readVersioned<JobRecord>(`${id}.json`);
  }

  /** Creates the record unless it exists; `false` when another delivery created it first. */
  async create(job: JobRecord): Promise<boolean> {
    // The marker and the record are written together; a marker left by a losing duplicate names a job
    // that exists anyway, and the sweep drops markers of finished jobs. With an index, a finished job keeps
    // its marker until it is indexed.
    const [, created] = await Promise.all([
      isTerminal(job.state) && !this.index ? undefined : this.store.write(`active/${job.id}`, '', {}),
      this.writeJson(`${job.id}.json`, job, { ifNoneMatch: '*' }, Ledger.metadata(job)).then(
        () => true,
        (err: unknown) => {
          if (isConflict(err)) return false;
          throw err;
        },
      ),
    ]);
    if (created && this.index) await this.indexed(job);
    return created;
  }

  /**
   * Brings the index in step with a record just written, then drops a finished job's marker. An index
   * write that fails leaves the marker, so the sweep repairs it (`reindex`) instead of the caller
   * retrying a record write that already happened.
   */
  private async indexed(job: JobRecord): Promise<void> {
    try {
      await this.index?.put(job);
    } catch (err) {
      console.warn(`job ${job.id}: jobs index not updated (the sweep repairs it): ${(err as Error).message}`);
      return;
    }
    if (isTerminal(job.state)) await this.unmarkActive(job.id);
  }

  /** The sweep's repair: the index shows this record's version (a no-op when it already does). */
  async reindex(job: JobRecord): Promise<void> {
    await this.index?.put(job);
  }

  /** Deletes a finished job's record, then its index rows (retention). */
  async remove(id: string): Promise<void> {
    await this.store.remove(`${id}.json`);
    await this.index?.remove(id);
  }

  /**
   * Lets `change` compute the job's next version and writes it if nobody wrote in between, re-reading
   * and retrying on a lost race. `known` (a version just read or written) saves the first read.
   * `change` returns `undefined` to leave the job as it is.
   */
  async update(
    id: string,
    change: (job: JobRecord) => JobRecord | undefined,
    known?: Versioned<JobRecord>,
  ): Promise<{ before: JobRecord; after: Versioned<JobRecord> } | undefined> {
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const current = i === 0 && known ? known : await this.get(id);
      if (!current) return undefined;
      const next = change(current.value);
      if (!next) return undefined;
      let etag: string;
      try {
        etag = await this.writeJson(`${id}.json`, next, { ifMatch: current.etag }, Ledger.metadata(next));
      } catch (err) {
        if (!isConflict(err)) throw err;
        await backOff(i);
        continue;
      }
      await this.indexed(next);
      return { before: current.value, after: { value: next, etag } };
    }
    throw new Error(`job ${id}: gave up after ${MAX_CAS_RETRIES} conflicting writes`);
  }

  async unmarkActive(id: string): Promise<void> {
    await this.store.remove(`active/${id}`);
  }

  async listActive(): Promise<string[]> {
    const ids: string[] = [];
    for await (const name of this.store.names('active/')) ids.push(name.slice('active/'.length));
    return ids;
  }

  /**
   * Job summaries from the records' metadata (no record is read), in blob-name order: the listing before the
   * jobs index (bench (h)'s baseline, the upgrade's walk and tools that only read records).
   */
  async list(options: {
    state?: JobState;
    limit: number;
    continuationToken?: string;
  }): Promise<{ jobs: JobSummary[]; continuationToken?: string }> {
    const jobs: JobSummary[] = [];
    let token = options.continuationToken;
    do {
      // Only as many as are still missing: a page is never cut, so its token resumes after the last job
      // returned. (Storage counts the `active/`, `pending/`… prefixes in a page, so a page can bring fewer jobs
      // than asked; a whole second page then cut to the limit skipped the rest of it.)
      const page = await this.store.page(options.limit - jobs.length, token);
      for (const blob of page.items) {
        if (!blob.name.endsWith('.json')) continue;
        const state = blob.metadata.state as JobState | undefined;
        if (!state || (options.state && options.state !== state)) continue;
        jobs.push({
          id: blob.name.slice(0, -5),
          state,
          drop: blob.metadata.drop ?? '',
          updatedAt: blob.metadata.updated ?? '',
        });
      }
      token = page.token || undefined;
    } while (token && jobs.length < options.limit);
    return { jobs, ...(token ? { continuationToken: token } : {}) };
  }

  // Drops waiting for a part

  /** Records when a drop was first seen incomplete (the first writer wins, so the deadline never moves). */
  async markPending(dropKey: string, firstSeenAt: Date): Promise<void> {
    try {
      await this.writeJson(
        `pending/${dropKey}`,
        { dropKey, firstSeenAt: firstSeenAt.toISOString() },
        { ifNoneMatch: '*' },
      );
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }

  async removePending(dropKey: string): Promise<void> {
    await this.store.remove(`pending/${dropKey}`);
  }

  async listPending(): Promise<{ dropKey: string; firstSeenAt: Date }[]> {
    const out: { dropKey: string; firstSeenAt: Date }[] = [];
    for await (const name of this.store.names('pending/')) {
      const entry = await this.readVersioned<{ dropKey: string; firstSeenAt: string }>(name);
      if (entry) out.push({ dropKey: entry.value.dropKey, firstSeenAt: new Date(entry.value.firstSeenAt) });
    }
    return out;
  }

  /** The shared schedule of one deployment's model calls (./pacer.ts). */
  pacer(deployment: string, rpm: number): Pacer {
    return storedPacer(this.store, deployment, rpm, () => this.now().getTime());
  }
}

export type { Pacer } from './pacer.js';
