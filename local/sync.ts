/**
 * The local drop folder: files under `./drop/` (present at start or written later) are uploaded to
 * `inbox/` under the same relative path once they stop changing, and every container is mirrored to
 * `./out/<container>/`.
 */
import { createReadStream, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';

export interface Poller {
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.json': 'application/json',
};

/** Streamed, so a huge file dropped by mistake costs time, not memory (intake rejects it with a report). */
async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** Editors and downloads write these while a file is incomplete. */
const PARTIAL = /(^|\/)(\.[^/]*|[^/]*(\.tmp|\.part|\.crdownload|\.swp|~))$/i;

function poll(intervalMs: number, tick: () => Promise<void>, onError: (err: unknown) => void): Poller {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const loop = () => {
    running = tick()
      .catch(onError)
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, intervalMs);
      });
  };
  loop();
  return {
    close: async () => {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export interface DropSyncOptions {
  dir: string;
  inbox: ContainerClient;
  intervalMs?: number;
  onUpload?: (name: string) => void;
  /** A file whose bytes are already in inbox/ (uploaded before a restart): not uploaded again. */
  onUnchanged?: (name: string, uploadedAt: Date | undefined) => void;
  onError?: (err: unknown) => void;
}

/** Uploads each file once it has kept the same size and modification time for one interval. */
export function startDropSync(options: DropSyncOptions): Poller {
  mkdirSync(options.dir, { recursive: true });
  const seen = new Map<string, { signature: string; uploaded?: string }>();
  return poll(
    options.intervalMs ?? 500,
    async () => {
      const entries = await readdir(options.dir, { recursive: true, withFileTypes: true });
      for (const entry of entries) {
        if (!entry.isFile()) continue;
        const full = path.join(entry.parentPath, entry.name);
        const name = path.relative(options.dir, full).split(path.sep).join('/');
        if (PARTIAL.test(name)) continue;
        const info = await stat(full).catch(() => undefined);
        if (!info) continue;
        const signature = `${info.size}:${info.mtimeMs}`;
        const known = seen.get(name);
        if (!known || known.signature !== signature) {
          seen.set(name, { signature, ...(known?.uploaded ? { uploaded: known.uploaded } : {}) });
          continue; // changed since the last look: wait until it is stable
        }
        if (known.uploaded === signature) continue;
        // After a restart every file is new to this process; one whose bytes are already in inbox/ is
        // not uploaded again (a new upload would be a new job, and with a real model a new bill).
        const sha256 = await sha256Of(full);
        const blob = options.inbox.getBlockBlobClient(name);
        const existing = await blob.getProperties().catch(() => undefined);
        if (existing?.metadata?.dropsha256 !== sha256) {
          await blob.uploadFile(full, {
            blobHTTPHeaders: {
              blobContentType: CONTENT_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream',
            },
            metadata: { dropsha256: sha256 },
          });
          options.onUpload?.(name);
        } else options.onUnchanged?.(name, existing.lastModified);
        known.uploaded = signature;
      }
    },
    options.onError ?? (() => undefined),
  );
}

export interface MirrorOptions {
  containers: ContainerClient[];
  dir: string;
  intervalMs?: number;
  onError?: (err: unknown) => void;
}

/** Copies every blob of the containers to `<dir>/<container>/<name>`, keeping the copies current. */
export function startMirror(options: MirrorOptions): Poller {
  const root = path.resolve(options.dir);
  const written = new Map<string, string>(); // local path → etag
  const unwritable = new Map<string, string>(); // local path → etag that could not be written (reported once)
  return poll(
    options.intervalMs ?? 500,
    async () => {
      const present = new Set<string>();
      for (const container of options.containers) {
        for await (const blob of container.listBlobsFlat()) {
          const target = path.resolve(root, container.containerName, ...blob.name.split('/'));
          // Blob names may hold '..' segments; never write outside the mirror.
          if (!target.startsWith(`${root}${path.sep}`)) continue;
          present.add(target);
          if (written.get(target) === blob.properties.etag || unwritable.get(target) === blob.properties.etag) continue;
          let bytes: Buffer;
          try {
            // Conditional on the listed version, so a blob rewritten mid-copy is never mirrored half old, half new.
            bytes = await container
              .getBlobClient(blob.name)
              .downloadToBuffer(0, undefined, { conditions: { ifMatch: blob.properties.etag } });
          } catch {
            continue; // changed or gone since the listing; the next pass catches up
          }
          try {
            mkdirSync(path.dirname(target), { recursive: true });
            await writeFile(target, bytes);
          } catch (err) {
            // A name this file system cannot hold (e.g. both `a` and `a/b`) must not stall every blob after it.
            const problem = `cannot mirror ${container.containerName}/${blob.name} to ${target}: ${(err as Error).message}`;
            options.onError?.(new Error(problem));
            unwritable.set(target, blob.properties.etag);
            continue;
          }
          written.set(target, blob.properties.etag);
        }
      }
      for (const target of written.keys()) {
        if (!present.has(target)) {
          await rm(target, { force: true });
          written.delete(target);
        }
      }
    },
    options.onError ?? (() => undefined),
  );
}
