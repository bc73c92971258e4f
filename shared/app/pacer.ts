/**
 * One deployment's schedule (shared/core/pacing.ts) kept in the `jobs` container as `pacer/<deployment>.json`
 * and updated by ETag compare-and-swap. Many instances share the blob; within one instance, the changes
 * asked for while a write is under way are applied together (one read, one write for a whole batch of
 * reservations): in that write if its read has not returned yet, or if it lost a race, else in the next.
 * Without that, every intake of a burst raced every other one for the same blob, and each lost race cost
 * a read, a write and a back-off (BENCHMARKS.md (g)).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  nextFreeAt,
  observeQuota,
  type PacerState,
  type QuotaSignal,
  releaseJobSlot,
  releaseSlot,
  reserveSlot,
  scheduleFrom,
  type ScheduleView,
  type Slot,
} from '../core/pacing.js';
import type { RecordStore } from '../ports/record-store.js';
import { SingleFlight } from '../core/concurrency/single-flight.js';
import { isConflict } from '../ports/errors.js';

/** One deployment's schedule, bound once per runtime. */
export interface Pacer {
  /** Reserves the next slot for `key`, no earlier than `notBefore` (the same key gets the same slot back). */
  reserve(key: string, notBefore?: number): Promise<Slot>;
  /** Gives back `key`'s slot, for the next reservation to take. */
  release(key: string): Promise<void>;
  /** Gives back the slot at `at` that job `jobId` holds (under whichever key it was reserved). */
  releaseHeld(jobId: string, at: number): Promise<void>;
  /** The schedule's current epoch (see PacerState.epoch). */
  epoch(): Promise<number>;
  /** Epoch ms of the first slot a reservation could get now (a deployment pool compares its members by it). */
  nextFree(): Promise<number>;
  /** Its next free slot, epoch and reservations from `from` on, in one read (a pool re-balances with them). */
  scheduleFrom(from: number): Promise<ScheduleView>;
  observe(signal: QuotaSignal): Promise<void>;
}

/** A change to the schedule; `undefined` leaves it as it is. Called again if the write loses a race. */
type Change = (state: PacerState | undefined) => PacerState | undefined;

interface Waiting {
  change: Change;
  done: () => void;
  fail: (err: unknown) => void;
}

const MAX_CAS_RETRIES = 20;
/** Changes applied in one write at most; the rest wait for the next. */
const MAX_BATCH = 200;

/**
 * After a lost race, wait a random while that grows with each loss, so contenders stop colliding: in
 * units of how long a read and a write took, since on a busy machine (or a distant storage account) a
 * fixed few milliseconds would send every loser straight back into the same collision.
 */
export function backOff(attempt: number, roundTripMs: number): Promise<void> {
  return sleep(Math.random() * Math.max(15, roundTripMs) * Math.min(attempt + 1, 4));
}

/** Serialises one instance's changes to one schedule blob, batching those that arrive meanwhile. */
class ScheduleWriter {
  private readonly waiting: Waiting[] = [];
  private writing = false;
  private readonly reads = new SingleFlight<PacerState | undefined>();

  constructor(
    private readonly store: RecordStore,
    private readonly name: string,
  ) {}

  apply(change: Change): Promise<void> {
    return new Promise((done, fail) => {
      this.waiting.push({ change, done, fail });
      if (!this.writing) void this.drain();
    });
  }

  /** The schedule as stored; concurrent callers share one read (the writes below read on their own). */
  read(): Promise<PacerState | undefined> {
    return this.reads.run(this.name, async () => {
      const found = await this.store.read(this.name);
      return found && (JSON.parse(found.text) as PacerState);
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      const batch: Waiting[] = [];
      try {
        await this.write(batch);
        for (const w of batch) w.done();
      } catch (err) {
        for (const w of batch) w.fail(err);
      }
    }
    this.writing = false;
  }

  /**
   * Writes `batch`, taking into it, after every read, the changes that arrived meanwhile: otherwise a
   * burst's first reservation goes alone into each instance's first write (and into every retry of it
   * after a lost race) while the rest wait, each such write moves the schedule on by one slot only, and
   * the slots that pass while it is retried are lost, since a slot is never in the past (BENCHMARKS.md (g)).
   */
  private async write(batch: Waiting[]): Promise<void> {
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const started = performance.now();
      const found = await this.store.read(this.name);
      batch.push(...this.waiting.splice(0, MAX_BATCH - batch.length));
      const start = found ? (JSON.parse(found.text) as PacerState) : undefined;
      let state = start;
      for (const { change } of batch) state = change(state) ?? state;
      if (state === start) return;
      try {
        const condition = found ? { ifMatch: found.etag } : { ifNoneMatch: '*' as const };
        await this.store.write(this.name, JSON.stringify(state), condition);
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
        await backOff(i, performance.now() - started);
      }
    }
    throw new Error(`${this.name}: gave up after ${MAX_CAS_RETRIES} conflicting writes`);
  }
}

/** One writer per store and schedule, however many times a runtime asks for the pacer. */
const writers = new WeakMap<RecordStore, Map<string, ScheduleWriter>>();

function writerFor(store: RecordStore, name: string): ScheduleWriter {
  let byName = writers.get(store);
  if (!byName) writers.set(store, (byName = new Map()));
  let writer = byName.get(name);
  if (!writer) byName.set(name, (writer = new ScheduleWriter(store, name)));
  return writer;
}

export function storedPacer(store: RecordStore, deployment: string, rpm: number, now: () => number): Pacer {
  const writer = writerFor(store, `pacer/${deployment}.json`);
  return {
    async reserve(key, notBefore) {
      let slot: Slot = { at: now(), epoch: 0 };
      await writer.apply((state) => {
        const r = reserveSlot(state, now(), rpm, key, notBefore);
        slot = r.slot;
        return r.next;
      });
      return slot;
    },
    epoch: async () => (await writer.read())?.epoch ?? 0,
    release: (key) => writer.apply((state) => releaseSlot(state, now(), key)),
    releaseHeld: (jobId, at) => writer.apply((state) => releaseJobSlot(state, now(), jobId, at)),
    nextFree: async () => nextFreeAt(await writer.read(), now()),
    scheduleFrom: async (from) => scheduleFrom(await writer.read(), now(), from),
    observe: (signal) => writer.apply((state) => observeQuota(state, now(), rpm, signal)),
  };
}
