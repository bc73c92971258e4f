/** The drop-folder mirror: blob names the file system cannot hold are reported, never a stall or an escape. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMirror } from '../../local/sync.js';
import { connectionString, startAzurite, type Azurite } from '../../local/storage/azurite.js';
import { createStorageClients, type StorageClients } from '../../shared/adapters/storage.js';

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
