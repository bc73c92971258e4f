/**
 * (g) A sharded schedule, measured beside the single blob of shared/app/pacer.ts: time
 * buckets `pacer/<deployment>/<bucket>.json`, bucket b holding the SLOTS_PER_BUCKET slots from
 * b × SLOTS_PER_BUCKET × interval on, each bucket its own compare-and-swap. A reservation takes the first
 * free slot, not in the past, of the first bucket with room. Batched per instance like the single blob,
 * so the two differ only in the layout. Bench only: it has no throttling (rate cut, epochs), and it
 * recognises a duplicate only in the buckets it reads on the way to a free slot.
 */
import { backOff } from '../shared/app/pacer.js';
import type { RecordStore } from '../shared/ports/record-store.js';
import { isConflict } from '../shared/ports/errors.js';
import { slotIntervalMs } from '../shared/core/pacing.js';

/** 2 s of slots at 600 RPM: a bucket's keys stay a small blob whatever the rate. */
export const SLOTS_PER_BUCKET = 20;
const MAX_CAS_RETRIES = 20;

interface Bucket {
  /** Slots given so far, in order from the bucket's start (a slot passed unused is skipped, not reused). */
  taken: number;
  keys: Record<string, number>;
}

interface Waiting {
  key: string;
  done: (at: number) => void;
  fail: (err: unknown) => void;
}

export class ShardedPacer {
  private readonly interval: number;
  private readonly bucketMs: number;
  private readonly waiting: Waiting[] = [];
  private writing = false;
  /** Buckets below this one are known full (they only fill up), so this instance skips them. */
  private firstWithRoom = 0;

  constructor(
    private readonly store: RecordStore,
    private readonly deployment: string,
    rpm: number,
    private readonly now: () => number = Date.now,
  ) {
    this.interval = slotIntervalMs(rpm);
    this.bucketMs = this.interval * SLOTS_PER_BUCKET;
  }

  reserve(key: string): Promise<{ at: number }> {
    return new Promise((resolve, fail) => {
      this.waiting.push({ key, done: (at) => resolve({ at }), fail });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0);
      try {
        let bucket = Math.max(this.firstWithRoom, Math.floor(this.now() / this.bucketMs));
        while (batch.length > 0) {
          const placed = await this.place(bucket, batch);
          for (const [w, at] of placed) w.done(at);
          batch.splice(0, placed.length);
          if (batch.length > 0) this.firstWithRoom = ++bucket;
        }
      } catch (err) {
        for (const w of batch) w.fail(err);
      }
    }
    this.writing = false;
  }

  /** Gives the first of `batch` the free slots of one bucket, in order; the ones it placed, with their slots. */
  private async place(bucket: number, batch: Waiting[]): Promise<[Waiting, number][]> {
    const name = `pacer/${this.deployment}/${bucket}.json`;
    const startsAt = bucket * this.bucketMs;
    for (let i = 0; i < MAX_CAS_RETRIES; i++) {
      const started = performance.now();
      const found = await this.store.read(name);
      batch.push(...this.waiting.splice(0));
      const state: Bucket = found ? (JSON.parse(found.text) as Bucket) : { taken: 0, keys: {} };
      const notPast = Math.max(0, Math.ceil((this.now() - startsAt) / this.interval));
      const placed: [Waiting, number][] = [];
      const takenBefore = state.taken;
      for (const w of batch) {
        const known = state.keys[w.key];
        if (known !== undefined) {
          placed.push([w, known]);
          continue;
        }
        const index = Math.max(state.taken, notPast);
        if (index >= SLOTS_PER_BUCKET) break;
        const at = startsAt + index * this.interval;
        state.taken = index + 1;
        state.keys[w.key] = at;
        placed.push([w, at]);
      }
      if (state.taken === takenBefore) return placed; // nothing new: only duplicates, or the bucket is full
      try {
        const condition = found ? { ifMatch: found.etag } : { ifNoneMatch: '*' as const };
        await this.store.write(name, JSON.stringify(state), condition);
        return placed;
      } catch (err) {
        if (!isConflict(err)) throw err;
        await backOff(i, performance.now() - started);
      }
    }
    throw new Error(`${name}: gave up after ${MAX_CAS_RETRIES} conflicting writes`);
  }
}
