import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../shared/core/concurrency/single-flight.js';

/** A read that resolves when told, counting how often it was started. */
function gatedRead() {
  let started = 0;
  let release!: (v: string) => void;
  const work = () => {
    started++;
    return new Promise<string>((resolve) => (release = resolve));
  };
  return { work, release: (v: string) => release(v), started: () => started };
}

describe('SingleFlight', () => {
  it('gives calls made while a read is in flight that read’s result, and reads anew after it', async () => {
    const flight = new SingleFlight<string>();
    const read = gatedRead();
    const first = flight.run('pacer/eastus2', read.work);
    const second = flight.run('pacer/eastus2', read.work);
    read.release('v1');
    expect(await Promise.all([first, second])).toEqual(['v1', 'v1']);
    expect(read.started()).toBe(1);

    const third = flight.run('pacer/eastus2', read.work);
    read.release('v2');
    expect(await third).toBe('v2');
    expect(read.started()).toBe(2);
  });

  it('keeps keys apart and does not keep a failure for later calls', async () => {
    const flight = new SingleFlight<string>();
    const a = flight.run('a', async () => 'A');
    const b = flight.run('b', async () => 'B');
    expect(await Promise.all([a, b])).toEqual(['A', 'B']);
    await expect(flight.run('a', async () => Promise.reject(new Error('503')))).rejects.toThrow('503');
    expect(await flight.run('a', async () => 'A again')).toBe('A again');
  });
});
