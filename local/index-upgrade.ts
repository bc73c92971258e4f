/**
 * Local start-up's upgrade of a state written before the jobs index, in the background: the host serves
 * while older jobs are indexed (the console and `/api/jobs` say how far it is), new jobs are indexed by their
 * own writes meanwhile. A walk that fails or meets another walker (the sweep) is tried again a little later,
 * from where the index says it stands, until the whole ledger is walked or the pipeline closes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ledger } from '../shared/app/ledger.js';
import { upgradeIndex, type WalkPace } from '../shared/app/index-upgrade.js';

const RETRY_MS = 2_000;
/**
 * Azurite runs in this process and does its work in it (each transaction, each page of record reads holds the
 * process while LokiJS does it), so the walk writes one small transaction at a time and rests as long as each
 * page took: slower, but the host keeps answering and new drops keep moving while it runs.
 */
const LOCAL_PACE: WalkPace = { atOnce: 1, perTransaction: 8, restRatio: 1, background: true };

export interface BackgroundUpgrade {
  /** Resolves when the walk is done (or stopped); never rejects. */
  finished: Promise<void>;
  /** Stops after the page in hand; its place is kept, so the next start goes on from there. */
  close(): Promise<void>;
}

export function startIndexUpgrade(ledger: Ledger, say: (message: string) => void): BackgroundUpgrade {
  const stopping = new AbortController();
  const run = async () => {
    const started = performance.now();
    let indexed = 0;
    // Said only when the walk takes a while (an empty or indexed state starts in milliseconds).
    const note = setTimeout(() => say('indexing older jobs in the background; the console shows how far'), 3000);
    while (!stopping.signal.aborted) {
      try {
        const part = await upgradeIndex(ledger, Infinity, stopping.signal, LOCAL_PACE);
        indexed += part.indexed;
        if (part.done) break;
      } catch (err) {
        say(`upgrade: ${(err as Error).message}; trying again in ${RETRY_MS / 1000} s`);
      }
      await sleep(RETRY_MS, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
    clearTimeout(note);
    if (indexed > 0 && !stopping.signal.aborted)
      say(`${indexed} older jobs indexed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  };
  const finished = run();
  return {
    finished,
    close: async () => {
      stopping.abort();
      await finished;
    },
  };
}
