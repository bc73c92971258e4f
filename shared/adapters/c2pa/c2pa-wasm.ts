/**
 * c2pa-rs, through the WebAssembly build in `@contentauth/c2pa-wasm` (`c2pa-node` cannot install here:
 * its install step downloads a native binary). The wasm module is compiled once per process, on first
 * use, so function modules that never verify or sign never pay for it.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as C2paWasm from '@contentauth/c2pa-wasm';

export type C2paModule = typeof C2paWasm;

let loading: Promise<C2paModule> | undefined;

export function loadC2pa(): Promise<C2paModule> {
  loading ??= (async () => {
    const mod = await import('@contentauth/c2pa-wasm');
    const wasmPath = createRequire(import.meta.url).resolve('@contentauth/c2pa-wasm/c2pa.wasm');
    await mod.default({ module_or_path: await readFile(wasmPath) });
    return mod;
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}

/** c2pa-rs throws strings, not Error objects; this turns whatever it threw into a message. */
export function c2paErrorMessage(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  if (typeof thrown === 'string') return thrown;
  try {
    return JSON.stringify(thrown);
  } catch {
    return String(thrown);
  }
}

/**
 * A Blob whose bytes can be read synchronously. The wasm signer reads its source through the browser's
 * `FileReaderSync`, which Node lacks; `installFileReaderSync` provides one that understands these blobs.
 */
export class BytesBlob extends Blob {
  constructor(readonly content: Uint8Array) {
    super([content as Uint8Array<ArrayBuffer>]);
  }

  override slice(start?: number, end?: number): Blob {
    return new BytesBlob(this.content.subarray(...clampRange(this.content.length, start, end)));
  }
}

function clampRange(size: number, start = 0, end = size): [number, number] {
  const norm = (i: number) => (i < 0 ? Math.max(size + i, 0) : Math.min(i, size));
  return [norm(start), Math.max(norm(start), norm(end))];
}

export function installFileReaderSync(): void {
  const g = globalThis as { FileReaderSync?: unknown };
  if (g.FileReaderSync) return;
  g.FileReaderSync = class FileReaderSync {
    readAsArrayBuffer(blob: Blob): ArrayBuffer {
      if (!(blob instanceof BytesBlob)) throw new TypeError('FileReaderSync polyfill reads only BytesBlob instances');
      const { content } = blob;
      return content.buffer.slice(content.byteOffset, content.byteOffset + content.byteLength) as ArrayBuffer;
    }
  };
}
