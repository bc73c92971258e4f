/** The emulator's images/edits latency for a 1024x1024 PNG at latency 0, signing included, next to signing alone. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadOrCreateIdentity } from '../local/emulator/identity.js';
import { renderEdit } from '../local/emulator/imaging.js';
import { startEmulator, WELL_KNOWN_API_KEY } from '../local/emulator/server.js';
import { signImage } from '../local/emulator/sign.js';
import { ms, percentile, table, timeEach, type Section } from './measure.js';

export const emulatorSection: Section = {
  id: 'emulator',
  title: 'gpt-image emulator: images/edits on the v1 route, 1024x1024 PNG, latency 0',
  async run() {
    const caDir = path.join(mkdtempSync(path.join(tmpdir(), 'bench-ca-')), 'ca');
    const emulator = await startEmulator({ caDir, rpm: 1_000_000 });
    try {
      const raw = Buffer.alloc(1024 * 1024 * 3);
      for (let i = 0; i < raw.length; i++) raw[i] = (i * 7) % 251;
      const image = await sharp(raw, { raw: { width: 1024, height: 1024, channels: 3 } })
        .png()
        .toBuffer();
      const maskRaw = Buffer.alloc(1024 * 1024 * 4, 255);
      for (let y = 256; y < 768; y++) for (let x = 256; x < 768; x++) maskRaw[(y * 1024 + x) * 4 + 3] = 0;
      const mask = await sharp(maskRaw, { raw: { width: 1024, height: 1024, channels: 4 } })
        .png()
        .toBuffer();
      const edit = async () => {
        const form = new FormData();
        form.append('image', new Blob([new Uint8Array(image)], { type: 'image/png' }), 'photo.png');
        form.append('mask', new Blob([new Uint8Array(mask)], { type: 'image/png' }), 'mask.png');
        form.append('prompt', 'a red balloon');
        form.append('model', 'gpt-image-2');
        form.append('size', '1024x1024');
        const res = await fetch(`${emulator.url}/openai/v1/images/edits`, {
          method: 'POST',
          headers: { 'api-key': WELL_KNOWN_API_KEY },
          body: form,
        });
        if (res.status !== 200) throw new Error(`edit answered ${res.status}`);
        await res.arrayBuffer();
      };
      const edits = await timeEach(30, edit);
      const identity = await loadOrCreateIdentity(caDir);
      const output = await renderEdit(image, mask, { prompt: 'a red balloon', size: '1024x1024', format: 'png' });
      const signing = await timeEach(30, () => signImage(identity, output, { format: 'image/png', title: 'x.png' }));
      const rendering = await timeEach(30, () =>
        renderEdit(image, mask, { prompt: 'a red balloon', size: '1024x1024', format: 'png' }),
      );
      return table([
        ['', 'p50', 'p95', 'runs'],
        [
          'images/edits over HTTP (target p50 ≤ 150 ms)',
          ms(percentile(edits, 50)),
          ms(percentile(edits, 95)),
          String(edits.length),
        ],
        [
          '  of which: C2PA signing step alone (PS256 + RFC 3161)',
          ms(percentile(signing, 50)),
          ms(percentile(signing, 95)),
          String(signing.length),
        ],
        [
          '  of which: pixels (decode, paint, PNG encode)',
          ms(percentile(rendering, 50)),
          ms(percentile(rendering, 95)),
          String(rendering.length),
        ],
      ]);
    } finally {
      await emulator.close();
    }
  },
};
