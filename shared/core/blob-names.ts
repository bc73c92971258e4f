/**
 * Which recorded blob names may be put in a URL (a console download, a blob URL in an outcome event). A job
 * records the names it was given; a name with `..` or `.` segments, once in a URL, is resolved by the SDK
 * and the service to a blob of another container (`inbox/x/../../published/y.png` is `published/y.png`).
 * So a name is used only when it cannot leave its container however a URL is resolved, and a drop's part
 * only when it also passes the drop contract (intake refuses every other name anyway).
 */
import { classifyBlobName, MAX_BLOB_NAME } from './drop.js';

/** Printable ASCII without '\', '%', '?' and '#', in non-empty segments none of which is '.' or '..'. */
export function staysInContainer(name: string): boolean {
  if (name.length === 0 || name.length > MAX_BLOB_NAME) return false;
  if (!/^[\x21-\x7e]+$/.test(name) || /[\\%?#]/.test(name)) return false;
  return name.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** A name from `inbox/` that may be put in a URL: a part of a drop under the drop contract. */
export function isServableDropPart(name: string): boolean {
  return staysInContainer(name) && classifyBlobName(name).ok;
}
