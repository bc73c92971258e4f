/**
 * A long edit that outruns Azure's synchronous limit, through the local runtime: the emulator makes the
 * edit and then answers 504 (as Azure's gateway does), so the work was done and billed but no image came.
 * Azure's images API is synchronous and offers no way to fetch a finished edit by its client request id,
 * so the pipeline can only call again: it keeps the job's slot and deployment, counts both calls, and says
 * in the job's history that the first may have been billed. Then the retry publishes.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

let p: TestPipeline;

beforeAll(async () => {
  p = await startTestPipeline({ settings: { IMAGE_MODEL_RPM: '6000' } });
});
afterAll(() => p.close());

it('retries an unanswered edit in its slot and records that the first call may have been billed', async () => {
  p.emulator!.scheduleFaults(['http504']);
  await p.upload('late/a.png', await gradientImage(256, 256));
  await p.upload('late/a.mask.png', await rectMask(256, 256, { x: 64, y: 64, width: 64, height: 64 }));
  const job = await p.settled('late/a', 60_000);
  expect(job.state).toBe('published');
  expect(job.attempts).toBe(2);
  expect(job.modelCalls).toBe(2);
  const retry = job.history.find((h) => h.note?.includes('no answer came'));
  expect(retry?.note).toMatch(/keeps its slot; Azure may have finished and billed/);
  const calls = p.emulator!.requests().filter((r) => r.path.endsWith('/images/edits'));
  expect(calls.map((r) => r.status)).toEqual([504, 200]);
  // Both calls made an image: the first was done (and billed) with no way to fetch it.
  expect(calls.every((r) => r.outputSha256.length === 1)).toBe(true);
  expect(new Set(calls.map((r) => r.clientRequestId)).size).toBe(2);
});
