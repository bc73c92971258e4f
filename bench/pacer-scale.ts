/**
 * (g) The pacer across many instances: 8 OS processes (like Flex instances, each with its own storage
 * client and ledger) share one Azurite and one 600 requests-a-minute schedule. Each first reserves a
 * burst at once (intake of a burst of drops spread over the instances), then one slot every 800 ms
 * (600 a minute together). A counting proxy between them and storage sees every compare-and-swap.
 * With IMAGEGEN_BENCH_BASELINE_BIN set (bin/imagegen-pipeline.js of a build from before), that build's
 * pacer runs too, in the same run.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startLocalStorage } from '../local/environment.js';
import { connectionString, DEV_ACCOUNT } from '../local/storage/azurite.js';
import { startObservingProxy } from '../local/storage/proxy.js';
import { createStorageClients, ensureStorageLayout } from '../shared/adapters/storage.js';
import { slotIntervalMs } from '../shared/pacing.js';
import { ms, percentile, table, type Section } from './measure.js';

const INSTANCES = 8;
const RPM = 600;
const BURST_EACH = 40;
const STEADY_EACH = 25;
const STEADY_EVERY_MS = (60_000 / RPM) * INSTANCES;

interface Grant {
  phase: 'burst' | 'steady';
  asked: number;
  granted: number;
  at: number | null;
  error?: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const OWN_LEDGER = pathToFileURL(path.resolve(here, '../shared/adapters/ledger.js')).href;

function runInstance(ledgerUrl: string, conn: string, i: number): { go(): void; result: Promise<Grant[]> } {
  const child = spawn(
    process.execPath,
    [path.join(here, 'pacer-instance.js'), ledgerUrl, conn, String(i)].concat(
      [BURST_EACH, STEADY_EACH, STEADY_EVERY_MS, RPM].map(String),
    ),
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return {
    go: () => child.stdin.write('go\n'),
    result: new Promise((resolve, reject) =>
      child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Grant[]) : reject(new Error(`instance ${i} exited ${code}`)))),
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
  steadyP50: number;
  steadyP95: number;
}

async function measure(ledgerUrl: string): Promise<ScaleFigures> {
  const storage = await startLocalStorage();
  const writes: number[] = [];
  const blob = new URL(/BlobEndpoint=([^;]+)/.exec(storage.connectionString)![1]!);
  const counter = await startObservingProxy({
    target: blob.origin,
    onCompleted: (req, res) => {
      if (req.method === 'PUT' && /\/jobs\/pacer\//.test(req.url ?? '')) writes.push(res.statusCode ?? 0);
    },
  });
  try {
    const conn = connectionString(`http://127.0.0.1:${counter.port}/${DEV_ACCOUNT}`, storage.queueEndpoint);
    await ensureStorageLayout(await createStorageClients({ kind: 'connectionString', connectionString: conn }));
    const instances = Array.from({ length: INSTANCES }, (_, i) => runInstance(ledgerUrl, conn, i));
    await new Promise((resolve) => setTimeout(resolve, 4_000)); // let every process load and connect
    for (const inst of instances) inst.go();
    const grants = (await Promise.all(instances.map((i) => i.result))).flat();
    const ok = grants.filter((g) => g.at !== null);
    const slots = ok.map((g) => g.at!).sort((a, b) => a - b);
    const interval = slotIntervalMs(RPM);
    const burst = grants.filter((g) => g.phase === 'burst');
    const burstSlots = burst.filter((g) => g.at !== null).map((g) => g.at!).sort((a, b) => a - b);
    const burstTime = Math.max(...burst.map((g) => g.granted)) - Math.min(...burst.map((g) => g.asked));
    const steady = grants.filter((g) => g.phase === 'steady' && g.at !== null).map((g) => g.granted - g.asked);
    return {
      burstSeconds: burstTime / 1000,
      grantedPerSecond: burst.length / (burstTime / 1000),
      retriesPerSlot: writes.filter((s) => s === 412 || s === 409).length / Math.max(1, ok.length),
      writes: writes.filter((s) => s === 201).length,
      failed: grants.length - ok.length,
      duplicates: slots.length - new Set(slots).size,
      tooClose: slots.slice(1).filter((t, k) => t !== slots[k] && t - slots[k]! < interval - 1).length,
      spanVsIdeal: (burstSlots.at(-1)! - burstSlots[0]!) / ((burstSlots.length - 1) * interval),
      steadyP50: percentile(steady, 50),
      steadyP95: percentile(steady, 95),
    };
  } finally {
    await counter.close();
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
    `${ms(f.steadyP50)} / ${ms(f.steadyP95)}`,
    `${f.failed}`,
    `${f.duplicates}/${f.tooClose}`,
  ];
}

export const pacerScaleSection: Section = {
  id: 'g',
  title:
    `(g) pacer scale: ${INSTANCES} processes, one ${RPM} RPM schedule; ${BURST_EACH} slots each at once, ` +
    `then one each every ${STEADY_EVERY_MS} ms`,
  async run() {
    const rows = [
      ['', 'burst granted in', 'slots/s', 'CAS retries/slot', 'writes', 'burst span/ideal', 'steady grant p50 / p95', 'failed', 'dup/too close'],
    ];
    const baseline = process.env.IMAGEGEN_BENCH_BASELINE_BIN;
    if (baseline) {
      const url = pathToFileURL(path.resolve(path.dirname(baseline), '../dist/shared/adapters/ledger.js')).href;
      rows.push(row('baseline build: one CAS per reservation', await measure(url)));
    }
    rows.push(row('this build: reservations batched per instance', await measure(OWN_LEDGER)));
    const total = INSTANCES * (BURST_EACH + STEADY_EACH);
    return `${table(rows)}\n\n${total} reservations; ideal burst span/ideal is 1.00 (slots back to back from the first).`;
  },
};
