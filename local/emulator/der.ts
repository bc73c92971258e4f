/** Just enough DER to build an RFC 3161 time-stamp token and to read a certificate's issuer and serial. */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.of(tag), length(body.length), body]);
}

export const sequence = (...items: Uint8Array[]) => tlv(0x30, ...items);
/** DER orders SET OF members by their encodings. */
export const set = (...items: Uint8Array[]) => tlv(0x31, ...[...items].sort(Buffer.compare));
export const octets = (bytes: Uint8Array) => tlv(0x04, bytes);
export const explicit = (n: number, ...items: Uint8Array[]) => tlv(0xa0 | n, ...items);
/** `[n] IMPLICIT SET OF`: the set's members under a context tag. */
export const implicitSet = (n: number, ...items: Uint8Array[]) => tlv(0xa0 | n, ...[...items].sort(Buffer.compare));

export function integer(value: number | bigint | Uint8Array): Buffer {
  let bytes: Buffer;
  if (value instanceof Uint8Array) bytes = Buffer.from(value);
  else {
    let hex = BigInt(value).toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    bytes = Buffer.from(hex, 'hex');
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0 && (bytes[start + 1]! & 0x80) === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.of(0), bytes]);
  return tlv(0x02, bytes);
}

export function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a! + b!];
  for (const arc of rest) {
    const septets: number[] = [];
    for (let v = arc; ; v = Math.floor(v / 128)) {
      septets.unshift(v & 0x7f);
      if (v < 128) break;
    }
    out.push(...septets.map((s, i) => (i < septets.length - 1 ? s | 0x80 : s)));
  }
  return tlv(0x06, Buffer.from(out));
}

export function generalizedTime(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-11-21T12:34:56.789Z
  const text = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return tlv(0x18, Buffer.from(text, 'ascii'));
}

interface Element {
  tag: number;
  /** The whole encoding, header included. */
  raw: Buffer;
  content: Buffer;
}

function readElement(buf: Buffer, offset: number): Element & { end: number } {
  const tag = buf[offset]!;
  let len = buf[offset + 1]!;
  let header = 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + buf[offset + 2 + i]!;
    header += count;
  }
  const end = offset + header + len;
  return { tag, raw: buf.subarray(offset, end), content: buf.subarray(offset + header, end), end };
}

function children(el: Element): Element[] {
  const out: Element[] = [];
  for (let off = 0; off < el.content.length;) {
    const child = readElement(el.content, off);
    out.push(child);
    off = child.end;
  }
  return out;
}

/** The issuer Name (DER) and serial number (DER INTEGER content) of an X.509 certificate. */
export function certificateIssuerAndSerial(certDer: Uint8Array): { issuer: Buffer; serial: Buffer } {
  const cert = readElement(Buffer.from(certDer), 0);
  const tbs = children(cert)[0]!;
  const fields = children(tbs);
  const offset = fields[0]!.tag === 0xa0 ? 1 : 0; // [0] version is optional
  return { serial: fields[offset]!.content, issuer: fields[offset + 2]!.raw };
}
