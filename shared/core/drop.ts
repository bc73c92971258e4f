/**
 * The drop contract. In `inbox/`, a drop is
 *   <path>/<stem>.png|.jpg|.jpeg|.webp   the image
 *   <path>/<stem>.mask.png               the mask (alpha 0 marks the area to edit)
 *   <path>/<stem>.json                   optional sidecar: prompt and options
 * Names are ASCII letters, digits, '.', '_' and '-' in '/'-separated segments. Pure: no I/O.
 *
 * Every blob the pipeline writes for a drop is named `<dropKey><suffix>`. A name outside the contract
 * gets a key of its own, `<sanitized>~<hash of the exact name>`: '~' never occurs in a valid key, so no
 * two distinct names ever share an output, report or rejection blob.
 */
import { createHash } from 'node:crypto';

export type PartKind = 'image' | 'mask' | 'sidecar';

export interface DropRef {
  /** Folder inside the container, without leading or trailing '/'; '' at the top. */
  path: string;
  stem: string;
}

export type Classified =
  | { ok: true; kind: PartKind; drop: DropRef; name: string; extension: string }
  | { ok: false; drop: DropRef; name: string; problem: string };

export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp'] as const;
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** Azure's limit on a blob name (learn.microsoft.com: "Naming and Referencing Containers, Blobs, and Metadata"). */
export const MAX_BLOB_NAME = 1024;
/** Every suffix a drop key gets in a blob name the pipeline writes (edited/published copies, reports). */
export const DROP_SUFFIXES = ['.png', '.jpg', '.webp', '.json', '.provenance.json', '.redrop.json'] as const;
export type DropSuffix = (typeof DROP_SUFFIXES)[number];
/** The longest drop key whose every blob name fits (the ledger's `pending/<key>` prefix is shorter than the longest suffix). */
export const MAX_DROP_KEY = MAX_BLOB_NAME - Math.max(...DROP_SUFFIXES.map((s) => s.length));
/** Hex digits of SHA-256 in the key of a name outside the contract: 48 bits, so an accidental clash is negligible. */
const NAME_HASH_DIGITS = 12;

export const DROP_CONTRACT =
  'a drop is <stem>.png, .jpg, .jpeg or .webp plus <stem>.mask.png, and optionally <stem>.json with the prompt';

export function dropKey(drop: DropRef): string {
  return drop.path ? `${drop.path}/${drop.stem}` : drop.stem;
}

/** Where outputs and reports for a drop go, e.g. `a/b/photo` + `.png`. */
export function dropBlobName(drop: DropRef, suffix: DropSuffix): string {
  return `${dropKey(drop)}${suffix}`;
}

function split(name: string): DropRef {
  const i = name.lastIndexOf('/');
  return i === -1 ? { path: '', stem: name } : { path: name.slice(0, i), stem: name.slice(i + 1) };
}

/** Replaces anything outside the allowed characters (and so every '~'), keeping the name readable. */
function sanitizeName(name: string): string {
  const segments = name
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .map((s) => (s === '..' ? '__' : s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\./, '_')));
  return segments.join('/') || '_';
}

/**
 * The drop a name outside the contract reports under: its sanitized name without the extension, then
 * '~' and a hash of the exact name (UTF-16 code units, so even lone surrogates stay distinct).
 */
function unusableNameDrop(name: string): DropRef {
  const sanitized = sanitizeName(name);
  const dot = sanitized.lastIndexOf('.');
  const readable = dot > sanitized.lastIndexOf('/') + 1 ? sanitized.slice(0, dot) : sanitized;
  const hash = createHash('sha256').update(Buffer.from(name, 'utf16le')).digest('hex').slice(0, NAME_HASH_DIGITS);
  return split(`${readable.slice(0, MAX_DROP_KEY - NAME_HASH_DIGITS - 1)}~${hash}`);
}

function nameProblem(name: string): string | undefined {
  if (name.length > MAX_BLOB_NAME)
    return `the name is longer than ${MAX_BLOB_NAME} characters (Azure's blob-name limit)`;
  const segments = name.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return "the name contains a '.' or '..' path segment";
  if (segments.some((s) => s === ''))
    return "the name contains an empty path segment ('//' or a leading or trailing '/')";
  if (/\s/.test(name)) return 'the name contains spaces or other white space; use - or _ instead';
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(name)) return 'the name contains non-ASCII characters; use ASCII letters, digits, ., _ and -';
  const bad = segments.find((s) => !SEGMENT.test(s));
  if (bad !== undefined)
    return `the path segment "${bad}" contains characters other than ASCII letters, digits, ., _ and -, or starts with '.'`;
  return undefined;
}

function keyProblem(drop: DropRef): string | undefined {
  const length = dropKey(drop).length;
  if (length <= MAX_DROP_KEY) return undefined;
  return (
    `the folder and stem are ${length} characters long; at most ${MAX_DROP_KEY} fit, ` +
    `so that <stem>.provenance.json stays within Azure's ${MAX_BLOB_NAME}-character blob-name limit`
  );
}

function refused(name: string, problem: string): Classified {
  return { ok: false, name, drop: unusableNameDrop(name), problem };
}

export function classifyBlobName(name: string): Classified {
  const problem = nameProblem(name);
  if (problem) return refused(name, problem);
  const { path, stem: file } = split(name);
  const lower = file.toLowerCase();
  let part: Classified;
  if (lower.endsWith('.mask.png') && file.length > '.mask.png'.length) {
    part = { ok: true, kind: 'mask', name, drop: { path, stem: file.slice(0, -'.mask.png'.length) }, extension: 'png' };
  } else {
    const dot = file.lastIndexOf('.');
    const stem = dot > 0 ? file.slice(0, dot) : file;
    const extension = dot > 0 ? lower.slice(dot + 1) : '';
    if (extension === 'json') part = { ok: true, kind: 'sidecar', name, drop: { path, stem }, extension };
    else if ((IMAGE_EXTENSIONS as readonly string[]).includes(extension)) {
      if (stem.toLowerCase().endsWith('.mask')) {
        return refused(name, `a mask must be a PNG named <stem>.mask.png, not .${extension}`);
      }
      part = { ok: true, kind: 'image', name, drop: { path, stem }, extension };
    } else {
      const problem = extension
        ? `".${extension}" files are not part of the drop contract`
        : 'the name has no extension';
      return refused(name, `${problem}: ${DROP_CONTRACT}`);
    }
  }
  const tooLong = keyProblem(part.drop);
  return tooLong ? refused(name, tooLong) : part;
}

/** The blob-name prefix under which all of a drop's parts are listed (then filtered by exact stem). */
export function dropListingPrefix(drop: DropRef): string {
  return `${dropKey(drop)}.`;
}

/**
 * Where publish copies an `edited/` blob that no job accounts for, and where its report goes. A name a
 * job would have written (`<key>.png`, `<key>.jpg`) keeps that drop's names; any other name gets a key
 * of its own, so that it can never land on another drop's output or report.
 */
export function orphanDestination(editedName: string): { blob: string; report: string } {
  const c = classifyBlobName(editedName);
  const jobOutput =
    c.ok && c.kind === 'image' && [dropBlobName(c.drop, '.png'), dropBlobName(c.drop, '.jpg')].includes(editedName);
  if (jobOutput) {
    return { blob: editedName, report: dropBlobName(c.drop, '.provenance.json') };
  }
  const key = dropKey(unusableNameDrop(editedName));
  const extension = /\.(png|jpe?g|webp)$/i.exec(editedName)?.[0].toLowerCase() ?? '';
  return { blob: `${key}${extension}`, report: `${key}.provenance.json` };
}
