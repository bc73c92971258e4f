/**
 * Files for a multipart upload that are read from storage while the request is being sent, instead of
 * being held in memory. The `openai` SDK only takes real `File`s, so it gets a stand-in: a tiny `File`
 * whose text is a token, which `encodeMultipart` (used by ./streaming-fetch.ts) swaps for the part's
 * bytes as it writes the body to the socket.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { type UploadPart } from '../../ports/image-model.js';

const TOKEN_PREFIX = 'imagegen-upload-part:';
const registered = new Map<string, UploadPart>();

/** A stand-in `File` for the SDK and a release to call once the request is over (sent or not). */
export function standIn(part: UploadPart): { file: File; release: () => void } {
  const token = `${TOKEN_PREFIX}${randomUUID()}`;
  registered.set(token, part);
  return { file: new File([token], part.name, { type: part.type }), release: () => registered.delete(token) };
}

/** The part a form value stands in for, if it is a stand-in. */
async function partFor(file: File): Promise<UploadPart | undefined> {
  if (file.size > 100) return undefined;
  const text = await file.text();
  return text.startsWith(TOKEN_PREFIX) ? registered.get(text) : undefined;
}

/** WHATWG's escaping of names in multipart/form-data (the one browsers and undici use). */
function escapeName(name: string): string {
  return name.replace(/\r/g, '%0D').replace(/\n/g, '%0A').replace(/"/g, '%22');
}

export interface EncodedForm {
  contentType: string;
  length: number;
  body: AsyncIterable<Uint8Array>;
}

/** `form` as multipart/form-data: stand-ins read from storage as they are reached, the rest as they are. */
export async function encodeMultipart(form: FormData): Promise<EncodedForm> {
  const boundary = `----imagegen${randomUUID().replace(/-/g, '')}`;
  type Piece = Uint8Array | UploadPart | File;
  const pieces: Piece[] = [];
  const text = (s: string) => pieces.push(Buffer.from(s, 'utf8'));
  for (const [name, value] of form) {
    if (typeof value === 'string') {
      text(`--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${value}\r\n`);
      continue;
    }
    const part = await partFor(value);
    const type = part?.type ?? (value.type || 'application/octet-stream');
    text(
      `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"; ` +
        `filename="${escapeName(value.name)}"\r\nContent-Type: ${type}\r\n\r\n`,
    );
    pieces.push(part ?? value);
    text('\r\n');
  }
  text(`--${boundary}--\r\n`);
  const sizeOf = (p: Piece) => (p instanceof Uint8Array ? p.byteLength : p.size);
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: pieces.reduce((sum, p) => sum + sizeOf(p), 0),
    body: (async function* () {
      for (const p of pieces) {
        if (p instanceof Uint8Array) yield p;
        else if (p instanceof File) yield* Readable.fromWeb(p.stream() as never) as AsyncIterable<Uint8Array>;
        else {
          let sent = 0;
          for await (const chunk of await p.open()) {
            sent += chunk.byteLength;
            yield chunk;
          }
          // A part that changed size since it was measured would corrupt the body's framing.
          if (sent !== p.size) throw new Error(`${p.name}: read ${sent} bytes where ${p.size} were expected`);
        }
      }
    })(),
  };
}
