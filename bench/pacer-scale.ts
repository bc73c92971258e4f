/**
 * (g) The pacer across many instances: 8 OS processes (like Flex instances, each with its own storage
 * client and ledger) share one Azurite and one 600 requests-a-minute schedule. Each first reserves a
 * burst at once (intake of a burst of drops spread over the instances), then one slot every 800 ms
 * (600 a minute together). Every instance records its reads and writes of the schedule. Measured in the
 * same run: the single schedule blob (shared/app/pacer.ts), the same batching over time
 * buckets (./sharded-pacer.ts), and with IMAGEGEN_BENCH_BASELINE_BIN set (bin/imagegen-pipeline.js of a
 * build from before), that build's pacer. Then the whole pipeline over 8 host processes (./pipeline-scale.ts), at
 * 600 RPM and at a rate the machine carries.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startLocalStorage } from '../local/environment.js';
import { createStorageClients, ensureStorageLayout } from '../shared/adapters/azure/storage.js';
import { slotIntervalMs } from '../shared/core/pacing.js';
import { ms, percentile, table, type Section } from './measure.js';
import type { Grant, StoreOp } from './pacer-instance.js';
import { pipelineScale } from './pipeline-scale.js';
import { SLOTS_PER_BUCKET } from './sharded-pacer.js';

const INSTANCES = 8;
const RPM = 600;
const BURST_EACH = 40;
const STEADY_EACH = 25;
const STEADY_EVERY_MS = (60_000 / RPM) * INSTANCES;
/**
 * The whole pipeline runs at the 600 RPM and, beside it, at a rate a 2-vCPU machine carries with the
 * hosts, the storage and the emulator all on its cores (about 0.4 CPU-seconds a drop between them, so 600 a
 * minute would need 4 cores): IMAGEGEN_BENCH_SCALE_RPM sets the second.
 */
const PIPELINE_RPMS = [RPM, Number(process.env.IMAGEGEN_BENCH_SCALE_RPM ?? 240)];

interface InstanceResult {
  grants: Grant[];
  ops: StoreOp[];
}

const here = path.dirname(fileURLToPath(import.meta.url));
const OWN_LEDGER = pathToFileURL(path.resolve(here, '../shared/app/ledger.js')).href;

