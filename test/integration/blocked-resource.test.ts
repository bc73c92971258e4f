/**
 * Azure's content-policy block of a whole resource (HTTP 403 "temporarily blocked" on every request until
 * Microsoft lifts it), served by the emulator's `blocked` fault, through the local runtime with a pool of
 * two regions: the blocked deployment leaves the pool at its first such answer, jobs move to the other
 * member, nothing is rejected or failed for it, and logs and job histories say "blocked by Azure content
 * policy". Once the block is lifted, a probe brings the deployment back.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jobView } from '../../shared/app/console/views.js';
import { TEST_CA_DIR } from '../helpers/emulator.js';
import { gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

const REGIONS = [
  { region: 'eastus2', rpm: 600 },
  { region: 'westus3', rpm: 300 },
];
const BLOCKED = 'eastus2-gpt-image-2';
let p: TestPipeline;

beforeAll(async () => {
  p = await startTestPipeline({ emulatorPool: { regions: REGIONS, options: { caDir: TEST_CA_DIR } } });
});
afterAll(() => p.close());

async function drop(names: string[]): Promise<void> {
  const image = await gradientImage(64, 64);
  const mask = await rectMask(64, 64, { x: 0, y: 0, width: 16, height: 16 });
  for (const name of names) {
    await p.upload(`blocked/${name}.png`, image);
    await p.upload(`blocked/${name}.mask.png`, mask);
  }
}

const edits = (region: string) =>
  p
    .emulatorPool!.emulators.get(region)!
    .requests()
    .filter((r) => r.path.endsWith('/images/edits'));

it('takes a blocked deployment out at once; its jobs publish through the other member, none rejected', async () => {
  p.emulatorPool!.emulators.get('eastus2')!.setFaults({ blocked: 1 });
  await drop(['a', 'b', 'c', 'd']);
  const jobs = await p.waitFor((js) => js.length === 4 && js.every((j) => j.state === 'published'), 120_000);
  expect(jobs.every((j) => j.edit?.deployment === 'westus3-gpt-image-2')).toBe(true);
  // Calls already in flight when the first 403 came back got it too; each was handled as a block.
  const blockedCalls = edits('eastus2');
  expect(blockedCalls.length).toBeGreaterThanOrEqual(1);
  expect(blockedCalls.every((r) => r.status === 403)).toBe(true);
  expect(await p.runtime.pool.availability(BLOCKED)).toBe('open');
  const notes = jobs.flatMap((j) => j.history).filter((h) => h.note?.includes('blocked by Azure content policy'));
  expect(notes).toHaveLength(blockedCalls.length);
  for (const j of jobs) {
    expect(j.history.some((h) => h.state === 'rejected' || h.state === 'failed')).toBe(false);
    expect(j.attempts).toBe(1); // a blocked call does not use up an attempt
  }
  // The console shows the job's history: blocked, never rejected.
  const moved = jobs.find((j) => j.history.some((h) => h.note?.includes('blocked by Azure content policy')))!;
  const view = JSON.stringify(await jobView(p.runtime, moved));
  expect(view).toContain('is blocked by Azure content policy; waiting for another deployment or its return');
  expect(view).not.toMatch(/reject/i);
  const said = p.logs.filter((l) => l.message.includes(`${BLOCKED} is blocked by Azure content policy`));
  expect(said).toHaveLength(blockedCalls.length);
  expect(p.logs.some((l) => /reject/i.test(l.message) && l.message.includes('blocked'))).toBe(false);
}, 180_000);

it('brings the deployment back when a probe succeeds after the block is lifted', async () => {
  p.emulatorPool!.emulators.get('eastus2')!.setFaults({});
  while ((await p.runtime.pool.availability(BLOCKED)) === 'open') await sleep(250);
  await drop(['e', 'f', 'g', 'h']);
  await p.waitFor((js) => js.length === 8 && js.every((j) => j.state === 'published'), 120_000);
  expect(edits('eastus2').some((r) => r.status === 200)).toBe(true);
  expect(await p.runtime.pool.availability(BLOCKED)).toBe('closed');
}, 180_000);
