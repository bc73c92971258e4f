/** A small chaos run in CI: faults, duplicate and shuffled events, a SIGKILLed host; every invariant must hold. */
import { expect, it } from 'vitest';
import { runChaos } from '../../local/chaos.js';
import { TEST_CA_DIR } from '../helpers/emulator.js';

it('keeps every promise through faults, duplicates, reordering and a killed host', async () => {
  const lines: string[] = [];
  const result = await runChaos({ drops: 24, kills: 1, caDir: TEST_CA_DIR, log: (l) => lines.push(l) });
  expect(
    result.invariants.filter((i) => !i.ok),
    lines.join('\n'),
  ).toEqual([]);
  expect(result.invariants.map((i) => i.name)).toEqual([
    'the run settled before the deadline',
    'every accepted drop ends in exactly one terminal state',
    'nothing published twice',
    'model calls per job ≤ 1 + its recorded retries',
    'every file in published/ passes the gate again',
    'no blob left behind outside the terminal containers',
  ]);
  expect(result.figures['host kills']).toBe(1);
}, 300_000);

it('keeps every promise with a deployment pool: a region outage and one of two hosts killed', async () => {
  const lines: string[] = [];
  const result = await runChaos({ drops: 24, kills: 1, pool: true, caDir: TEST_CA_DIR, log: (l) => lines.push(l) });
  expect(
    result.invariants.filter((i) => !i.ok),
    lines.join('\n'),
  ).toEqual([]);
  expect(result.invariants.map((i) => i.name)).toContain('the ledger names the pool deployment of every edit');
  expect(result.figures['host kills']).toBe(1);
  expect(
    lines.some((l) => /westus3 fails every call/.test(l)),
    lines.join('\n'),
  ).toBe(true);
}, 400_000);
