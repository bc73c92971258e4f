/**
 * A model endpoint that refuses the connection (the emulator down for a moment): the job's log and record say
 * why (code, system call, address), the failed try counts no model call, and the retry keeps the job's place
 * in the schedule instead of queueing behind every job reserved since. Through Azurite, the local host and
 * the emulator, restarted on the port the pipeline points at.
 */
import { afterAll, expect, it } from 'vitest';
import { WELL_KNOWN_API_KEY, type Emulator } from '../../local/emulator/server.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

let p: TestPipeline | undefined;
let emulator: Emulator | undefined;
afterAll(async () => {
  await p?.close();
  await emulator?.close();
});

it('a refused connection is logged with its cause, costs no model call and keeps the slot', async () => {
  // Started once for its port and its CA (kept in the test CA folder), then closed: the port refuses.
  const first = await startTestEmulator();
  const { port, caPem } = first;
  await first.close();
  p = await startTestPipeline({
    emulator: false,
    settings: {
      AZURE_OPENAI_ENDPOINT: `http://127.0.0.1:${port}`,
      AZURE_OPENAI_API_KEY: WELL_KNOWN_API_KEY,
      EXTRA_TRUST_ANCHORS: caPem,
      // One call every 30 s: the second drop's slot is half a minute after the first's.
      IMAGE_MODEL_RPM: '2',
      IMAGE_MODEL_MAX_ATTEMPTS: '6',
    },
  });
  const [image, mask] = await Promise.all([
    gradientImage(128, 128),
    rectMask(128, 128, { x: 32, y: 32, width: 32, height: 32 }),
  ]);
  for (const stem of ['refused/first', 'refused/second']) {
    await p.upload(`${stem}.png`, image);
    await p.upload(`${stem}.mask.png`, mask);
  }
  await p.waitFor((jobs) => jobs.some((j) => j.history.some((h) => h.error?.code === 'connection')));
  emulator = await startTestEmulator({ port });

  const first_ = await p.settled('refused/first', 20_000);
  expect(first_.state).toBe('published');
  expect(first_.attempts).toBeGreaterThanOrEqual(2);
  expect(first_.modelCalls).toBe(1);
  const refused = first_.history.find((h) => h.error?.code === 'connection')!;
  expect(refused.error!.message).toContain(`ECONNREFUSED connect 127.0.0.1:${port}`);
  expect(refused.note).toContain('nothing reached the model: no call counted, the job keeps its slot');
  expect(p.logs.some((l) => l.message.includes(`ECONNREFUSED connect 127.0.0.1:${port}`))).toBe(true);
  // Its retry went in its own slot, ahead of the second drop's, which has not been called yet.
  const second = (await p.jobs()).find((j) => j.drop.key === 'refused/second')!;
  expect(second).toMatchObject({ state: 'queued', modelCalls: 0 });
  expect(emulator.requests()).toHaveLength(1);
}, 60_000);
