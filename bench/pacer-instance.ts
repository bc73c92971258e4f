/**
 * One instance of the (g) benchmark, as its own OS process: reserves slots in the shared schedule with
 * the Ledger of the build named on the command line, and prints when each was asked for and granted.
 * Arguments: <ledger module URL> <connection string> <instance> <burst> <steady> <steady every ms> <rpm>
 */
import type { Ledger as LedgerType } from '../shared/adapters/ledger.js';
import { createStorageClients } from '../shared/adapters/storage.js';
import { CONTAINERS } from '../shared/containers.js';

const [moduleUrl, connectionString, instance, burst, steady, everyMs, rpm] = process.argv.slice(2);
const { containerRecords, Ledger } = (await import(moduleUrl!)) as {
  containerRecords: typeof import('../shared/adapters/ledger.js').containerRecords;
  Ledger: typeof LedgerType;
};
const clients = await createStorageClients({ kind: 'connectionString', connectionString: connectionString! });
const pacer = new Ledger(containerRecords(clients.container(CONTAINERS.jobs))).pacer('scale', Number(rpm));

interface Grant { phase: 'burst' | 'steady'; asked: number; granted: number; at: number | null; error?: string }
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
process.stdout.write(JSON.stringify(grants));
process.exit(0);
