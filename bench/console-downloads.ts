/**
 * (j) Peak RSS of the local Functions host (a child process) while 8 browsers download a 50 MB file from
 * the console at once: the build before (each file read whole into memory, no cap) beside this one
 * (streamed from storage, at most CONSOLE_MAX_TRANSFERS at once), in one run. The file is a rejected
 * job's input, served by the same code as a result.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { startLocalStorage, subscriptionsFor } from '../local/environment.js';
import { freePort, spawnHost } from '../local/host/child.js';
import { Ledger } from '../shared/app/ledger.js';
import { containerRecords } from '../shared/adapters/azure/blob-records.js';
import { createStorageClients, ensureStorageLayout } from '../shared/adapters/azure/storage.js';
import { CONTAINERS } from '../shared/core/containers.js';
import { mb, table, type Section } from './measure.js';

const DOWNLOADS = 8;
const FILE_BYTES = 50 * 1024 * 1024;
/** An earlier build's bin/imagegen-pipeline.js (e.g. commit 73c07a9, before streaming), measured beside this one. */
const BASELINE_BIN = process.env.IMAGEGEN_BENCH_BASELINE_BIN;

const rss = (pid: number, field: 'VmRSS' | 'VmHWM') =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

/** Downloads the file `DOWNLOADS` times at once; the host's peak RSS and the answers' statuses. */
async function measure(
  env: NodeJS.ProcessEnv,
  port: number,
  jobId: string,
  bin?: string,
): Promise<{ idle: number; peak: number; statuses: number[] }> {
  let host: ChildProcess | undefined;
  try {
    host = await spawnHost({ port, env, args: ['--no-timers'], ...(bin ? { bin } : {}) });
    await sleep(500);
    const idle = rss(host.pid!, 'VmRSS');
    const url = `http://127.0.0.1:${port}/api/console/api/file/${jobId}?part=input`;
    const statuses = await Promise.all(
      Array.from({ length: DOWNLOADS }, async () => {
        const res = await fetch(url);
        const bytes = (await res.arrayBuffer()).byteLength;
        if (res.status === 200 && bytes < FILE_BYTES) throw new Error(`a download ended after ${bytes} bytes`);
        return res.status;
      }),
    );
    return { idle, peak: rss(host.pid!, 'VmHWM'), statuses };
  } finally {
    host?.kill('SIGKILL');
  }
}

/** A 256x256 PNG made `bytes` long by a text chunk after its header (the way editors' metadata grows files). */
async function paddedPng(bytes: number): Promise<Buffer> {
  const png = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#808080' } })
    .png()
    .toBuffer();
  const data = Buffer.alloc(bytes - png.length - 12, 0x61);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length);
  head.write('tEXt', 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  const afterHeader = 8 + 25; // signature, IHDR
  return Buffer.concat([png.subarray(0, afterHeader), head, data, crc, png.subarray(afterHeader)]);
}

/** A rejected job (its mask is the wrong size) whose input is a 50 MB PNG. */
async function bigJob(storage: Awaited<ReturnType<typeof startLocalStorage>>, env: NodeJS.ProcessEnv, port: number) {
  const clients = await createStorageClients({ kind: 'connectionString', connectionString: storage.connectionString });
  await ensureStorageLayout(clients);
  storage.eventGrid.setSubscriptions(subscriptionsFor(`http://127.0.0.1:${port}`));
  const image = await paddedPng(FILE_BYTES);
  const mask = await sharp({ create: { width: 128, height: 128, channels: 4, background: '#0000' } })
    .png()
    .toBuffer();
  const host = await spawnHost({ port, env, args: ['--no-timers'] });
  try {
    const inbox = clients.container(CONTAINERS.inbox);
    await inbox.getBlockBlobClient('bench/big.mask.png').uploadData(mask);
    await inbox.getBlockBlobClient('bench/big.png').uploadData(image);
    const ledger = new Ledger(containerRecords(clients.container(CONTAINERS.jobs)));
    for (let i = 0; i < 120; i++) {
      const [job] = (await ledger.list({ limit: 10 })).jobs;
      if (job?.state === 'rejected') return job.id;
      await sleep(500);
    }
    throw new Error('the 50 MB drop was not taken in');
  } finally {
    host.kill('SIGKILL');
  }
}

export const consoleDownloadsSection: Section = {
  id: 'j',
  title: `(j) peak RSS of the local Functions host while ${DOWNLOADS} console downloads of a 50 MB file run at once`,
  async run() {
    const storage = await startLocalStorage();
    try {
      const port = await freePort();
      const env = {
        ...process.env,
        AzureWebJobsStorage: storage.connectionString,
        AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:9',
        AZURE_OPENAI_API_KEY: 'k',
      };
      const jobId = await bigJob(storage, env, port);
      const runs: [string, NodeJS.ProcessEnv, string | undefined][] = [
        ...(BASELINE_BIN
          ? [['baseline build (read whole, no cap)', env, BASELINE_BIN] as [string, NodeJS.ProcessEnv, string]]
          : []),
        ['this build, CONSOLE_MAX_TRANSFERS 8', { ...env, CONSOLE_MAX_TRANSFERS: '8' }, undefined],
        ['this build, CONSOLE_MAX_TRANSFERS 4 (default)', env, undefined],
      ];
      const rows = [['', 'answers', 'idle RSS', 'peak RSS']];
      for (const [label, runEnv, bin] of runs) {
        const r = await measure(runEnv, port, jobId, bin);
        const served = r.statuses.filter((s) => s === 200).length;
        const answers =
          `${served}×200` + (served < DOWNLOADS ? `, ${DOWNLOADS - served}×${r.statuses.find((s) => s !== 200)}` : '');
        rows.push([label, answers, mb(r.idle), mb(r.peak)]);
      }
      return table(rows);
    } finally {
      await storage.close();
    }
  },
};
