/**
 * Upgrade without loss: a ledger written before the jobs index (one blob per job, no index) is indexed by
 * walking its records once. Local start-up runs it to the end; on Azure each sweep runs a bounded part and
 * keeps its place in the index (`m|upgrade`), so the next sweep goes on where it stopped.
 */
import type { Ledger } from './ledger.js';
import type { JobRecord } from '../core/job.js';

const PAGE = 500;
const READS_AT_ONCE = 16;

export interface UpgradeProgress {
  indexed: number;
  done: boolean;
}

async function indexPage(ledger: Ledger, names: string[]): Promise<number> {
  const jobs: JobRecord[] = [];
  let next = 0;
  const reader = async () => {
    while (next < names.length) {
      const found = await ledger.get(names[next++]!.slice(0, -'.json'.length));
      if (found) jobs.push(found.value); // else deleted since the listing
    }
  };
  await Promise.all(Array.from({ length: READS_AT_ONCE }, reader));
  await ledger.index!.putNew(jobs);
  return jobs.length;
}

/** Indexes up to `maxPages` pages of records not yet walked (all of them when unset). */
export async function upgradeIndex(ledger: Ledger, maxPages = Infinity): Promise<UpgradeProgress> {
  const index = ledger.index;
  if (!index) return { indexed: 0, done: true };
  const progress = await index.readMeta('upgrade');
  if (progress?.value.done === 'true') return { indexed: 0, done: true };
  let token = progress?.value.token || undefined;
  let indexed = 0;
  for (let pages = 0; pages < maxPages; pages++) {
    const page = await ledger.store.page(PAGE, token);
    const names = page.items.map((i) => i.name).filter((n) => n.endsWith('.json'));
    indexed += await indexPage(ledger, names);
    token = page.token;
    await index.writeMeta('upgrade', token ? { token } : { done: 'true', at: new Date().toISOString() });
    if (!token) return { indexed, done: true };
  }
  return { indexed, done: false };
}