function runInstance(ledgerUrl: string, layout: 'single' | 'sharded', conn: string, i: number) {
  const args = [ledgerUrl, conn, String(i), ...[BURST_EACH, STEADY_EACH, STEADY_EVERY_MS, RPM].map(String), layout];
  const child = spawn(process.execPath, [path.join(here, 'pacer-instance.js'), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return {
    go: () => child.stdin.write('go\n'),
    result: new Promise<InstanceResult>((resolve, reject) =>
      child.once('exit', (code) =>
        code === 0 ? resolve(JSON.parse(out) as InstanceResult) : reject(new Error(`instance ${i} exited ${code}`)),
      ),
    ),
  };
}

export interface ScaleFigures {
  burstSeconds: number;
  grantedPerSecond: number;
  retriesPerSlot: number;
  writes: number;
  failed: number;
  duplicates: number;
  tooClose: number;
  /** The burst's schedule: from the first slot to the last, against back-to-back slots. */
  spanVsIdeal: number;
  burstP50: number;
  burstP95: number;
  steadyP50: number;
  steadyP95: number;
  /** One read and one write of the schedule, as an instance saw them. */
  roundTripP50: number;
}

async function measure(ledgerUrl: string, layout: 'single' | 'sharded'): Promise<ScaleFigures> {
  const storage = await startLocalStorage();
  try {
    const conn = storage.connectionString;
    await ensureStorageLayout(await createStorageClients({ kind: 'connectionString', connectionString: conn }));
    const instances = Array.from({ length: INSTANCES }, (_, i) => runInstance(ledgerUrl, layout, conn, i));
    await new Promise((resolve) => setTimeout(resolve, 4_000)); // let every process load and connect
    for (const inst of instances) inst.go();
    const results = await Promise.all(instances.map((i) => i.result));
    const grants = results.flatMap((r) => r.grants);
    const ops = results.flatMap((r) => r.ops);
    const ok = grants.filter((g) => g.at !== null);
    const slots = ok.map((g) => g.at!).sort((a, b) => a - b);
    const interval = slotIntervalMs(RPM);
    const burst = grants.filter((g) => g.phase === 'burst');
    const burstSlots = burst
      .filter((g) => g.at !== null)
      .map((g) => g.at!)
      .sort((a, b) => a - b);
    const burstTime = Math.max(...burst.map((g) => g.granted)) - Math.min(...burst.map((g) => g.asked));
    const waited = (phase: Grant['phase']) => ok.filter((g) => g.phase === phase).map((g) => g.granted - g.asked);
    const reads = ops.filter((o) => o.op === 'read').map((o) => o.ended - o.started);
    const writes = ops.filter((o) => o.op === 'write');
    return {
      burstSeconds: burstTime / 1000,
      grantedPerSecond: burst.length / (burstTime / 1000),
      retriesPerSlot: writes.filter((o) => o.failed !== undefined).length / Math.max(1, ok.length),
      writes: writes.filter((o) => o.failed === undefined).length,
      failed: grants.length - ok.length,
      duplicates: slots.length - new Set(slots).size,
      tooClose: slots.slice(1).filter((t, k) => t !== slots[k] && t - slots[k]! < interval - 1e-6).length,
      spanVsIdeal: (burstSlots.at(-1)! - burstSlots[0]!) / ((burstSlots.length - 1) * interval),
      burstP50: percentile(waited('burst'), 50),
      burstP95: percentile(waited('burst'), 95),
      steadyP50: percentile(waited('steady'), 50),
      steadyP95: percentile(waited('steady'), 95),
      roundTripP50:
        percentile(reads, 50) +
        percentile(
          writes.map((o) => o.ended - o.started),
          50,
        ),
    };
  } finally {
    await storage.close();
  }
}

function row(label: string, f: ScaleFigures): string[] {
  return [
    label,
    `${f.burstSeconds.toFixed(1)} s`,
    `${f.grantedPerSecond.toFixed(0)}/s`,
    f.retriesPerSlot.toFixed(2),
    String(f.writes),
    f.spanVsIdeal.toFixed(2),
    `${ms(f.burstP50)} / ${ms(f.burstP95)}`,
    `${ms(f.steadyP50)} / ${ms(f.steadyP95)}`,
    ms(f.roundTripP50),
    `${f.failed}`,
    `${f.duplicates}/${f.tooClose}`,
  ];
}

export const pacerScaleSection: Section = {
  id: 'g',
  title:
    `(g) pacer scale: ${INSTANCES} processes, one ${RPM} RPM schedule; ${BURST_EACH} slots each at once, ` +
    `then one each every ${STEADY_EVERY_MS} ms; then the pipeline over ${INSTANCES} host processes`,
  async run() {
    const rows = [
      [
        '',
        'burst granted in',
        'slots/s',
        'CAS retries/slot',
        'writes',
        'burst span/ideal',
        'burst grant p50 / p95',
        'steady grant p50 / p95',
        'read+write p50',
        'failed',
        'dup/too close',
      ],
    ];
    const baseline = process.env.IMAGEGEN_BENCH_BASELINE_BIN;
    if (baseline) {
      // The ledger's place in that build: shared/app/ now, shared/adapters/ before shared/ was split into layers.
      const dist = path.resolve(path.dirname(baseline), '../dist/shared');
      const ledger = ['app/ledger.js', 'adapters/ledger.js'].map((f) => path.join(dist, f)).find((f) => existsSync(f));
      const url = pathToFileURL(ledger ?? path.join(dist, 'app/ledger.js')).href;
      rows.push(row('baseline build', await measure(url, 'single')));
    }
    rows.push(row('one blob per deployment (default)', await measure(OWN_LEDGER, 'single')));
    rows.push(row(`time buckets of ${SLOTS_PER_BUCKET} slots (bench only)`, await measure(OWN_LEDGER, 'sharded')));
    const total = INSTANCES * (BURST_EACH + STEADY_EACH);
    const runs: [string, string][][] = [];
    for (const rpm of PIPELINE_RPMS) runs.push(await pipelineScale(INSTANCES, rpm));
    const pipeline = runs[0]!.map(([label], i) => [label, ...runs.map((r) => r[i]![1])]);
    return (
      `${table(rows)}\n\n${total} reservations each; burst span/ideal is 1.00 with its slots back to back.\n\n` +
      `The whole pipeline over ${INSTANCES} host processes:\n\n` +
      table([['', ...PIPELINE_RPMS.map((r) => `${r} RPM`)], ...pipeline])
    );
  },
};
