/**
 * `npm run demo`: a fresh pipeline on free ports, Azurite persisted to a throwaway folder as `npm start`
 * runs it, and no sweep, so everything is published on its event. Drops the samples (drawn into
 * `out/demo-drops/`), writes one uncredentialed image straight into `edited/`, waits until everything settles,
 * prints a table, mirrors the results to `out/demo/`, and exits 0 only when each sample ended where it
 * should.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTAINERS } from '../shared/core/containers.js';
import { isTerminal, type JobRecord } from '../shared/core/job.js';
import { parse } from './cli.js';
import { startLocalPipeline, type LocalPipeline } from './environment.js';
import { BLOCKED_WORD, SAMPLES, uncredentialedImage, writeSamples } from './samples.js';
import { startDropSync, startMirror } from './sync.js';

const FORGED = 'forged/no-credentials.png';

/** `--out /tmp/x` is shown as given, `--out x` as ./x. */
const shown = (dir: string) => (path.isAbsolute(dir) ? dir : `./${dir}`);
const TIMEOUT_MS = 90_000;

type Runtime = LocalPipeline['runtime'];
type Row = [string, string, string, string];

/** The newest job of each sample drop. */
async function latestJobs(rt: Runtime): Promise<Map<string, JobRecord>> {
  const byDrop = new Map<string, JobRecord>();
  const { jobs } = await rt.ledger.list({ limit: 500 });
  for (const summary of jobs) {
    const job = (await rt.ledger.get(summary.id))?.value;
    const known = job && byDrop.get(job.drop.key);
    if (job && (!known || known.createdAt < job.createdAt)) byDrop.set(job.drop.key, job);
  }
  return byDrop;
}

const forgedReport = (rt: Runtime) => rt.containers.quarantine.getBlobClient('forged/no-credentials.provenance.json');

/** Waits until every sample's job is terminal and the forged image is judged, or TIMEOUT_MS. */
async function settledJobs(rt: Runtime): Promise<Map<string, JobRecord>> {
  const deadline = Date.now() + TIMEOUT_MS;
  let jobs = await latestJobs(rt);
  while (Date.now() < deadline) {
    jobs = await latestJobs(rt);
    if (
      SAMPLES.every((s) => jobs.get(s.drop) && isTerminal(jobs.get(s.drop)!.state)) &&
      (await forgedReport(rt).exists())
    )
      break;
    await sleep(250);
  }
  return jobs;
}

/** Each sample's row: where it was expected to end and where it did. */
function sampleRows(jobs: Map<string, JobRecord>): { rows: Row[]; ok: boolean } {
  const rows: Row[] = [];
  let ok = true;
  for (const s of SAMPLES) {
    const job = jobs.get(s.drop);
    const got = job?.state ?? 'no job';
    const pass = got === s.expected;
    ok &&= pass;
    const detail =
      job?.state === 'published'
        ? `${job.publish?.blob} + ${job.publish?.report} (by ${job.publish?.by})`
        : (job?.problems?.[0] ?? job?.error?.message ?? s.why);
    rows.push([s.drop, s.expected, `${pass ? '✓' : '✗'} ${got}`, detail]);
  }
  return { rows, ok };
}

/** The row of the image written straight into edited/ without credentials. */
async function forgedRow(rt: Runtime): Promise<{ row: Row; ok: boolean }> {
  const forged = await forgedReport(rt).exists();
  let forgedWhy = 'no report';
  if (forged) {
    const report = JSON.parse((await forgedReport(rt).downloadToBuffer()).toString('utf8')) as { reasons: string[] };
    forgedWhy = report.reasons[0] ?? '';
  }
  const result = `${forged ? '✓' : '✗'} ${forged ? 'quarantined' : 'not judged'}`;
  return { row: [`edited/${FORGED}`, 'quarantined', result, forgedWhy], ok: forged };
}

function printTable(rows: Row[]): void {
  const widths = rows[0]!.map((_, i) => Math.min(60, Math.max(...rows.map((r) => r[i]!.length))));
  const line = (r: string[]) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  process.stdout.write(
    `\n${line(rows[0]!)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.slice(1).map(line).join('\n')}\n\n`,
  );
}

export async function run(args: string[]): Promise<number> {
  const { values } = parse(args, { samples: { type: 'string' }, out: { type: 'string' } });
  const samplesDir = values.samples ?? 'out/demo-drops';
  const outDir = values.out ?? 'out/demo';
  process.stdout.write(`Drawing the samples into ${shown(samplesDir)}/ …\n`);
  await writeSamples(samplesDir);
  const pipeline = await startLocalPipeline({
    storage: { azurite: { location: mkdtempSync(path.join(tmpdir(), 'imagegen-demo-')) } },
    emulator: { rpm: 600, blockWords: [BLOCKED_WORD] },
    settings: { IMAGE_MODEL_RPM: '600', DROP_SETTLE: '1s' },
    timers: false,
  });
  const rt = pipeline.runtime;
  const sync = startDropSync({ dir: samplesDir, inbox: rt.containers.inbox, intervalMs: 200 });
  await rt.containers.edited
    .getBlockBlobClient(FORGED)
    .uploadData(await uncredentialedImage(), { blobHTTPHeaders: { blobContentType: 'image/png' } });

  const jobs = await settledJobs(rt);
  await sync.close();
  const mirror = startMirror({
    containers: Object.values(CONTAINERS).map((c) => rt.storage.container(c)),
    dir: outDir,
  });
  await sleep(300);
  await mirror.close();

  const samples = sampleRows(jobs);
  const forged = await forgedRow(rt);
  const ok = samples.ok && forged.ok;
  printTable([['drop', 'expected', 'result', 'where / why'], ...samples.rows, forged.row]);
  process.stdout.write(
    `Results mirrored to ${shown(outDir)}/ (published/, quarantine/, rejected/ and the jobs/ ledger).\n`,
  );
  process.stdout.write(
    ok ? 'Demo passed: every sample ended where it should.\n' : 'Demo FAILED: see the table above.\n',
  );
  await pipeline.close();
  return ok ? 0 : 1;
}
