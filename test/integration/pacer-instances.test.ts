/**
 * The schedule shared by many instances: each instance has its own storage client and ledger (as
 * separate host processes do), all reserving slots of one deployment in the same blob at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStorage, type LocalStorage } from '../../local/environment.js';
import { Ledger } from '../../shared/app/ledger.js';
import { createStorageClients, ensureStorageLayout } from '../../shared/adapters/azure/storage.js';
import { slotIntervalMs } from '../../shared/core/pacing.js';
import { instanceStores } from '../helpers/instance-stores.js';

const INSTANCES = 8;
const PER_INSTANCE = 40;
const RPM = 600;

describe('the pacer across instances', () => {
  let storage: LocalStorage;
  beforeAll(async () => {
    storage = await startLocalStorage();
    await ensureStorageLayout(
      await createStorageClients({ kind: 'connectionString', connectionString: storage.connectionString }),
    );
  });
  afterAll(async () => storage?.close());

  const instances = async () =>
    (await instanceStores(storage.connectionString, INSTANCES)).map(({ store }) => new Ledger(store));

  it('gives every job its own slot, evenly spaced, with nobody starved, in a burst from 8 instances', async () => {
    const stores = await instanceStores(storage.connectionString, INSTANCES);
    const ledgers = stores.map(({ store }) => new Ledger(store));
    const started = Date.now();
    const slots = await Promise.all(
      ledgers.flatMap((ledger, i) => {
        const pacer = ledger.pacer('burst', RPM);
        return Array.from({ length: PER_INSTANCE }, (_, j) => pacer.reserve(`job-${i}-${j}:0`).then((s) => s.at));
      }),
    );
    const elapsed = Date.now() - started;
    const sorted = [...slots].sort((a, b) => a - b);
    expect(new Set(sorted).size).toBe(INSTANCES * PER_INSTANCE);
    const gaps = sorted.slice(1).map((t, k) => t - sorted[k]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(slotIntervalMs(RPM) - 1e-6);
    // Granted faster than the 600 a minute they schedule, one write for many slots.
    expect(elapsed).toBeLessThan(((slots.length - 1) * 60_000) / RPM);
    const writes = stores.reduce((sum, { writes }) => sum + writes.ok, 0);
    expect(writes).toBeLessThan(slots.length / 4);
  }, 60_000);

  it('hands a duplicate delivery on another instance the slot its twin reserved', async () => {
    const [a, b] = await instances();
    const first = await a!.pacer('dupes', RPM).reserve('job-x:0');
    await a!.pacer('dupes', RPM).reserve('job-y:0');
    const again = await b!.pacer('dupes', RPM).reserve('job-x:0');
    expect(again).toEqual(first);
  });

  it('applies a throttling signal from one instance to the slots the others reserve next', async () => {
    const [a, b] = await instances();
    const before = await a!.pacer('throttled', RPM).reserve('job-1:0');
    await b!.pacer('throttled', RPM).observe({ retryAfterMs: 5_000 });
    const after = await a!.pacer('throttled', RPM).reserve('job-2:0');
    expect(after.epoch).toBe(before.epoch + 1);
    expect(after.at - Date.now()).toBeGreaterThan(3_000);
  });
});
