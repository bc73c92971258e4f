/**
 * Runs tasks one at a time per key within this process, e.g. the intakes of one drop: its image, mask and
 * sidecar each raise an event, and when they arrive together three intakes would otherwise read, validate
 * and reserve a model slot for the same job at once.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.catch(() => undefined).then(task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      // The last task of a key leaves no entry behind.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
