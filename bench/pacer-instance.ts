/**
 * One instance of the (g) benchmark, as its own OS process: reserves slots in the shared schedule with
 * the Ledger of the build named on the command line, and prints when each was asked for and granted,
 * and every read and write of the schedule it made (to tell round trips from waiting and lost races).
 * Arguments: <ledger module URL> <connection string> <instance> <burst> <steady> <steady every ms> <rpm>
 * [sharded]: with `sharded`, the time-bucketed schedule of ./sharded-pacer.ts instead of the Ledger's.
 */
import type { Ledger as LedgerType } from '../shared/app/ledger.js';
import type { RecordStore } from '../shared/ports/record-store.js';
import { createStorageClients } from '../shared/adapters/azure/storage.js';
import { containerRecords } from '../shared/adapters/azure/blob-records.js';
import { ConditionFailed } from '../shared/ports/errors.js';
import { CONTAINERS } from '../shared/core/containers.js';
import { ShardedPacer } from './sharded-pacer.js';

const [moduleUrl, connectionString, instance, burst, steady, everyMs, rpm, layout] = process.argv.slice(2);
const { Ledger } = (await import(moduleUrl!)) as { Ledger: typeof LedgerType };

export interface StoreOp {
  op: 'read' | 'write';
  started: number;
  ended: number;
  /** A failed write: `lost` when it lost a race (ConditionFailed), else `error`. */
  failed?: 'lost' | 'error';
}
const ops: StoreOp[] = [];
function observed(store: RecordStore): RecordStore {
  return {
    ...store,
    async read(name) {
      const started = Date.now();
      const found = await store.read(name);
      if (name.startsWith('pacer/')) ops.push({ op: 'read', started, ended: Date.now() });
      return found;
    },
    async write(name, text, condition, metadata) {
      const started = Date.now();
      const pacer = name.startsWith('pacer/');
      try {
        const etag = await store.write(name, text, condition, metadata);
        if (pacer) ops.push({ op: 'write', started, ended: Date.now() });
        return etag;
      } catch (err) {
        const failed = err instanceof ConditionFailed ? 'lost' : 'error';
        if (pacer) ops.push({ op: 'write', started, ended: Date.now(), failed });
        throw err;
      }
    },
  };
}

const clients = await createStorageClients({ kind: 'connectionString', connectionString: connectionString! });
const store = observed(containerRecords(clients.container(CONTAINERS.jobs)));
const pacer: { reserve(key: string): Promise<{ at: number }> } =
  layout === 'sharded' ? new ShardedPacer(store, 'scale', Number(rpm)) : new Ledger(store).pacer('scale', Number(rpm));

export interface Grant {
  phase: 'burst' | 'steady';
  asked: number;
  granted: number;
  at: number | null;
  error?: string;
}
const grants: Grant[] = [];
async function reserve(phase: Grant['phase'], key: string): Promise<void> {
  const asked = Date.now();
  try {
    const slot = await pacer.reserve(key);
    grants.push({ phase, asked, granted: Date.now(), at: slot.at });
  } catch (err) {
    grants.push({ phase, asked, granted: Date.now(), at: null, error: (err as Error).message });
  }
}
// Wait for the parent's go, so every instance starts its burst at the same moment.
await new Promise((resolve) => process.stdin.once('data', resolve));
await Promise.all(Array.from({ length: Number(burst) }, (_, i) => reserve('burst', `b-${instance}-${i}:0`)));
const pending: Promise<void>[] = [];
for (let i = 0; i < Number(steady); i++) {
  pending.push(reserve('steady', `s-${instance}-${i}:0`));
  await new Promise((resolve) => setTimeout(resolve, Number(everyMs)));
}
await Promise.all(pending);
process.stdout.write(JSON.stringify({ grants, ops }));
process.exit(0);
