/**
 * The bookkeeping both local Event Grids (blob events, outcome events) need for deliveries in flight:
 * the backoff waits a shutdown cuts short, and the tasks `idle()` and `close()` wait for.
 */
export interface Deliveries {
  /** Waits `ms`, or less if the deliveries are closed meanwhile. */
  wait(ms: number): Promise<void>;
  /**
   * Posts until the endpoint answers 2xx, with Event Grid's schedule: exponential backoff with jitter, at
   * most `maxAttempts`, cut short by `close()`. `post` gets the delivery count (`aeg-delivery-count`).
   * Resolves `undefined` once delivered, else the last outcome (an HTTP status or an error's message).
   */
  retry(
    policy: RetryPolicy,
    post: (deliveryCount: number) => Promise<Response>,
    onFailure: () => void,
  ): Promise<string | undefined>;
  /** Runs a delivery in the background; its failure is the delivery's own business. */
  track(task: Promise<void>): void;
  readonly pending: number;
  readonly closed: boolean;
  /** Resolves once no delivery is pending. */
  idle(): Promise<void>;
  /** Stops every wait at once and lets the pending deliveries finish (they see `closed`). */
  close(): Promise<void>;
}

export interface RetryPolicy {
  maxAttempts: number;
  initialRetryMs: number;
  maxRetryMs: number;
}

export function trackDeliveries(): Deliveries {
  const pending = new Set<Promise<void>>();
  const waits = new Map<NodeJS.Timeout, () => void>();
  let closed = false;
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        waits.delete(t);
        resolve();
      }, ms);
      waits.set(t, resolve);
    });
  return {
    wait,
    async retry(policy, post, onFailure) {
      let retry = policy.initialRetryMs;
      let lastOutcome = 'not attempted';
      for (let attempt = 1; attempt <= policy.maxAttempts && !closed; attempt++) {
        try {
          const res = await post(attempt - 1);
          await res.arrayBuffer();
          if (res.ok) return undefined;
          lastOutcome = `HTTP ${res.status}`;
        } catch (err) {
          lastOutcome = (err as Error).message; // down, refused or not validated: retried below
        }
        onFailure();
        if (attempt < policy.maxAttempts && !closed) {
          await wait(retry * (0.8 + Math.random() * 0.4));
          retry = Math.min(policy.maxRetryMs, retry * 2);
        }
      }
      return lastOutcome;
    },
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
