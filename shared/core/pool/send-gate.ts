/**
 * The last step before a call leaves this process: at most as many calls to a deployment as its quota
 * allows in the service's evaluation window. Azure OpenAI evaluates a rate limit over a short period,
 * "typically 1 or 10 seconds", not over the minute (learn.microsoft.com/azure/ai-services/openai/how-to/quota),
 * so calls that woke late on a busy machine and would go out together wait here, each for its share of the
 * 1-second window, instead of meeting a 429. A token bucket: capacity the RPM's share of one second (at
 * least one call), refilled at the RPM.
 */

const WINDOW_MS = 1_000;

export class SendGate {
  private tokens: number;
  private updatedAt: number;
  private readonly capacity: number;
  private readonly perMs: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    rpm: number,
    private readonly now: () => number,
    private readonly sleep: (ms: number) => Promise<unknown>,
  ) {
    this.capacity = Math.max(1, Math.floor((rpm * WINDOW_MS) / 60_000));
    this.perMs = rpm / 60_000;
    this.tokens = this.capacity;
    this.updatedAt = now();
  }

  /** Resolves when a call may go; callers go in the order they asked. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.waitForToken());
    this.queue = turn;
    return turn;
  }

  /** A call that took its turn but never left (its connection failed first): the turn is not spent. */
  giveBack(): void {
    this.tokens = Math.min(this.capacity, this.tokens + 1);
  }

  private async waitForToken(): Promise<void> {
    for (;;) {
      const t = this.now();
      this.tokens = Math.min(this.capacity, this.tokens + (t - this.updatedAt) * this.perMs);
      this.updatedAt = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(Math.ceil((1 - this.tokens) / this.perMs));
    }
  }
}
