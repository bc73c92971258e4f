/**
 * The local drop folder: files under `./drop/` (present at start or written later) are uploaded to
 * `inbox/` under the same relative path once they stop changing, and every container is mirrored to
 * `./out/<container>/`.
 */
import { createReadStream, mkdirSync, watch } from 'node:fs';
import { createHash } from 'node:crypto';
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import type { BlobItem, ContainerClient } from '@azure/storage-blob';

export interface Poller {
  /** Looks again after `delayMs` (0: now), sooner than the fallback interval; a kick during a pass runs one more. */
  kick(delayMs?: number): void;
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

/**
 * Runs `tick` every `intervalMs`, or sooner when kicked or when a pass asks to look again (its result,
 * in ms). Passes never overlap.
 */
function poll(intervalMs: number, tick: () => Promise<number | void>, onError: (err: unknown) => void): Poller {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let due = Infinity;
  let running: Promise<void> | undefined;
  let kickedAt: number | undefined; // a kick during a pass: when to run the next one
  const schedule = (delayMs: number) => {
    if (stopped) return;
    const at = Date.now() + delayMs;
    if (running) kickedAt = Math.min(kickedAt ?? Infinity, at);
    else if (at < due) {
      clearTimeout(timer);
      due = at;
      timer = setTimeout(run, delayMs);
    }
  };
  const run = () => {
    due = Infinity;
    running = tick()
      .catch((err: unknown) => void onError(err))
      .then((next) => {
        running = undefined;
        const kicked = kickedAt === undefined ? Infinity : Math.max(0, kickedAt - Date.now());
        kickedAt = undefined;
        schedule(Math.min(intervalMs, next ?? Infinity, kicked));
      });
  };
  run();
  return {
    kick: (delayMs = 0) => schedule(delayMs),
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
  /** The fallback look when file-system events are missed or unavailable. */
  intervalMs?: number;
  /** How long a file must keep the same size and modification time before it is uploaded. */
  stableMs?: number;
  onUpload?: (name: string) => void;
  /** A file whose bytes are already in inbox/ (uploaded before a restart): not uploaded again. */
  onUnchanged?: (name: string, uploadedAt: Date | undefined) => void;
  onError?: (err: unknown) => void;
}

/**
 * Sidecars first, then masks, then images: intake starts on the pair, and finding the sidecar already
 * there spares it the wait for a late one (DROP_SETTLE).
 */
function uploadOrder(name: string): number {
  if (name.toLowerCase().endsWith('.json')) return 0;
  return /\.mask\.[^./]+$/i.test(name) ? 1 : 2;
}

/** `trip/beach` for trip/beach.png, trip/beach.mask.png and trip/beach.json. */
function dropStem(name: string): string {
  return name.replace(/(\.mask)?\.[^./]+$/i, '');
}

/** Watches the folder so a new file is seen at once; the poll remains the fallback (and the only way where unsupported). */
function watchDrop(dir: string, onChange: () => void): () => void {
  try {
    const watcher = watch(dir, { recursive: true }, onChange);
    watcher.on('error', () => watcher.close());
    return () => watcher.close();
  } catch {
    return () => undefined;
  }
}

/** Uploads each file once it has kept the same size and modification time for `stableMs`. */
export function startDropSync(options: DropSyncOptions): Poller {
  mkdirSync(options.dir, { recursive: true });
  const stableMs = options.stableMs ?? 250;
  const seen = new Map<string, { signature: string; since: number; uploaded?: string }>();
  const poller = poll(
    options.intervalMs ?? 500,
    async () => {
      const stable: { name: string; full: string; signature: string }[] = [];
      const changing = new Set<string>(); // drops with a part not yet stable
      let lookAgain: number | undefined;
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
        if (known?.uploaded === signature) continue;
        const now = Date.now();
        if (!known || known.signature !== signature) {
          seen.set(name, { signature, since: now, ...(known?.uploaded ? { uploaded: known.uploaded } : {}) });
          lookAgain = stableMs; // changed since the last look: wait until it is stable
          changing.add(dropStem(name));
        } else if (now - known.since < stableMs) {
          lookAgain = Math.min(lookAgain ?? Infinity, known.since + stableMs - now);
          changing.add(dropStem(name));
        } else stable.push({ name, full, signature });
      }
      // A drop's parts go up together: one still changing (say its sidecar) holds back the others.
      const ready = stable.filter((f) => !changing.has(dropStem(f.name)));
      ready.sort((x, y) => uploadOrder(x.name) - uploadOrder(y.name));
      for (const file of ready) {
        await uploadStable(options, file);
        seen.get(file.name)!.uploaded = file.signature;
      }
      return lookAgain;
    },
    options.onError ?? (() => undefined),
  );
  // A burst of events (one per write) makes one look shortly after.
  const unwatch = watchDrop(options.dir, () => poller.kick(20));
  return {
    kick: poller.kick,
    close: async () => {
      unwatch();
      await poller.close();
    },
  };
}

/**
 * Uploads a stable file, unless its bytes are already in inbox/: after a restart every file is new to this
 * process, and a new upload would be a new job (with a real model a new bill).
 */
async function uploadStable(options: DropSyncOptions, file: { name: string; full: string }): Promise<void> {
  const { name, full } = file;
  const sha256 = await sha256Of(full);
  const blob = options.inbox.getBlockBlobClient(name);
  const existing = await blob.getProperties().catch(() => undefined);
  if (existing?.metadata?.dropsha256 === sha256) {
    options.onUnchanged?.(name, existing.lastModified);
    return;
  }
  await blob.uploadFile(full, {
    blobHTTPHeaders: { blobContentType: CONTENT_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream' },
    metadata: { dropsha256: sha256 },
  });
  options.onUpload?.(name);
}

export interface MirrorOptions {
  containers: ContainerClient[];
  dir: string;
  intervalMs?: number;
  onError?: (err: unknown) => void;
}

export interface Mirror extends Poller {
  /** A blob of `container` was written: copies that container now, ahead of the next full pass. */
  changed(container: string): void;
}

interface MirrorState {
  root: string;
  written: Map<string, string>; // local path → etag
  unwritable: Map<string, string>; // local path → etag that could not be written (reported once)
  onError?: (err: unknown) => void;
}

/**
 * Copies every blob of the containers to `<dir>/<container>/<name>`, keeping the copies current: all of
 * them every `intervalMs` (removing copies of deleted blobs), a changed container at once.
 */
export function startMirror(options: MirrorOptions): Mirror {
  const intervalMs = options.intervalMs ?? 500;
  const state: MirrorState = { root: path.resolve(options.dir), written: new Map(), unwritable: new Map() };
  if (options.onError) state.onError = options.onError;
  const dirty = new Set<string>();
  let fullDue = 0;
  const poller = poll(
    intervalMs,
    async () => {
      const full = Date.now() >= fullDue;
      const containers = full ? options.containers : options.containers.filter((c) => dirty.has(c.containerName));
      dirty.clear();
      const present = new Set<string>();
      for (const container of containers) await mirrorContainer(container, state, present);
      if (!full) return;
      fullDue = Date.now() + intervalMs;
      for (const target of state.written.keys()) {
        if (!present.has(target)) {
          await rm(target, { force: true });
          state.written.delete(target);
        }
      }
    },
    options.onError ?? (() => undefined),
  );
  return {
    ...poller,
    changed: (container) => {
      dirty.add(container);
      poller.kick(20); // the writes of one result (image, report) make one pass
    },
  };
}

/**
 * Copies the container's new and changed blobs; adds every blob's local path to `present`. Reports go
 * last, so a report in ./out/ always has its image beside it (the listing puts `x.provenance.json` before
 * `x.webp`).
 */
async function mirrorContainer(container: ContainerClient, state: MirrorState, present: Set<string>): Promise<void> {
  const reports: BlobItem[] = [];
  for await (const blob of container.listBlobsFlat()) {
    if (blob.name.endsWith('.provenance.json')) reports.push(blob);
    else await mirrorBlob(container, blob, state, present);
  }
  for (const blob of reports) await mirrorBlob(container, blob, state, present);
}

async function mirrorBlob(container: ContainerClient, blob: BlobItem, state: MirrorState, present: Set<string>) {
  const { root, written, unwritable } = state;
  const target = path.resolve(root, container.containerName, ...blob.name.split('/'));
  // Blob names may hold '..' segments; never write outside the mirror.
  if (!target.startsWith(`${root}${path.sep}`)) return;
  present.add(target);
  if (written.get(target) === blob.properties.etag || unwritable.get(target) === blob.properties.etag) return;
  let bytes: Buffer;
  try {
    // Conditional on the listed version, so a blob rewritten mid-copy is never mirrored half old, half new.
    bytes = await container
      .getBlobClient(blob.name)
      .downloadToBuffer(0, undefined, { conditions: { ifMatch: blob.properties.etag } });
  } catch {
    return; // changed or gone since the listing; the next pass catches up
  }
  try {
    mkdirSync(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
  } catch (err) {
    // A name this file system cannot hold (e.g. both `a` and `a/b`) must not stall every blob after it.
    const problem = `cannot mirror ${container.containerName}/${blob.name} to ${target}: ${(err as Error).message}`;
    state.onError?.(new Error(problem));
    unwritable.set(target, blob.properties.etag);
    return;
  }
  written.set(target, blob.properties.etag);
}
