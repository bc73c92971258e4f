/** The download name of a blob the console serves (RFC 6266). */

/** RFC 8187 attr-chars: what may stand unescaped in `filename*`. */
const encodeAttr = (s: string) =>
  encodeURIComponent(s).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * `Content-Disposition` for a download of blob `name` (RFC 6266): the last segment, reduced to letters,
 * digits, '.', '_', '-' and '~' as the ASCII fallback, and the same name in `filename*` for clients that read it.
 */
export function attachmentDisposition(name: string): string {
  const file = name.slice(name.lastIndexOf('/') + 1);
  const safe = file.replace(/[^A-Za-z0-9._~-]/g, '_').replace(/^\.+/, '_') || 'download';
  return `attachment; filename="${safe}"; filename*=UTF-8''${encodeAttr(safe)}`;
}
