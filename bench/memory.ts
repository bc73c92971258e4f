/**
 * (d) Peak RSS of the local Functions host (a child process) with 16 jobs of 1536x1024 images in flight:
 * answers spread over 4–12 s (as the service's latency spreads them), and answers that come back
 * together (a fixed latency), when every call's answer is being received and written at once.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { startEmulator } from '../local/emulator/server.js';
import { startLocalStorage, subscriptionsFor } from '../local/environment.js';
import { freePort, spawnHost } from '../local/host/child.js';
import { Ledger, type JobSummary } from '../shared/app/ledger.js';
import { containerRecords } from '../shared/adapters/azure/blob-records.js';
import { createStorageClients, ensureStorageLayout } from '../shared/adapters/azure/storage.js';
import { CONTAINERS } from '../shared/core/containers.js';
import { mb, table, type Section } from './measure.js';

const JOBS = 16;

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/**
 * An earlier build (bin/imagegen-pipeline.js of a built checkout, e.g. commit 5b1f901 from before any
 * streaming, or 6a0ddf6 from before the answer was streamed into storage), measured beside this one.
 */
const BASELINE_BIN = process.env.IMAGEGEN_BENCH_BASELINE_BIN;

const LATENCY = { spread: { min: 4_000, max: 12_000 }, together: { min: 8_000, max: 8_000 } };

/** Runs a fresh host with the given model concurrency through JOBS drops; its idle and peak RSS. */
async function measure(
  concurrency: number,
  answers: keyof typeof LATENCY,
  files: { image: Buffer; mask: Buffer },
  bin?: string,
): Promise<{ idle: number; peak: number; calling: number }> {
  const storage = await startLocalStorage();
  const caDir = path.join(mkdtempSync(path.join(tmpdir(), 'bench-ca-')), 'ca');
  const emulator = await startEmulator({ caDir, rpm: 1_000_000, latency: LATENCY[answers], apiKey: 'k' });
  const clients = await createStorageClients({ kind: 'connectionString', connectionString: storage.connectionString });
  await ensureStorageLayout(clients);
  const port = await freePort();
  storage.eventGrid.setSubscriptions(subscriptionsFor(`http://127.0.0.1:${port}`));
  let host: ChildProcess | undefined;
  try {
    host = await spawnHost({
      port,
      ...(bin ? { bin } : {}),
      args: ['--no-timers'],
      env: {
        ...process.env,
        AzureWebJobsStorage: storage.connectionString,
        AZURE_OPENAI_ENDPOINT: emulator.url,
        AZURE_OPENAI_API_KEY: 'k',
        EXTRA_TRUST_ANCHORS: emulator.caPem,
        IMAGE_MODEL_RPM: '100000',
        IMAGE_MODEL_CONCURRENCY: String(concurrency),
      },
    });
    await sleep(500);
    const idle = status(host.pid!, 'VmRSS');
    const inbox = clients.container(CONTAINERS.inbox);
    await Promise.all(
      Array.from({ length: JOBS }, async (_, i) => {
        await inbox
          .getBlockBlobClient(`mem/${i}.json`)
          .uploadData(Buffer.from(JSON.stringify({ prompt: `memory ${i}`, size: '1536x1024' })));
        await inbox.getBlockBlobClient(`mem/${i}.png`).uploadData(files.image);
        await inbox.getBlockBlobClient(`mem/${i}.mask.png`).uploadData(files.mask);
      }),
    );
    const ledger = new Ledger(containerRecords(clients.container(CONTAINERS.jobs)));
    for (let i = 0; i < 300; i++) {
      // A busy machine's storage may answer one poll with an error: the next poll looks again.
      const { jobs } = await ledger.list({ limit: 100 }).catch(() => ({ jobs: [] as JobSummary[] }));
      if (jobs.length === JOBS && jobs.every((j) => j.state === 'published')) break;
      await sleep(500);
    }
    const peak = status(host.pid!, 'VmHWM');
    const published = (await ledger.list({ limit: 100 })).jobs.filter((j) => j.state === 'published').length;
    if (published < JOBS) throw new Error(`only ${published} of ${JOBS} jobs were published`);
    // Calls in flight at once, from the emulator's record of when each started and ended.
    const spans = emulator.requests().map((r) => [Date.parse(r.at) - r.durationMs, Date.parse(r.at)] as const);
    const calling = Math.max(0, ...spans.map(([start]) => spans.filter(([s, e]) => s <= start && start < e).length));
    return { idle, peak, calling };
  } finally {
    host?.kill('SIGKILL');
    await emulator.close();
    await storage.close();
  }
}

export const memorySection: Section = {
  id: 'd',
  title: `(d) peak RSS of the local Functions host with ${JOBS} jobs of 1536x1024 images in flight (target ≤ 300 MB)`,
  async run() {
    const raw = randomBytes(1536 * 1024 * 3); // noise compresses like nothing: the largest PNG this size can be
    const image = await sharp(raw, { raw: { width: 1536, height: 1024, channels: 3 } })
      .png()
      .toBuffer();
    const maskRaw = Buffer.alloc(1536 * 1024 * 4, 255);
    for (let i = 3; i < maskRaw.length / 2; i += 4) maskRaw[i] = 0;
    const mask = await sharp(maskRaw, { raw: { width: 1536, height: 1024, channels: 4 } })
      .png()
      .toBuffer();
    const rows = [['', 'RSS']];
    const builds = BASELINE_BIN
      ? [
          ['baseline build', BASELINE_BIN],
          ['this build', undefined],
        ]
      : [['', undefined]];
    const runs = [
      [JOBS, 'spread'],
      [JOBS, 'together'],
      [4, 'spread'],
    ] as const;
    // Interleaved, so load drift on a shared machine weighs on both builds alike.
    for (const [concurrency, answers] of runs) {
      for (const [label, bin] of builds) {
        const r = await measure(concurrency, answers, { image, mask }, bin);
        const which = label ? `${label}, ` : '';
        if (concurrency === 4) rows.push([`${which}idle after start-up`, mb(r.idle)]);
        const setting = `IMAGE_MODEL_CONCURRENCY ${concurrency}${concurrency === 4 ? ' (default)' : ''}`;
        const when = answers === 'together' ? 'answers all after 8 s' : 'answers after 4-12 s';
        const jobs = `${JOBS} jobs (${(image.length / 1e6).toFixed(1)} MB inputs)`;
        rows.push([`${which}peak, ${jobs}, ${setting}, ${when}: ${r.calling} calls at once`, mb(r.peak)]);
      }
    }
    return table(rows);
  },
};
