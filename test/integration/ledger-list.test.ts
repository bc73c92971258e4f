/**
 * Paging through the ledger on real storage: the jobs container also holds `active/`, `breaker/`, `pacer/`
 * and `pending/` folders, which a listing counts in its page size, so pages bring fewer jobs than asked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStorage, type LocalStorage } from '../../local/environment.js';
import { Ledger } from '../../shared/app/ledger.js';
import { containerRecords } from '../../shared/adapters/azure/blob-records.js';
import { createStorageClients, ensureStorageLayout } from '../../shared/adapters/azure/storage.js';
import { CONTAINERS } from '../../shared/core/containers.js';
import { newJob } from '../../shared/core/job.js';
import { editRequest } from '../helpers/edit-request.js';

describe('the ledger listing', () => {
  let storage: LocalStorage;
  let ledger: Ledger;
  // Spread over the hex range, so the folders' names sort between them ('ab' < 'active/' < 'b4').
  const ids = Array.from({ length: 29 }, (_, i) => (i * 9).toString(16).padStart(2, '0'));

  beforeAll(async () => {
    storage = await startLocalStorage();
    const clients = await createStorageClients({
      kind: 'connectionString',
      connectionString: storage.connectionString,
    });
    await ensureStorageLayout(clients);
    ledger = new Ledger(containerRecords(clients.container(CONTAINERS.jobs)));
    for (const id of ids) {
      const drop = { path: 'list', stem: id };
      const inputs = { image: { name: `list/${id}.png`, etag: `"${id}"`, bytes: 1 } };
      await ledger.create(newJob(id, drop, inputs, { state: 'queued', request: editRequest }, new Date()));
    }
    await ledger.markPending('list/waiting', new Date());
    await ledger.pacer('d', 60).reserve('x:0');
  });
  afterAll(async () => storage?.close());

  it('returns every job exactly once, page after page, whatever the page size', async () => {
    for (const limit of [1, 4, 7, 100]) {
      const seen: string[] = [];
      let token: string | undefined;
      do {
        const page = await ledger.list({ limit, ...(token ? { continuationToken: token } : {}) });
        expect(page.jobs.length).toBeLessThanOrEqual(limit);
        seen.push(...page.jobs.map((j) => j.id));
        token = page.continuationToken;
      } while (token);
      expect(seen, `pages of ${limit}`).toEqual([...ids].sort());
    }
  });
});
