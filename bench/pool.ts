/**
 * (f) the deployment pool: a burst over three emulated deployments ("regions") at different quotas, then
 * the same with one of them failing every call for a third of the run, next to a baseline of one
 * deployment holding the pool's whole quota; each on a quiet machine and beside a CPU-bound process.
 */
import type { EmulatedRegion } from '../local/pool.js';
import { runBurst } from './burst.js';
import { table, type Section } from './measure.js';
import { formatTimeline, timelinesBelow } from './timeline.js';

const REGIONS: EmulatedRegion[] = [
  { region: 'eastus2', rpm: 90 },
  { region: 'westus3', rpm: 60 },
  { region: 'swedencentral', rpm: 30 },
];
const TOTAL_RPM = REGIONS.reduce((a, r) => a + r.rpm, 0);
/** Drops per run; BENCH_POOL_DROPS overrides it for a quick look. */
const D = Number(process.env.BENCH_POOL_DROPS ?? 180);
const OUTAGE_REGION = 'westus3';
/** The quota-bound ideal with everything up: D / ΣR. */
const QUIET_IDEAL = (D / TOTAL_RPM) * 60;
/** The outage lasts a third of the ideal; the ideal then is what the capacity that remained allows. */
const OUTAGE_MS = (QUIET_IDEAL / 3) * 1000;
const OUTAGE_IDEAL =
  QUIET_IDEAL + (REGIONS.find((r) => r.region === OUTAGE_REGION)!.rpm * (OUTAGE_MS / 1000)) / TOTAL_RPM;
/**
 * Calls in flight the host allows: the README's sizing, RPM × seconds per call ÷ 60 (180 × 1.5 / 60 ≈ 5),
 * with room for calls waiting at the send gate.
 */
const CONCURRENCY = 16;

const SCENARIOS = [
  {
    label: `baseline: one deployment of ${TOTAL_RPM} RPM`,
    regions: [{ region: 'eastus2', rpm: TOTAL_RPM }],
    ideal: QUIET_IDEAL,
  },
  { label: 'pool, all up', regions: REGIONS, ideal: QUIET_IDEAL },
  {
    label: `pool, ${OUTAGE_REGION} fails every call for a third`,
    regions: REGIONS,
    ideal: OUTAGE_IDEAL,
    outage: { region: OUTAGE_REGION, ms: OUTAGE_MS },
  },
];

export const poolSection: Section = {
  id: 'f',
  title:
    `(f) deployment pool: D drops over three emulated deployments (${REGIONS.map((r) => `${r.region} ${r.rpm}`).join(', ')} RPM), ` +
    'the host in its own process; quiet and beside a CPU-bound process',
  async run() {
    const header = [
      'run',
      'completion',
      'ideal',
      '× ideal (≤ 1.1)',
      'model calls',
      '429 share (≤ 5 %)',
      'not published (0)',
      'edits by region',
    ];
    const rows = [header];
    const timelines: string[] = [];
    for (const busy of [false, true]) {
      for (const s of SCENARIOS) {
        const r = await runBurst({
          regions: s.regions,
          drops: D,
          busy,
          concurrency: CONCURRENCY,
          ...(s.outage ? { outage: s.outage } : {}),
        });
        const byRegion = s.regions.map((g) => String(r.edits.get(`${g.region}-gpt-image-2`) ?? 0)).join(' / ');
        const label = `${s.label}, ${busy ? 'busy machine' : 'quiet'} (D=${D})`;
        const share = `${(r.share429 * 100).toFixed(1)} %`;
        rows.push([
          label,
          `${r.seconds.toFixed(1)} s`,
          `${s.ideal.toFixed(1)} s`,
          (r.seconds / s.ideal).toFixed(2),
          String(r.calls),
          share,
          String(r.failed),
          byRegion,
        ]);
        timelines.push(`${label}: ${formatTimeline(r.timeline)}`);
        console.error(`  (f) ${rows.at(-1)!.join(' | ')}`); // progress: a run takes a minute
      }
    }
    return table(rows) + timelinesBelow(timelines);
  },
};
