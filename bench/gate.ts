/** (c) The publish gate's verify, next to the raw c2pa-rs read and a plain SHA-256 of the same bytes. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadOrCreateIdentity } from '../local/emulator/identity.js';
import { signImage } from '../local/emulator/sign.js';
import { loadC2pa } from '../shared/adapters/c2pa/c2pa-wasm.js';
import { loadGateConfig } from '../shared/core/config.js';
import { readerSettings, trustLists } from '../shared/core/provenance/trust-settings.js';
import { createVerifier } from '../shared/adapters/c2pa/verifier.js';
import { ms, percentile, table, type Section } from './measure.js';

const FIXTURE = new URL('../../test/fixtures/c2pa/azure-imagegen-in-designer-manifest.png', import.meta.url);

export const gateSection: Section = {
  id: 'c',
  title: '(c) gate: verify vs the raw c2pa-rs read vs SHA-256 of the same bytes',
  async run() {
    const identity = await loadOrCreateIdentity(path.join(mkdtempSync(path.join(tmpdir(), 'bench-ca-')), 'ca'));
    const raw = randomBytes(1536 * 1024 * 3); // noise: photo-sized PNG
    const wide = Buffer.from(
      await signImage(
        identity,
        await sharp(raw, { raw: { width: 1536, height: 1024, channels: 3 } })
          .png()
          .toBuffer(),
        { format: 'image/png', title: 'wide.png' },
      ),
    );
    const real = readFileSync(
      FIXTURE.pathname.includes('/dist/')
        ? new URL('../../../test/fixtures/c2pa/azure-imagegen-in-designer-manifest.png', import.meta.url)
        : FIXTURE,
    );
    const verifier = await createVerifier(loadGateConfig({ AGENT_SCOPE: 'chain' }), undefined, {
      extraPems: [identity.caPem],
    });
    const c2pa = await loadC2pa();
    // The same trust settings the verifier hands c2pa-rs, so the only difference is the gate around it.
    const settings = readerSettings(trustLists([identity.caPem]));
    const rows = [['bytes', 'verify p50', 'raw c2pa-rs read p50', 'ratio (target ≤ 1.1)', 'SHA-256 p50']];
    for (const [name, bytes] of [
      [`1536x1024 PNG from the emulator (${(wide.length / 1e6).toFixed(1)} MB)`, wide],
      [`the real Azure/Designer image (${(real.length / 1e6).toFixed(1)} MB)`, real],
    ] as const) {
      const verdict = await verifier.verify(bytes, { file: name });
      if (verdict.verdict !== 'publish') throw new Error(`${name} would not publish: ${verdict.reasons.join('; ')}`);
      // Interleaved, so that garbage collection and WebAssembly memory growth fall on all three alike.
      const rawRead = async () => {
        const reader = await c2pa.WasmReader.fromBytes('image/png', bytes, settings);
        reader.manifestStore();
        reader.free();
      };
      const times = { verify: [] as number[], read: [] as number[], hash: [] as number[] };
      const clock = async (into: number[], task: () => unknown) => {
        const t = performance.now();
        await task();
        into.push(performance.now() - t);
      };
      for (let i = 0; i < 45; i++) {
        await clock(times.verify, () => verifier.verify(bytes, { file: name }));
        await clock(times.read, rawRead);
        await clock(times.hash, () => createHash('sha256').update(bytes).digest());
      }
      const [verify, read, hash] = [times.verify, times.read, times.hash].map((t) => percentile(t.slice(5), 50)) as [
        number,
        number,
        number,
      ];
      rows.push([name, ms(verify), ms(read), (verify / read).toFixed(2), ms(hash)]);
    }
    return table(rows);
  },
};
