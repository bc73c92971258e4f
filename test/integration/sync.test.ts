/**
 * The drop folder and the mirror: files are uploaded whole, sidecar first, as soon as they stop changing; blob names
 * the file system cannot hold are reported, never a stall or an escape; a changed container is mirrored at once.
 */
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDropSync, startMirror } from '../../local/sync.js';
import { connectionString, startAzurite, type Azurite } from '../../local/storage/azurite.js';
import { createStorageClients, type StorageClients } from '../../shared/adapters/azure/storage.js';

let azurite: Azurite;
let storage: StorageClients;
let dir: string;
beforeAll(async () => {
  azurite = await startAzurite();
  storage = await createStorageClients({
    kind: 'connectionString',
    connectionString: connectionString(azurite.blobEndpoint, azurite.queueEndpoint),
  });
  dir = mkdtempSync(path.join(tmpdir(), 'mirror-'));
});
afterAll(async () => {
  await azurite.close();
  rmSync(dir, { recursive: true, force: true });
});

it('mirrors every blob after one whose name is a file and a folder at once, and reports that one once', async () => {
  const container = storage.container('published');
  await container.createIfNotExists();
  for (const name of ['a', 'a/b.png', 'z.png']) await container.getBlockBlobClient(name).uploadData(Buffer.from(name));
  const errors: string[] = [];
  const mirror = startMirror({
    containers: [container],
    dir,
    intervalMs: 50,
    onError: (err) => errors.push((err as Error).message),
  });
  try {
    const deadline = Date.now() + 10_000;
    while (!existsSync(path.join(dir, 'published', 'z.png')) && Date.now() < deadline) await sleep(50);
    await sleep(300); // a few more passes: the conflict must not be reported again
    expect(readFileSync(path.join(dir, 'published', 'z.png'), 'utf8')).toBe('z.png');
    expect(readFileSync(path.join(dir, 'published', 'a'), 'utf8')).toBe('a');
    expect(errors).toEqual([expect.stringMatching(/^cannot mirror published\/a\/b\.png to .*: (EEXIST|ENOTDIR)/)]);
  } finally {
    await mirror.close();
  }
});

describe('the drop folder', () => {
  const inbox = () => storage.container('inbox');
  beforeAll(async () => {
    await inbox().createIfNotExists();
  });

  it('sees files copied in without waiting for its next look, and uploads the sidecar first, then the mask, then the image', async () => {
    const drop = mkdtempSync(path.join(tmpdir(), 'drop-'));
    const uploaded: string[] = [];
    // No second look for a minute: only the folder's own events can find the files.
    const sync = startDropSync({ dir: drop, inbox: inbox(), intervalMs: 60_000, onUpload: (n) => uploaded.push(n) });
    try {
      await sleep(100); // the first look, of an empty folder, is done
      for (const name of ['sea.png', 'sea.json', 'sea.mask.png']) writeFileSync(path.join(drop, name), name);
      const deadline = Date.now() + 10_000;
      while (uploaded.length < 3 && Date.now() < deadline) await sleep(20);
      // Intake starts on the pair: with the sidecar already there it need not wait for a late one.
      expect(uploaded).toEqual(['sea.json', 'sea.mask.png', 'sea.png']);
    } finally {
      await sync.close();
      rmSync(drop, { recursive: true, force: true });
    }
  });

  it('holds a pair back while its sidecar, copied a moment later, is still settling', async () => {
    const drop = mkdtempSync(path.join(tmpdir(), 'drop-'));
    const uploaded: string[] = [];
    const sync = startDropSync({ dir: drop, inbox: inbox(), stableMs: 2_000, onUpload: (n) => uploaded.push(n) });
    try {
      for (const name of ['cove.png', 'cove.mask.png']) writeFileSync(path.join(drop, name), name);
      await sleep(300); // well within stableMs: the pair is still settling when the sidecar appears
      writeFileSync(path.join(drop, 'cove.json'), '{}');
      const deadline = Date.now() + 15_000;
      while (uploaded.length < 3 && Date.now() < deadline) await sleep(50);
      expect(uploaded).toEqual(['cove.json', 'cove.mask.png', 'cove.png']);
    } finally {
      await sync.close();
      rmSync(drop, { recursive: true, force: true });
    }
  });

  it('uploads a file still being written only once it stops changing, whole', async () => {
    const drop = mkdtempSync(path.join(tmpdir(), 'drop-'));
    const uploaded: string[] = [];
    const sync = startDropSync({ dir: drop, inbox: inbox(), stableMs: 2_000, onUpload: (n) => uploaded.push(n) });
    const file = path.join(drop, 'slow.png');
    const chunks = Array.from({ length: 10 }, (_, i) => Buffer.alloc(1000, i));
    try {
      for (const chunk of chunks) {
        appendFileSync(file, chunk); // a slow copy: well under stableMs between writes
        await sleep(50);
      }
      const deadline = Date.now() + 15_000;
      while (uploaded.length < 1 && Date.now() < deadline) await sleep(50);
      await sleep(500); // a few more looks: no second upload
      expect(uploaded).toEqual(['slow.png']);
      expect((await inbox().getBlobClient('slow.png').downloadToBuffer()).equals(Buffer.concat(chunks))).toBe(true);
    } finally {
      await sync.close();
      rmSync(drop, { recursive: true, force: true });
    }
  });
});

it('mirrors a container said to have changed, without waiting for its next look', async () => {
  const container = storage.container('quarantine');
  await container.createIfNotExists();
  const out = mkdtempSync(path.join(tmpdir(), 'mirror-'));
  const mirror = startMirror({ containers: [container], dir: out, intervalMs: 60_000 });
  try {
    await sleep(200); // the first look is done
    await container.getBlockBlobClient('kicked.png').uploadData(Buffer.from('kicked'));
    mirror.changed('quarantine');
    const target = path.join(out, 'quarantine', 'kicked.png');
    const deadline = Date.now() + 10_000;
    const read = () => (existsSync(target) ? readFileSync(target, 'utf8') : undefined);
    while (read() !== 'kicked' && Date.now() < deadline) await sleep(20);
    expect(read()).toBe('kicked');
  } finally {
    await mirror.close();
    rmSync(out, { recursive: true, force: true });
  }
});
