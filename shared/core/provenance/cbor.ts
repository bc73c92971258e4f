/**
 * A small CBOR decoder (RFC 8949) for reading C2PA claims, assertions and COSE signatures straight from
 * the JUMBF bytes, independently of c2pa-rs. Byte strings come back as Uint8Array, maps as Map, tags
 * as `{ tag, value }`. Bounded: nesting deeper than MAX_DEPTH or a length past the end is an error.
 */
export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | undefined
  | Uint8Array
  | CborValue[]
  | Map<CborValue, CborValue>
  | { tag: number; value: CborValue };

const MAX_DEPTH = 64;

export class CborError extends Error {}

export function decodeCbor(bytes: Uint8Array): CborValue {
  const reader = new CborReader(bytes);
  const value = reader.item(0);
  if (reader.pos !== bytes.length) throw new CborError('bytes after the CBOR item');
  return value;
}

/** Reads CBOR items from `bytes`, `pos` moving past each one read. */
class CborReader {
  private readonly view: DataView;
  pos = 0;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new CborError('CBOR ends early');
  }

  /** The offset of the next `n` bytes, which are then consumed. */
  private take(n: number): number {
    this.need(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private uint(info: number): number {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (!size) throw new CborError(`CBOR length encoding ${info} is not supported`);
    const at = this.take(size);
    if (size === 1) return this.view.getUint8(at);
    if (size === 2) return this.view.getUint16(at);
    if (size === 4) return this.view.getUint32(at);
    const big = this.view.getBigUint64(at);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new CborError('CBOR length too large');
    return Number(big);
  }

  item(depth: number): CborValue {
    if (depth > MAX_DEPTH) throw new CborError('CBOR nested too deep');
    const first = this.bytes[this.take(1)]!;
    const major = first >> 5;
    const info = first & 0x1f;
    if (major === 7) return this.simple(info);
    if (info === 31) return this.indefinite(major, depth);
    const n = this.uint(info);
    switch (major) {
      case 0:
        return n;
      case 1:
        return -1 - n;
      case 2:
        return this.bytes.slice(this.take(n), this.pos);
      case 3:
        return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(this.take(n), this.pos));
      case 4: {
        const out: CborValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        const out = new Map<CborValue, CborValue>();
        for (let i = 0; i < n; i++) out.set(this.item(depth + 1), this.item(depth + 1));
        return out;
      }
      default:
        return { tag: n, value: this.item(depth + 1) };
    }
  }

  private isBreak(): boolean {
    this.need(1);
    return this.bytes[this.pos] === 0xff ? (this.pos++, true) : false;
  }

  private indefinite(major: number, depth: number): CborValue {
    if (major === 2 || major === 3) {
      const chunks: CborValue[] = [];
      while (!this.isBreak()) chunks.push(this.item(depth + 1));
      if (major === 3) return chunks.map((c) => (typeof c === 'string' ? c : fail('bad text chunk'))).join('');
      return Buffer.concat(chunks.map((c) => (c instanceof Uint8Array ? c : fail('bad byte-string chunk'))));
    }
    if (major === 4) {
      const out: CborValue[] = [];
      while (!this.isBreak()) out.push(this.item(depth + 1));
      return out;
    }
    if (major === 5) {
      const out = new Map<CborValue, CborValue>();
      while (!this.isBreak()) out.set(this.item(depth + 1), this.item(depth + 1));
      return out;
    }
    throw new CborError(`indefinite length on CBOR major type ${major}`);
  }

  private simple(info: number): CborValue {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    if (info === 23) return undefined;
    const size = info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (!size) throw new CborError(`CBOR simple value ${info} is not supported`);
    const at = this.take(size);
    if (size === 4) return this.view.getFloat32(at);
    if (size === 8) return this.view.getFloat64(at);
    return halfFloat(this.view.getUint16(at));
  }
}

function fail(why: string): never {
  throw new CborError(why);
}

function halfFloat(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Decoded CBOR as plain JSON-like data: maps become objects (text keys), tags their content. */
export function plainCbor(value: CborValue): unknown {
  if (value instanceof Map) {
    const out = Object.create(null) as Record<string, unknown>; // no prototype: a "__proto__" key is just a key
    for (const [k, v] of value) if (typeof k === 'string' || typeof k === 'number') out[String(k)] = plainCbor(v);
    return out;
  }
  if (Array.isArray(value)) return value.map(plainCbor);
  if (value && typeof value === 'object' && 'tag' in value) return plainCbor(value.value);
  return value;
}

/** A text-keyed field of a decoded CBOR map, or undefined. */
export function field(value: CborValue, key: string | number): CborValue {
  return value instanceof Map ? value.get(key) : undefined;
}

function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.of((major << 5) | n);
  if (n < 0x100) return Buffer.of((major << 5) | 24, n);
  if (n < 0x10000) return Buffer.of((major << 5) | 25, n >> 8, n & 0xff);
  const out = Buffer.alloc(n < 0x100000000 ? 5 : 9);
  out[0] = (major << 5) | (out.length === 5 ? 26 : 27);
  if (out.length === 5) out.writeUInt32BE(n, 1);
  else out.writeBigUInt64BE(BigInt(n), 1);
  return out;
}

/** Definite-length CBOR for what a COSE Sig_structure needs: integers, text, byte strings and arrays. */
export function encodeCbor(value: number | string | Uint8Array | unknown[]): Buffer {
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') {
    const text = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, text.length), text]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  return Buffer.concat([
    head(4, value.length),
    ...value.map((v) => encodeCbor(v as number | string | Uint8Array | unknown[])),
  ]);
}
