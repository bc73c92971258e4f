/** Raw surgery on a signed PNG's manifest store, for attacks that c2pa-rs's builder will not produce. */
import { readContainer } from '../../shared/core/provenance/container.js';
import { parseSuperbox } from '../../shared/core/provenance/jumbf.js';
import { rewritePng } from './images.js';

/** The whole superbox (header included) of the manifest labelled `label` in a PNG's manifest store. */
export function manifestBox(png: Buffer, label: string): Buffer {
  const jumbf = storeOf(png);
  const store = parseSuperbox({ type: 'jumb', bytes: jumbf, payload: jumbf.subarray(8) });
  const box = store.children.find((c) => 'label' in c && c.label === label);
  if (!box) throw new Error(`no manifest ${label}`);
  return Buffer.from(box.bytes);
}

/** The PNG with the manifest labelled `label` replaced by `replacement` (same size; chunk CRC recomputed). */
export function swapManifest(png: Buffer, label: string, replacement: Buffer): Buffer {
  const original = manifestBox(png, label);
  if (original.length !== replacement.length)
    throw new Error(`sizes differ: ${original.length} vs ${replacement.length}`);
  return rewritePng(png, (type, data) => {
    if (type !== 'caBX') return data;
    const at = data.indexOf(original);
    return Buffer.concat([data.subarray(0, at), replacement, data.subarray(at + original.length)]);
  });
}

function storeOf(png: Buffer): Buffer {
  const reading = readContainer(png, 'png');
  if (!reading.ok || !reading.jumbf) throw new Error('no manifest store');
  return Buffer.from(reading.jumbf);
}
