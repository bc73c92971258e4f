/**
 * Crafted composites and COSE header layouts, for attacking the composite gate: any signer key, any
 * certificate in any COSE header slot (protected label 33, protected "x5chain", unprotected), any
 * ingredients in any role and order, embedded through c2pa-rs like the pipeline's own composites.
 */
import { KeyObject, sign } from 'node:crypto';
import { BytesBlob, installFileReaderSync, loadC2pa } from '../../shared/adapters/c2pa/c2pa-wasm.js';
import { compositeManifest } from '../../shared/adapters/c2pa/composite-manifest.js';
import { type CompositeBinding, sha256Hex } from '../../shared/core/provenance/composite-binding.js';
import type { Issued } from './crafted-c2pa.js';

type Cbor = null | number | string | Uint8Array | Cbor[] | Map<Cbor, Cbor> | { tag: number; value: Cbor };

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.of((major << 5) | n);
  if (n < 0x100) return Buffer.of((major << 5) | 24, n);
  if (n < 0x10000) return Buffer.of((major << 5) | 25, n >> 8, n & 0xff);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

function encode(v: Cbor): Buffer {
  if (v === null) return Buffer.of(0xf6);
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') return Buffer.concat([head(3, Buffer.byteLength(v)), Buffer.from(v)]);
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), v]);
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(encode)]);
  if (v instanceof Map) return Buffer.concat([head(5, v.size), ...[...v].flatMap(([k, x]) => [encode(k), encode(x)])]);
  return Buffer.concat([head(6, v.tag), encode(v.value)]);
}

/** Where each certificate chain goes; entries keep their order (the first a reader meets may win). */
export interface HeaderLayout {
  protected: [33 | 'x5chain', Issued[]][];
  unprotected?: [33 | 'x5chain', Issued[]][];
}

export const standard = (chain: Issued[]): HeaderLayout => ({ protected: [[33, chain]] });

const RESERVE = 16_384;
const chainValue = (chain: Issued[]): Cbor => (chain.length === 1 ? chain[0]!.der : chain.map((c) => c.der));

/** A tagged COSE_Sign1 over `claim`, ES256 with `key`, headers as `layout` says, padded to `size`. */
export function coseWithLayout(key: CryptoKey, layout: HeaderLayout, claim: Uint8Array, size: number): Uint8Array {
  const prot = encode(new Map<Cbor, Cbor>([[1, -7], ...layout.protected.map(([k, c]) => [k, chainValue(c)] as const)]));
  const tbs = encode(['Signature1', prot, new Uint8Array(0), claim]);
  const signature = sign('sha256', tbs, { key: KeyObject.from(key), dsaEncoding: 'ieee-p1363' });
  const build = (pad: number) =>
    encode({
      tag: 18,
      value: [
        prot,
        new Map<Cbor, Cbor>([
          ...(layout.unprotected ?? []).map(([k, c]) => [k, chainValue(c)] as [Cbor, Cbor]),
          ['pad', new Uint8Array(pad)],
        ]),
        null, // detached payload: the claim
        signature,
      ],
    });
  for (let pad = Math.max(0, size - build(0).length); pad >= 0; pad--) {
    const out = build(pad);
    if (out.length === size) return out;
    if (out.length < size) break;
  }
  throw new Error('the crafted COSE signature does not fit');
}

export interface Part {
  bytes: Uint8Array;
  mime: string;
}

export interface CraftedIngredient extends Part {
  relationship: string;
  /** The ingredient id the actions refer to ('original-photo', 'azure-openai-edit') or any other. */
  id: string;
}

/**
 * A well-formed binding record, as the pipeline's manifest always carries one: what the gate reads
 * without the edit's bytes (its pixels are not what these tests are about).
 */
function recordedBinding(ingredients: CraftedIngredient[]): CompositeBinding {
  const edit = ingredients.find((i) => i.id === 'azure-openai-edit') ?? ingredients[0];
  const region = { x: 0, y: 0, width: 16, height: 16 };
  return {
    version: 1,
    modelOutput: { sha256: sha256Hex(edit?.bytes ?? new Uint8Array()), width: 16, height: 16 },
    mask: { sha256: sha256Hex(new Uint8Array()) },
    photo: { sha256: sha256Hex(new Uint8Array()) },
    region,
    blend: {
      resize: { kernel: 'lanczos3', fit: 'fill', from: { width: 16, height: 16 } },
      feather: { method: 'gaussian blur of the mask, clamped to the mask (inward only)', sigma: 1 },
      orientation: 1,
      encoding: { format: 'png', quality: null, chromaSubsampling: null },
    },
    core: { block: 16, columns: 1, rows: 1, bits: Buffer.from([0]).toString('base64') },
  };
}

/** A composite-shaped file: the pipeline's manifest (or `manifest`), these ingredients, signed as `layout` says. */
export async function craftComposite(
  key: CryptoKey,
  layout: HeaderLayout,
  image: Part,
  ingredients: CraftedIngredient[],
  manifest: object = compositeManifest('crafted', image.mime, new Date(), recordedBinding(ingredients)),
): Promise<Buffer> {
  const c2pa = await loadC2pa();
  installFileReaderSync();
  const builder = c2pa.WasmBuilder.fromJson(
    JSON.stringify(manifest),
    JSON.stringify({ verify: { verify_after_sign: false } }),
  );
  try {
    for (const ing of ingredients) {
      const definition = { title: ing.id, relationship: ing.relationship, label: ing.id };
      await builder.addIngredientFromBlob(JSON.stringify(definition), ing.mime, new BytesBlob(ing.bytes));
    }
    const signer = {
      alg: 'es256',
      reserveSize: RESERVE,
      sign: async (claim: Uint8Array) => coseWithLayout(key, layout, claim, RESERVE) as Uint8Array<ArrayBuffer>,
    };
    return Buffer.from(await builder.sign(signer, [], image.mime, new BytesBlob(image.bytes)));
  } finally {
    builder.free();
  }
}
