/**
 * The bookkeeping both local Event Grids (blob events, outcome events) need for deliveries in flight:
 * the backoff waits a shutdown cuts short, and the tasks `idle()` and `close()` wait for.
 */
export interface Deliveries {
  /** Waits `ms`, or less if the deliveries are closed meanwhile. */
  wait(ms: number): Promise<void>;
  /** Runs a delivery in the background; its failure is the delivery's own business. */
  track(task: Promise<void>): void;
  readonly pending: number;
  readonly closed: boolean;
  /** Resolves once no delivery is pending. */
  idle(): Promise<void>;
  /** Stops every wait at once and lets the pending deliveries finish (they see `closed`). */
  close(): Promise<void>;
}

export function trackDeliveries(): Deliveries {
  const pending = new Set<Promise<void>>();
  const waits = new Map<NodeJS.Timeout, () => void>();
  let closed = false;
  return {
    wait: (ms) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          waits.delete(t);
          resolve();
        }, ms);
        waits.set(t, resolve);
      }),
    track(task) {
      const tracked = task.catch(() => undefined).finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
    get pending() {
      return pending.size;
    },
    get closed() {
      return closed;
    },
    async idle() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
    async close() {
      closed = true;
      for (const [t, resolve] of waits) {
        clearTimeout(t);
        resolve();
      }
      await Promise.allSettled([...pending]);
    },
  };
}
