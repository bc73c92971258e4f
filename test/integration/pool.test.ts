/**
 * A pool of three emulated deployments through the local runtime (Azurite, Event Grid, the host, the
 * real SDKs): a burst spreads over the regions by quota, a region that answers every call with a 5xx is
 * taken out without failing a job, and ALLOWED_REGIONS keeps drops out of the others.
 */
import { afterEach, expect, it } from 'vitest';
import { gradientImage, rectMask } from '../helpers/images.js';
import { TEST_CA_DIR } from '../helpers/emulator.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

const REGIONS = [
  { region: 'eastus2', rpm: 600 },
  { region: 'westus3', rpm: 300 },
  { region: 'swedencentral', rpm: 300 },
];
let p: TestPipeline | undefined;

afterEach(async () => {
  await p?.close();
  p = undefined;
});

async function burst(pipeline: TestPipeline, n: number): Promise<void> {
  const image = await gradientImage(64, 64);
  const mask = await rectMask(64, 64, { x: 0, y: 0, width: 16, height: 16 });
  for (let i = 0; i < n; i++) {
    await pipeline.upload(`pool/p${i}.png`, image);
    await pipeline.upload(`pool/p${i}.mask.png`, mask);
  }
}

const editsBy = (jobs: { edit?: { deployment?: string } }[]) => {
  const out: Record<string, number> = {};
  for (const j of jobs) if (j.edit?.deployment) out[j.edit.deployment] = (out[j.edit.deployment] ?? 0) + 1;
  return out;
};

it('spreads a burst over the regions and keeps publishing while one region fails every call', async () => {
  p = await startTestPipeline({ emulatorPool: { regions: REGIONS, options: { caDir: TEST_CA_DIR } } });
  p.emulatorPool!.emulators.get('eastus2')!.setFaults({ http503: 1 });
  await burst(p, 12);
  const jobs = await p.waitFor((js) => js.length === 12 && js.every((j) => j.state === 'published'), 120_000);
  // eastus2 failed its first calls and was taken out: every edit was made by the other two, and no job failed.
  const by = editsBy(jobs);
  expect(Object.keys(by).sort()).toEqual(['swedencentral-gpt-image-2', 'westus3-gpt-image-2']);
  // Still out, or waiting for its probe on a slow machine; never closed while it keeps failing.
  expect(['open', 'half-open']).toContain(await p.runtime.pool.availability('eastus2-gpt-image-2'));
  const failedCalls = p
    .emulatorPool!.emulators.get('eastus2')!
    .requests()
    .filter((r) => r.path.endsWith('/images/edits'));
  expect(failedCalls.length).toBeGreaterThanOrEqual(3);
  expect(failedCalls.length).toBeLessThan(12);
}, 180_000);

it('sends drops only to the regions ALLOWED_REGIONS names', async () => {
  p = await startTestPipeline({
    emulatorPool: { regions: REGIONS, options: { caDir: TEST_CA_DIR } },
    settings: { ALLOWED_REGIONS: 'swedencentral' },
  });
  await burst(p, 4);
  const jobs = await p.waitFor((js) => js.length === 4 && js.every((j) => j.state === 'published'), 120_000);
  expect(editsBy(jobs)).toEqual({ 'swedencentral-gpt-image-2': 4 });
  for (const r of ['eastus2', 'westus3']) expect(p.emulatorPool!.emulators.get(r)!.requests()).toEqual([]);
}, 180_000);
