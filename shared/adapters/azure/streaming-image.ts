/**
 * The image of an images/edits answer, decoded from the response body as it arrives and handed on in
 * pieces (to storage, ./blobs.ts), so that neither the base64 text nor the decoded image is ever held
 * whole. The answer is JSON whose `data[0].b64_json` is the whole image in base64; parsing it the usual
 * way holds the raw text, the parsed string and the decoded bytes at once (about 3.7 times the image).
 */
import { FORMAT_NAMES, sniffFormat, TAIL_BYTES, truncationProblem, type ImageFormat } from '../../core/image-header.js';
import { JOB_ERROR } from '../../core/job-errors.js';

/** An answer that carries no usable image: the model adapter reports it as a transient failure. */
export class AnswerProblem extends Error {
  constructor(
    readonly code: (typeof JOB_ERROR)['emptyResponse' | 'incompleteResponse' | 'invalidOutput'],
    message: string,
  ) {
    super(message);
  }
}

const KEY = Buffer.from('"b64_json"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** What follows the image in an answer (`usage` and the like) is a few hundred bytes; more is not kept. */
const TAIL_LIMIT = 16 * 1024;

/**
 * The first `b64_json` value's bytes, piece by piece as the body arrives; nothing when the answer carries
 * none. Throws an AnswerProblem when the body ends inside the value. `onTail` gets the text after the
 * image (where the answer's `usage` is) once the body has ended.
 */
export async function* decodeBase64Image(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  onTail?: (text: string) => void,
): AsyncGenerator<Buffer> {
  let phase: 'key' | 'colon' | 'value' | 'done' = 'key';
  let carry: Buffer = Buffer.alloc(0);
  let pending = '';
  let escaping = false;
  let tail = '';
  const keep = (text: string) => void (tail = (tail + text).slice(0, TAIL_LIMIT));
  for await (const chunk of body) {
    if (phase === 'done') {
      keep(Buffer.from(chunk).toString('utf8')); // read to the end, so the connection can be reused
      continue;
    }
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
    // Searched natively rather than byte by byte: an answer is megabytes of base64, and the loop was a
    // tenth of the host's CPU time in a burst (BENCHMARKS.md (f)).
    if (escaping && at < bytes.length) {
      pending += bytes.toString('latin1', at, at + 1);
      at++;
      escaping = false;
    }
    for (;;) {
      const quote = bytes.indexOf(QUOTE, at);
      const backslash = bytes.indexOf(BACKSLASH, at);
      if (backslash >= 0 && (quote < 0 || backslash < quote)) {
        // JSON may escape "/" as "\/": keep what comes after the backslash, which may be in the next chunk.
        pending += bytes.toString('latin1', at, backslash) + bytes.toString('latin1', backslash + 1, backslash + 2);
        escaping = backslash + 1 >= bytes.length;
        at = backslash + 2;
        continue;
      }
      pending += bytes.toString('latin1', at, quote < 0 ? bytes.length : quote);
      if (quote >= 0) {
        phase = 'done';
        keep(bytes.toString('utf8', quote + 1));
      }
      break;
    }
    // Whole groups of four characters decode on their own; the rest waits for the next chunk.
    const usable = phase === 'done' ? pending.length : pending.length - (pending.length % 4);
    if (usable > 0) yield Buffer.from(pending.slice(0, usable), 'base64');
    pending = pending.slice(usable);
  }
  if (phase === 'colon' || phase === 'value') {
    throw new AnswerProblem(JOB_ERROR.incompleteResponse, "the model's answer ended inside its image");
  }
  if (phase === 'done') onTail?.(tail);
}

/** Enough of the start to tell PNG, JPEG and WebP apart (see sniffFormat). */
const SNIFF_BYTES = 12;

/**
 * Passes an image on as it comes while checking it: there is one, it starts as the format asked for
 * (checked before a byte is passed on) and it ends as that format ends (a PNG's IEND chunk, a JPEG's
 * end-of-image marker). Throws an AnswerProblem otherwise, after the last piece at the latest.
 */
export async function* checkedImage(pieces: AsyncIterable<Buffer>, expected: ImageFormat): AsyncGenerator<Buffer> {
  let start: Buffer | undefined; // the first bytes, once they are checked
  let held: Buffer[] = [];
  // The last pieces, as long as they are needed to hold the last TAIL_BYTES (kept, not copied).
  const tail: Buffer[] = [];
  let tailBytes = 0;
  let total = 0;
  const sniff = () => {
    const bytes = Buffer.concat(held);
    held = [];
    const found = sniffFormat(bytes);
    if (found !== expected) {
      const what = found ? `a ${FORMAT_NAMES[found]}` : 'bytes that are no image';
      const asked = FORMAT_NAMES[expected];
      throw new AnswerProblem(
        JOB_ERROR.invalidOutput,
        `the model answered with ${what} where a ${asked} was asked for`,
      );
    }
    return (start = bytes);
  };
  for await (const piece of pieces) {
    total += piece.length;
    tail.push(piece);
    tailBytes += piece.length;
    while (tailBytes - tail[0]!.length >= TAIL_BYTES) tailBytes -= tail.shift()!.length;
    if (start) yield piece;
    else {
      held.push(piece);
      if (total >= SNIFF_BYTES) yield sniff();
    }
  }
  if (total === 0) throw new AnswerProblem(JOB_ERROR.emptyResponse, 'the model answered without an image');
  let head = start;
  if (!head) yield (head = sniff());
  const cut = truncationProblem(expected, head, Buffer.concat(tail).subarray(-TAIL_BYTES), total);
  if (cut) throw new AnswerProblem(JOB_ERROR.invalidOutput, `the model's image is unusable: ${cut}`);
}
