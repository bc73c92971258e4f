/**
 * Calls for one key made while an earlier one is in flight share its result, e.g. reads of one blob: when a
 * burst's intakes all ask every pool member's schedule and breaker at once, one GET per blob answers them
 * all instead of one each (6 GETs per intake with three members). A shared result is at most one round trip
 * older than a read of one's own; a write that depends on it goes under the blob's ETag anyway.
 */
export class SingleFlight<T> {
  private readonly inflight = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    let shared = this.inflight.get(key);
    if (!shared) {
      shared = work().finally(() => this.inflight.delete(key));
      this.inflight.set(key, shared);
    }
    return shared;
  }
}
