/**
 * Bench (i)'s child process: edited → published for one build (its `dist` folder, given first), in
 * memory so storage is not what is measured: the ordinary gate on the model output, then that build's
 * own `publishComposite` (compose, sign, judge). `sequential N` prints each run's wall and CPU ms;
 * `concurrent N` runs N at once and prints the process's peak RSS.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [dist, mode, count, inputs] = process.argv.slice(2) as [string, 'sequential' | 'concurrent', string, string];
/** A module of either layout: the current one, or the one before shared/ was split into layers (a baseline build). */
const load = async (file: string, before: string) => {
  const [now, then] = [path.join(dist, file), path.join(dist, before)];
  return import(existsSync(now) ? now : then);
};
const { createVerifier } = await load('shared/adapters/c2pa/verifier.js', 'shared/provenance/verifier.js');
const { createCompositeVerifier } = await load(
  'shared/adapters/c2pa/composite-gate.js',
  'shared/provenance/publisher.js',
);
const { localSigner } = await load('shared/adapters/signing/local-signer.js', 'shared/composite/signer.js');
const { loadGateConfig } = await load('shared/core/config.js', 'shared/config.js');
const { publishComposite } = await load('shared/app/publish-composite.js', 'shared/pipeline/composite.js');

const file = (name: string) => readFileSync(path.join(inputs, name));
const [photo, mask, edited] = [file('photo.jpg'), file('photo.mask.png'), file('edited.png')];
const trust = { extraPems: [file('azure-ca.pem').toString()] };
const gate = loadGateConfig({});
const chainPem = file('publisher.pem').toString();
const signer = localSigner(file('publisher.key').toString(), chainPem);
const verifier = await createCompositeVerifier(gate, chainPem, undefined, trust);
// A build with the publisher port composes and signs through it; one from before takes signer and verifier.
const port = await load('shared/adapters/signing/publisher-from-settings.js', 'shared/composite/publisher.js');
const publisher = port.publisherOf ? port.publisherOf(signer, verifier) : { signer, verifier };
const ordinary = await createVerifier(gate, undefined, trust);

const ok = { written: true };
const rt = {
  config: { output: { mode: 'composite', stripGps: true } },
  now: () => new Date(),
  publisher: async () => publisher,
  blobs: {
    readOutput: async () => edited,
    readPart: async (part: { name: string }) => (part.name.endsWith('.mask.png') ? mask : photo),
    writeResultBytes: async () => ok,
    writeReport: async () => ok,
  },
};
const log = { warn: (m: string) => console.error(m), info() {}, error: (m: string) => console.error(m) };

async function editedToPublished(i: number): Promise<string> {
  const started = new Date(Date.now() - 5_000);
  const job = {
    id: `bench-${i}`,
    drop: { path: 'bench', stem: `photo-${i}`, key: `bench/photo-${i}` },
    inputs: { image: { name: 'bench/photo.jpg' }, mask: { name: 'bench/photo.mask.png' } },
    createdAt: started.toISOString(),
    edit: { startedAt: started.toISOString(), endedAt: new Date().toISOString(), requestId: 'bench' },
  };
  const window = { start: started, end: new Date() };
  const edit = await ordinary.verify(edited, { file: 'edited/bench.png', editWindow: window });
  const source = { name: 'bench/edited.png', etag: '"1"', contentType: 'image/png' };
  const outcome = await publishComposite(rt, job, source, edit, log);
  return outcome?.folder ?? 'none';
}

function peakRss(): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

const n = Number(count);
if (mode === 'sequential') {
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < n + 1; i++) {
    const t = performance.now();
    const used = process.cpuUsage();
    const folder = await editedToPublished(i);
    if (folder !== 'published') throw new Error(`run ${i} ended in ${folder}`);
    if (i === 0) continue; // the first run loads c2pa-rs and warms sharp
    times.push(performance.now() - t);
    const spent = process.cpuUsage(used);
    cpu.push((spent.user + spent.system) / 1000);
  }
  console.log(JSON.stringify({ times, cpu }));
} else {
  await editedToPublished(0);
  const folders = await Promise.all(Array.from({ length: n }, (_, i) => editedToPublished(i + 1)));
  console.log(JSON.stringify({ folders, peak: peakRss() }));
}
