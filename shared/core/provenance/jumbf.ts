/**
 * The C2PA manifest store read from its JUMBF bytes (ISO/IEC 19566-5), independently of c2pa-rs: each
 * manifest's superbox (whose bytes an ingredient's hash covers), its claim, its signature and its
 * assertions, by label. Only what the gate needs; anything malformed is an error, never a guess.
 */
import { type CborValue, decodeCbor } from './cbor.js';

export interface JumbfBox {
  type: string;
  /** The whole box, header included. */
  bytes: Uint8Array;
  /** The payload after the header. */
  payload: Uint8Array;
}

export interface JumbfSuperbox {
  label: string | null;
  bytes: Uint8Array;
  /** The superbox's content after its header: what a hashed URI to it covers. */
  payload: Uint8Array;
  children: (JumbfSuperbox | JumbfBox)[];
}

export interface ManifestBoxes {
  label: string;
  /** The manifest superbox's content: what an ingredient's `activeManifest` hash covers. */
  payload: Uint8Array;
  claim: CborValue;
  /** The claim's CBOR exactly as stored: the detached payload its COSE signature covers. */
  claimBytes: Uint8Array;
  /** The signature superbox's content: what a v3 ingredient's `claimSignature` hash covers. */
  signaturePayload: Uint8Array;
  signature: CborValue;
  /** Assertion content by exact label (`c2pa.ingredient.v3__1`). */
  assertions: Map<string, CborValue>;
}

export class JumbfError extends Error {}

const MAX_DEPTH = 16;

function boxesIn(bytes: Uint8Array): JumbfBox[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: JumbfBox[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    if (pos + 8 > bytes.length) throw new JumbfError('JUMBF box header truncated');
    let size = view.getUint32(pos);
    let header = 8;
    if (size === 1) {
      if (pos + 16 > bytes.length) throw new JumbfError('JUMBF box header truncated');
      const big = view.getBigUint64(pos + 8);
      if (big > BigInt(bytes.length)) throw new JumbfError('JUMBF box runs past the end');
      size = Number(big);
      header = 16;
    } else if (size === 0) size = bytes.length - pos;
    if (size < header || pos + size > bytes.length) throw new JumbfError('JUMBF box runs past the end');
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    out.push({ type, bytes: bytes.subarray(pos, pos + size), payload: bytes.subarray(pos + header, pos + size) });
    pos += size;
  }
  return out;
}

function descriptionLabel(jumd: Uint8Array): string | null {
  if (jumd.length < 17) throw new JumbfError('JUMBF description box too short');
  const toggles = jumd[16]!;
  if (!(toggles & 0x02)) return null;
  const end = jumd.indexOf(0, 17);
  if (end < 0) throw new JumbfError('JUMBF label not terminated');
  return new TextDecoder('utf-8', { fatal: true }).decode(jumd.subarray(17, end));
}

export function parseSuperbox(box: JumbfBox, depth = 0): JumbfSuperbox {
  if (depth > MAX_DEPTH) throw new JumbfError('JUMBF nested too deep');
  const [description, ...rest] = boxesIn(box.payload);
  if (!description || description.type !== 'jumd') throw new JumbfError('JUMBF superbox without a description box');
  return {
    label: descriptionLabel(description.payload),
    bytes: box.bytes,
    payload: box.payload,
    children: rest.map((child) => (child.type === 'jumb' ? parseSuperbox(child, depth + 1) : child)),
  };
}

const isSuperbox = (b: JumbfSuperbox | JumbfBox): b is JumbfSuperbox => 'children' in b;
const child = (box: JumbfSuperbox, label: string) =>
  box.children.find((c): c is JumbfSuperbox => isSuperbox(c) && c.label === label);

const contentBox = (box: JumbfSuperbox) => box.children.find((c): c is JumbfBox => !isSuperbox(c));

/** The first content box of a superbox, decoded: CBOR, JSON, or raw bytes (embedded files). */
function content(box: JumbfSuperbox): CborValue {
  const inner = contentBox(box);
  if (!inner) return undefined;
  if (inner.type === 'cbor') return decodeCbor(inner.payload);
  if (inner.type === 'json') return JSON.parse(new TextDecoder().decode(inner.payload)) as CborValue;
  return inner.payload;
}

function decodedOrUndefined(box: JumbfSuperbox): CborValue {
  try {
    return content(box);
  } catch {
    return undefined;
  }
}

function parseStore(jumbf: Uint8Array): { description: Uint8Array; store: JumbfSuperbox } {
  const [top, ...extra] = boxesIn(jumbf);
  if (!top || top.type !== 'jumb' || extra.length) throw new JumbfError('the manifest store is not one JUMBF superbox');
  const store = parseSuperbox(top);
  if (store.label !== 'c2pa') throw new JumbfError('the JUMBF superbox is not a C2PA manifest store');
  return { description: boxesIn(top.payload)[0]!.bytes, store };
}

/**
 * A manifest store in which `label` is the active (last) manifest, without the manifests listed in
 * `without`: how an ingredient's manifest is validated on its own, as c2pa-rs validates an active one.
 */
export function storeWithActive(jumbf: Uint8Array, label: string, without: string[]): Uint8Array {
  const { description, store } = parseStore(jumbf);
  const manifests = store.children.filter(
    (c): c is JumbfSuperbox => isSuperbox(c) && c.label !== null && !without.includes(c.label),
  );
  const target = manifests.find((m) => m.label === label);
  if (!target) throw new JumbfError(`no manifest labelled ${label}`);
  const body = [description, ...manifests.filter((m) => m !== target).map((m) => m.bytes), target.bytes];
  const size = body.reduce((n, b) => n + b.length, 8);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(size);
  header.write('jumb', 4, 'latin1');
  return Buffer.concat([header, ...body]);
}

/** Every manifest in a C2PA manifest store, by label. Throws JumbfError on malformed bytes. */
export function readManifestStore(jumbf: Uint8Array): Map<string, ManifestBoxes> {
  const { store } = parseStore(jumbf);
  const manifests = new Map<string, ManifestBoxes>();
  for (const m of store.children) {
    if (!isSuperbox(m) || !m.label) continue;
    if (manifests.has(m.label)) throw new JumbfError(`two manifests are labelled ${m.label}`);
    const claimBox = child(m, 'c2pa.claim.v2') ?? child(m, 'c2pa.claim');
    const signatureBox = child(m, 'c2pa.signature');
    const assertionStore = child(m, 'c2pa.assertions');
    if (!claimBox || !signatureBox) continue;
    const assertions = new Map<string, CborValue>();
    for (const a of assertionStore?.children ?? []) {
      if (!isSuperbox(a) || !a.label) continue;
      // Only the assertions the gate reads are decoded; a malformed one elsewhere is c2pa-rs's to report.
      if (/^c2pa\.(ingredient|actions)/.test(a.label)) assertions.set(a.label, content(a));
      // A data hash nobody can decode is kept as undefined: only the active manifest's matters, and it refuses.
      if (/^c2pa\.hash\.data/.test(a.label)) assertions.set(a.label, decodedOrUndefined(a));
    }
    manifests.set(m.label, {
      label: m.label,
      payload: m.payload,
      claim: content(claimBox),
      claimBytes: contentBox(claimBox)?.payload ?? new Uint8Array(0),
      signaturePayload: signatureBox.payload,
      signature: content(signatureBox),
      assertions,
    });
  }
  return manifests;
}
