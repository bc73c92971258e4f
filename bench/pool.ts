/**
 * (f) the deployment pool: a burst over three emulated deployments ("regions") at different quotas,
 * then the same with one of them failing every call for a third of the run; each on a quiet machine
 * and with a CPU-bound process beside the pipeline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalPipeline, type LocalPipeline } from '../local/environment.js';
import type { EmulatedRegion } from '../local/pool.js';
import { table, type Section } from './measure.js';
import { pair, terminalWatcher } from './pipeline.js';

const REGIONS: EmulatedRegion[] = [
  { region: 'eastus2', rpm: 90 },
  { region: 'westus3', rpm: 60 },
  { region: 'swedencentral', rpm: 30 },
];
/** Drops per run; BENCH_POOL_DROPS overrides it for a quick look. */
const D = Number(process.env.BENCH_POOL_DROPS ?? 120);
/** The region that goes down, once a third of the drops are done, for a third of the quiet run's ideal. */
const OUTAGE_REGION = 'westus3';

interface Run {
  seconds: number;
  ideal: number;
  calls: number;
  share429: number;
  failed: number;
  byRegion: string;
}

/**
 * Uploads a drop's parts, each retried on a 5xx: on a loaded machine the local storage proxy answers 502
 * now and then, and a lost part would be a drop the bench waits for in vain.
 */
async function drop(p: LocalPipeline, key: string, files: { image: Buffer; mask: Buffer }): Promise<void> {
  const inbox = p.runtime.containers.inbox;
  const parts: [string, Buffer][] = [[`${key}.json`, Buffer.from(JSON.stringify({ prompt: key }))], [`${key}.png`, files.image], [`${key}.mask.png`, files.mask]];
  for (const [name, bytes] of parts) {
    for (let attempt = 1; ; attempt++) {
      try {
        await inbox.getBlockBlobClient(name).uploadData(bytes);
        break;
      } catch (err) {
        if (attempt >= 5 || ((err as { statusCode?: number }).statusCode ?? 0) < 500) throw err;
        await sleep(500 * attempt);
      }
    }
  }
}

/** A process spinning on one core for as long as the run, like a busy neighbour. */
function cpuHog(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

async function burst(outage: boolean, busy: boolean): Promise<Run> {
  const sum = REGIONS.reduce((a, r) => a + r.rpm, 0);
  const quietIdeal = (D / sum) * 60;
  const outageMs = (quietIdeal / 3) * 1000;
  const lost = REGIONS.find((r) => r.region === OUTAGE_REGION)!.rpm;
  // The capacity that remained: the pool's, less the failing region's for a third of the quiet ideal.
  const ideal = outage ? quietIdeal + (lost * (outageMs / 1000)) / sum : quietIdeal;
  const files = await pair(256);
  const watch = terminalWatcher();
  const hog = busy ? cpuHog() : undefined;
  const caDir = path.join(mkdtempSync(path.join(tmpdir(), 'bench-ca-')), 'ca');
  const p = await startLocalPipeline({
    storage: { azurite: {} },
    emulatorPool: { regions: REGIONS, options: { caDir, latency: { min: 500, max: 1500 } } },
    settings: { IMAGE_MODEL_CONCURRENCY: '64' },
    timers: false,
    onLog: watch.onLog,
  });
  try {
    const keys = Array.from({ length: D }, (_, i) => `pool/${i}`);
    const settled = Promise.all(keys.map((k) => watch.settled(k)));
    const start = Date.now();
    // Sixteen uploads at a time: hundreds at once overrun the local storage proxy on a loaded machine.
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < keys.length) await drop(p, keys[next++]!, files);
    }));
    const down = p.emulatorPool!.emulators.get(OUTAGE_REGION)!;
    // The outage starts once a third of the drops are done (on a loaded machine the first calls come late,
    // and an outage timed from the upload could be over before any call reached it).
    const outageDone = outage
      ? (async () => {
          while (watch.ended.size < D / 3) await sleep(200);
          down.setFaults({ http500: 1 });
          await sleep(outageMs);
          down.setFaults({});
        })()
      : Promise.resolve();
    await settled;
    await outageDone;
    const done = Math.max(...keys.map((k) => watch.ended.get(k)?.at ?? Infinity));
    const jobs = await Promise.all(keys.map(async (k) => (await p.runtime.ledger.get(watch.ended.get(k)?.id ?? ''))?.value));
    const calls = [...p.emulatorPool!.emulators.values()].flatMap((e) => e.requests().filter((r) => r.path.endsWith('/images/edits')));
    const edits = new Map<string, number>();
    for (const j of jobs) if (j?.edit?.deployment) edits.set(j.edit.deployment, (edits.get(j.edit.deployment) ?? 0) + 1);
    return {
      seconds: (done - start) / 1000,
      ideal,
      calls: calls.length,
      share429: calls.filter((c) => c.status === 429).length / calls.length,
      failed: jobs.filter((j) => j?.state !== 'published').length,
      byRegion: REGIONS.map((r) => String(edits.get(`${r.region}-gpt-image-2`) ?? 0)).join(' / '),
    };
  } finally {
    hog?.kill();
    await p.close();
  }
}

export const poolSection: Section = {
  id: 'f',
  title: `(f) deployment pool: D drops over three emulated deployments (${REGIONS.map((r) => `${r.region} ${r.rpm}`).join(', ')} RPM), quiet and beside a CPU-bound process`,
  async run() {
    const rows = [['run', 'completion', 'ideal', '× ideal (≤ 1.1)', 'model calls', '429 share (≤ 5 %)', 'not published (0)', `edits by region`]];
    for (const busy of [false, true]) {
      for (const outage of [false, true]) {
        const r = await burst(outage, busy);
        const label = `${outage ? `${OUTAGE_REGION} fails every call for a third` : 'all up'}, ${busy ? 'busy machine' : 'quiet'} (D=${D})`;
        rows.push([label, `${r.seconds.toFixed(1)} s`, `${r.ideal.toFixed(1)} s`, (r.seconds / r.ideal).toFixed(2), String(r.calls), `${(r.share429 * 100).toFixed(1)} %`, String(r.failed), r.byRegion]);
        console.error(`  (f) ${rows.at(-1)!.join(' | ')}`); // progress: a run takes minutes
      }
    }
    return table(rows);
  },
};
