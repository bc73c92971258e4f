/**
 * What binds a published composite to the Azure edit it credits, as the publisher's manifest records
 * it (assertion `org.imagegen-pipeline.composite`): the model output's, the mask's and the photo's
 * SHA-256 (of the bytes as stored), the region the edit was blended into (the mask's bounding box, in the
 * composite's pixels), how it was blended, and the blocks of the region that show the edit alone.
 * Read back strictly: a missing, duplicated or malformed record binds nothing.
 */
import { createHash } from 'node:crypto';
import type { BlendParameters, Region } from '../composite/composite-image.js';
import type { CoreMap } from '../composite/core-blocks.js';
import type { ManifestJson } from './gate.js';

export const BINDING_LABEL = 'org.imagegen-pipeline.composite';

export interface CompositeBinding {
  version: 1;
  modelOutput: { sha256: string; width: number; height: number };
  mask: { sha256: string };
  photo: { sha256: string };
  region: Region;
  blend: BlendParameters;
  core: CoreMap;
}

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const isHash = (v: unknown) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isCount = (v: unknown, min = 0) => Number.isSafeInteger(v) && (v as number) >= min;
const get = (v: unknown, key: string): unknown =>
  v !== null && typeof v === 'object' && Object.hasOwn(v, key) ? (v as Record<string, unknown>)[key] : undefined;

function regionProblem(region: unknown): string | null {
  const [x, y, w, h] = ['x', 'y', 'width', 'height'].map((k) => get(region, k));
  return isCount(x) && isCount(y) && isCount(w, 1) && isCount(h, 1) ? null : 'its region is not a pixel rectangle';
}

function coreProblem(core: unknown, region: Region): string | null {
  const block = get(core, 'block');
  const bits = get(core, 'bits');
  if (!isCount(block, 1) || typeof bits !== 'string') return 'its core map is malformed';
  const columns = Math.ceil(region.width / (block as number));
  const rows = Math.ceil(region.height / (block as number));
  if (get(core, 'columns') !== columns || get(core, 'rows') !== rows) return 'its core map does not fit its region';
  if (Buffer.from(bits, 'base64').length !== Math.ceil((columns * rows) / 8))
    return 'its core map has the wrong length';
  return null;
}

/** The binding recorded in a manifest (as c2pa-rs read it), or why there is none to rely on. */
export function readBinding(manifest: ManifestJson): CompositeBinding | { problem: string } {
  const found = (manifest.assertions ?? []).filter(
    (a) => a.label === BINDING_LABEL || a.label.startsWith(`${BINDING_LABEL}__`),
  );
  if (found.length === 0) return { problem: `the publisher's manifest records no ${BINDING_LABEL} assertion` };
  if (found.length > 1)
    return { problem: `the publisher's manifest records ${found.length} ${BINDING_LABEL} assertions` };
  const b = found[0]!.data;
  const problem =
    get(b, 'version') !== 1
      ? 'its version is not 1'
      : !isHash(get(get(b, 'modelOutput'), 'sha256')) || !isHash(get(get(b, 'mask'), 'sha256'))
        ? 'a hash is not a SHA-256 in hex'
        : !isCount(get(get(b, 'modelOutput'), 'width'), 1) || !isCount(get(get(b, 'modelOutput'), 'height'), 1)
          ? "the model output's size is missing"
          : (regionProblem(get(b, 'region')) ?? coreProblem(get(b, 'core'), get(b, 'region') as Region));
  return problem ? { problem: `the ${BINDING_LABEL} assertion is unusable: ${problem}` } : (b as CompositeBinding);
}

/** The record for a composite just made from these inputs (bytes as stored). */
export function bindingFor(
  image: { region: Region; blend: BlendParameters; core: CoreMap },
  inputs: { photo: Uint8Array; mask: Uint8Array; edit: Uint8Array },
): CompositeBinding {
  const { from } = image.blend.resize;
  return {
    version: 1,
    modelOutput: { sha256: sha256Hex(inputs.edit), width: from.width, height: from.height },
    mask: { sha256: sha256Hex(inputs.mask) },
    photo: { sha256: sha256Hex(inputs.photo) },
    region: image.region,
    blend: image.blend,
    core: image.core,
  };
}
