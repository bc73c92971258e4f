import { afterAll, beforeAll, expect, it } from 'vitest';
import { gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

let p: TestPipeline;
beforeAll(async () => {
  p = await startTestPipeline();
});
afterAll(() => p.close());

it('smoke', async () => {
  await p.upload('smoke/cat.json', JSON.stringify({ prompt: 'a hat' }));
  await p.upload('smoke/cat.png', await gradientImage(256, 256));
  await p.upload('smoke/cat.mask.png', await rectMask(256, 256, { x: 10, y: 10, width: 50, height: 50 }));
  const job = await p.settled('smoke/cat');
  console.log(JSON.stringify(job, null, 1));
  console.log(p.logs.map((l) => `${l.level} ${l.functionName}: ${l.message}`).join('\n'));
  expect(job.state).toBe('published');
});
