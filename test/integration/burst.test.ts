/** A burst of drops against a tight quota: paced into an even stream, not a 429 storm. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { isTerminal } from '../../shared/core/job.js';
import { gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

const DROPS = 20;
let p: TestPipeline;
beforeAll(async () => {
  p = await startTestPipeline({ emulator: { rpm: 30 }, settings: { IMAGE_MODEL_RPM: '30' } });
});
afterAll(() => p.close());

it(`${DROPS} drops against the emulator at 30 RPM: none failed, all edited and published`, async () => {
  const image = await gradientImage(128, 128);
  const mask = await rectMask(128, 128, { x: 0, y: 0, width: 32, height: 32 });
  await Promise.all(
    Array.from({ length: DROPS }, async (_, i) => {
      await p.upload(`burst/${i}.json`, JSON.stringify({ prompt: `variation ${i}` }));
      await p.upload(`burst/${i}.png`, image);
      await p.upload(`burst/${i}.mask.png`, mask);
    }),
  );
  const jobs = await p.waitFor((js) => js.length === DROPS && js.every((j) => isTerminal(j.state)), 120_000);
  expect(jobs.map((j) => j.state).filter((s) => s !== 'published')).toEqual([]);
  const calls = p.emulator!.requests().filter((r) => r.path.endsWith('/images/edits'));
  const throttled = calls.filter((r) => r.status === 429).length;
  expect(calls.length - throttled).toBe(DROPS); // one successful call per drop
  expect(throttled / calls.length).toBeLessThanOrEqual(0.05);
}, 150_000);
