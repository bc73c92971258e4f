import { expect, it } from 'vitest';
import { Semaphore } from '../../shared/semaphore.js';

it('never runs more tasks at once than its limit', async () => {
  const sem = new Semaphore(2);
  let active = 0;
  let peak = 0;
  const task = () =>
    sem.run(async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
    });
  await Promise.all(Array.from({ length: 10 }, task));
  // A task queued while a slot is being handed over must not sneak in.
  await Promise.all([task(), task(), sem.run(async () => undefined), task()]);
  expect(peak).toBe(2);
});
