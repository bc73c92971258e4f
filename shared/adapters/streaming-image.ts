/**
 * The image of an images/edits answer, decoded from the response body as it arrives. The answer is
 * JSON whose `data[0].b64_json` is the whole image in base64; parsing it the usual way holds the raw
 * text, the parsed string and the decoded bytes at once (about 3.7 times the image), this only the
 * decoded bytes and a few kilobytes of base64 not yet decoded.
 */

const KEY = Buffer.from('"b64_json"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The first `b64_json` value's bytes, or `undefined` when the answer carries none. */
export async function readBase64Image(body: AsyncIterable<Uint8Array>): Promise<Buffer | undefined> {
  const decoded: Buffer[] = [];
  let phase: 'key' | 'colon' | 'value' | 'done' = 'key';
  let carry: Buffer = Buffer.alloc(0);
  let pending = '';
  const decode = (final: boolean) => {
    const usable = final ? pending.length : pending.length - (pending.length % 4);
    if (usable > 0) decoded.push(Buffer.from(pending.slice(0, usable), 'base64'));
    pending = pending.slice(usable);
  };
  for await (const chunk of body) {
    if (phase === 'done') continue; // read to the end, so the connection can be reused
    let bytes: Buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    if (phase === 'key') {
      bytes = Buffer.concat([carry, bytes]);
      const found = bytes.indexOf(KEY);
      if (found < 0) {
        carry = bytes.subarray(Math.max(0, bytes.length - KEY.length));
        continue;
      }
      carry = Buffer.alloc(0);
      at = found + KEY.length;
      phase = 'colon';
    }
    if (phase === 'colon') {
      while (at < bytes.length && bytes[at] !== QUOTE) at++;
      if (at === bytes.length) continue;
      at++;
      phase = 'value';
    }
    let start = at;
    let text = '';
    for (; at < bytes.length; at++) {
      if (bytes[at] === BACKSLASH) {
        // JSON may escape "/" as "\/": keep what comes after the backslash.
        text += bytes.toString('latin1', start, at);
        start = at + 1;
        at++;
      } else if (bytes[at] === QUOTE) {
        phase = 'done';
        break;
      }
    }
    pending += text + bytes.toString('latin1', start, Math.min(at, bytes.length));
    decode(phase === 'done');
  }
  return decoded.length > 0 ? Buffer.concat(decoded) : undefined;
}
