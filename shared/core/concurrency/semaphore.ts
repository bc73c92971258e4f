/**
 * Bounds how many tasks of a kind one process runs at once: model calls (IMAGE_MODEL_CONCURRENCY), intakes,
 * the console's downloads and submissions (CONSOLE_MAX_TRANSFERS).
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // the releaser hands its slot over
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  /**
   * Takes a slot only if one is free now, for work that answers "busy" rather than queue (a request).
   * The returned function gives the slot back; calling it again does nothing.
   */
  tryAcquire(): (() => void) | undefined {
    if (this.active >= this.limit) return undefined;
    this.active++;
    let held = true;
    return () => {
      if (held) this.release();
      held = false;
    };
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
