/**
 * Text from a manifest or a file name, made safe to print on a terminal: control characters (ESC,
 * newlines, DEL, C1), bidirectional overrides and other invisible format characters are shown as
 * visible `\x1b`, `\n`, `\u202e` escapes, so a title can neither move the cursor, hide text, nor
 * print a line of its own (such as a forged verdict). Backslashes are doubled so escapes are unambiguous.
 */
// C0 and C1 controls, DEL; bidi embeddings, overrides and isolates; zero-width and other format characters;
// line and paragraph separators; the BOM; lone surrogates.
const UNSAFE = new RegExp(
  [
    '[\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff\\ufff9-\\ufffb]',
    '[\\ud800-\\udbff](?![\\udc00-\\udfff])',
    '(?<![\\ud800-\\udbff])[\\udc00-\\udfff]',
    '\\\\',
  ].join('|'),
  'g',
);

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

export function terminalSafe(text: string): string {
  return text.replace(
    UNSAFE,
    (ch) => NAMED[ch] ?? (ch.charCodeAt(0) < 0x100 ? `\\x${hex(ch, 2)}` : `\\u${hex(ch, 4)}`),
  );
}

const hex = (ch: string, width: number) => ch.charCodeAt(0).toString(16).padStart(width, '0');
