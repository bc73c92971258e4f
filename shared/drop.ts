/**
 * The drop contract. In `inbox/`, a drop is
 *   <path>/<stem>.png|.jpg|.jpeg|.webp   the image
 *   <path>/<stem>.mask.png               the mask (alpha 0 marks the area to edit)
 *   <path>/<stem>.json                   optional sidecar: prompt and options
 * Names are ASCII letters, digits, '.', '_' and '-' in '/'-separated segments. Pure: no I/O.
 */

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
const MAX_NAME = 1024;

export const DROP_CONTRACT =
  'a drop is <stem>.png, .jpg, .jpeg or .webp plus <stem>.mask.png, and optionally <stem>.json with the prompt';

export function dropKey(drop: DropRef): string {
  return drop.path ? `${drop.path}/${drop.stem}` : drop.stem;
}

/** Where outputs and reports for a drop go, e.g. `a/b/photo` + `.png`. */
export function dropBlobName(drop: DropRef, suffix: string): string {
  return `${dropKey(drop)}${suffix}`;
}

function split(name: string): { path: string; file: string } {
  const i = name.lastIndexOf('/');
  return i === -1 ? { path: '', file: name } : { path: name.slice(0, i), file: name.slice(i + 1) };
}

/** Replaces anything outside the allowed characters so that a report can be written for any name. */
export function sanitizeName(name: string): string {
  const segments = name
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .map((s) => (s === '..' ? '__' : s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\./, '_')));
  return segments.join('/').slice(0, MAX_NAME) || '_';
}

function nameProblem(name: string): string | undefined {
  if (name.length > MAX_NAME) return `the name is longer than ${MAX_NAME} characters`;
  const segments = name.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return "the name contains a '.' or '..' path segment";
  if (segments.some((s) => s === '')) return "the name contains an empty path segment ('//' or a leading or trailing '/')";
  if (/\s/.test(name)) return 'the name contains spaces or other white space; use - or _ instead';
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(name)) return 'the name contains non-ASCII characters; use ASCII letters, digits, ., _ and -';
  const bad = segments.find((s) => !SEGMENT.test(s));
  if (bad !== undefined) return `the path segment "${bad}" contains characters other than ASCII letters, digits, ., _ and -, or starts with '.'`;
  return undefined;
}

export function classifyBlobName(name: string): Classified {
  const problem = nameProblem(name);
  if (problem) {
    const safe = split(sanitizeName(name));
    const dot = safe.file.indexOf('.');
    return { ok: false, name, drop: { path: safe.path, stem: dot > 0 ? safe.file.slice(0, dot) : safe.file }, problem };
  }
  const { path, file } = split(name);
  const lower = file.toLowerCase();
  if (lower.endsWith('.mask.png') && file.length > '.mask.png'.length) {
    return { ok: true, kind: 'mask', name, drop: { path, stem: file.slice(0, -'.mask.png'.length) }, extension: 'png' };
  }
  const dot = file.lastIndexOf('.');
  const stem = dot > 0 ? file.slice(0, dot) : file;
  const extension = dot > 0 ? lower.slice(dot + 1) : '';
  if (extension === 'json') return { ok: true, kind: 'sidecar', name, drop: { path, stem }, extension };
  if ((IMAGE_EXTENSIONS as readonly string[]).includes(extension)) {
    if (stem.toLowerCase().endsWith('.mask')) {
      return { ok: false, name, drop: { path, stem }, problem: `a mask must be a PNG named <stem>.mask.png, not .${extension}` };
    }
    return { ok: true, kind: 'image', name, drop: { path, stem }, extension };
  }
  return {
    ok: false,
    name,
    drop: { path, stem },
    problem: extension ? `".${extension}" files are not part of the drop contract: ${DROP_CONTRACT}` : `the name has no extension: ${DROP_CONTRACT}`,
  };
}

/** The blob-name prefix under which all of a drop's parts are listed (then filtered by exact stem). */
export function dropListingPrefix(drop: DropRef): string {
  return `${dropKey(drop)}.`;
}
