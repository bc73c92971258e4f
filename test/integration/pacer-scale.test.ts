/**
 * The pacer's invariants at 600 RPM across 8 instances (each its own storage client and ledger, as
 * separate host processes have) against one Azurite: no slot given twice or closer than the interval,
 * nobody starved, a burst's slots back to back from its first; and the same invariants for the
 * time-bucketed schedule the benchmark measures beside it (bench/sharded-pacer.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShardedPacer } from '../../bench/sharded-pacer.js';
import { startLocalStorage, type LocalStorage } from '../../local/environment.js';
import { Ledger } from '../../shared/app/ledger.js';
import { createStorageClients, ensureStorageLayout } from '../../shared/adapters/azure/storage.js';
import { slotIntervalMs } from '../../shared/core/pacing.js';
import { instanceStores } from '../helpers/instance-stores.js';

const INSTANCES = 8;
const RPM = 600;
const interval = slotIntervalMs(RPM);

describe('the pacer at 600 RPM across 8 instances', () => {
  let storage: LocalStorage;
  beforeAll(async () => {
    storage = await startLocalStorage();
    const conn = storage.connectionString;
    await ensureStorageLayout(await createStorageClients({ kind: 'connectionString', connectionString: conn }));
  });
  afterAll(async () => storage?.close());

  const stores = () => instanceStores(storage.connectionString, INSTANCES);

  function expectDistinctAndSpaced(slots: number[]): number[] {
    const sorted = [...slots].sort((a, b) => a - b);
    expect(new Set(sorted).size).toBe(slots.length);
    const gaps = sorted.slice(1).map((t, k) => t - sorted[k]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(interval - 1e-6);
    return sorted;
  }

  it('lays a burst asked for at once on 8 instances back to back, one write per instance', async () => {
    const instances = await stores();
    const slots = await Promise.all(
      instances.flatMap(({ store }, i) => {
        const pacer = new Ledger(store).pacer('burst-at-once', RPM);
        return Array.from({ length: 40 }, (_, j) => pacer.reserve(`job-${i}-${j}:0`).then((s) => s.at));
      }),
    );
    const sorted = expectDistinctAndSpaced(slots);
    expect((sorted.at(-1)! - sorted[0]!) / ((sorted.length - 1) * interval)).toBeLessThanOrEqual(1.1);
    // Each instance's 40 reservations went into the write its first one started.
    for (const { writes } of instances) expect(writes.ok).toBe(1);
  }, 30_000);

  it('grants every reservation of a trickling burst, each its own slot, none too close', async () => {
    const instances = await stores();
    const slots = await Promise.all(
      instances.flatMap(({ store }, i) => {
        const pacer = new Ledger(store).pacer('burst-trickling', RPM);
        return Array.from({ length: 20 }, async (_, j) => {
          await sleep(Math.random() * 1_500);
          return (await pacer.reserve(`job-${i}-${j}:0`)).at;
        });
      }),
    );
    expectDistinctAndSpaced(slots);
  }, 30_000);

  it('keeps the same invariants with the schedule sharded into time buckets (bench only)', async () => {
    const instances = await stores();
    const slots = await Promise.all(
      instances.flatMap(({ store }, i) => {
        const pacer = new ShardedPacer(store, 'sharded', RPM);
        return Array.from({ length: 25 }, async (_, j) => {
          await sleep(Math.random() * 500);
          return (await pacer.reserve(`job-${i}-${j}:0`)).at;
        });
      }),
    );
    const sorted = expectDistinctAndSpaced(slots);
    expect(sorted[0]!).toBeGreaterThan(Date.now() - 30_000);
  }, 30_000);
});
