import { expect, it } from 'vitest';
import { Semaphore } from '../../shared/core/concurrency/semaphore.js';

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

it('tryAcquire takes a free slot at once or none, and a slot given back twice counts once', async () => {
  const sem = new Semaphore(2);
  const a = sem.tryAcquire()!;
  const b = sem.tryAcquire()!;
  expect(sem.tryAcquire()).toBeUndefined();
  a();
  a(); // a stream's end and close both release: still one slot
  const c = sem.tryAcquire();
  expect(c).toBeDefined();
  expect(sem.tryAcquire()).toBeUndefined();
  b();
  c!();
  let ran = 0;
  await Promise.all([sem.run(async () => ran++), sem.run(async () => ran++)]);
  expect(ran).toBe(2);
  expect(sem.tryAcquire()).toBeDefined();
});
