/**
 * A 400 for a parameter the deployed model does not take, through the local runtime: IMAGE_MODEL says
 * gpt-image-1.5 (which takes input_fidelity, so the drop's sidecar passes validation) while the deployment
 * serves gpt-image-1-mini, which answers 400 unsupported_parameter. That is the app's configuration, not
 * the drop: logged as a misconfiguration naming the parameter and both models, retried, never rejected.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

let p: TestPipeline;

beforeAll(async () => {
  p = await startTestPipeline({
    emulator: { deployments: { images: 'gpt-image-1-mini' } },
    settings: {
      AZURE_OPENAI_DEPLOYMENT: 'images',
      IMAGE_MODEL: 'gpt-image-1.5',
      IMAGE_MODEL_MAX_ATTEMPTS: '2',
      IMAGE_MODEL_RPM: '6000',
    },
  });
});
afterAll(() => p.close());

it('an unsupported parameter is a configuration error naming the parameter and model, not a rejected drop', async () => {
  await p.upload('fidelity/a.png', await gradientImage(256, 256));
  await p.upload('fidelity/a.mask.png', await rectMask(256, 256, { x: 64, y: 64, width: 64, height: 64 }));
  await p.upload('fidelity/a.json', JSON.stringify({ prompt: 'a red hat', input_fidelity: 'high' }));
  const job = await p.settled('fidelity/a', 60_000);
  expect(job.state).toBe('failed');
  expect(job.attempts).toBe(2);
  expect(job.error).toMatchObject({ code: 'unsupported_parameter' });
  const errors = p.logs.filter(
    (l) => l.level === 'error' && l.message.includes('the app is misconfigured: check IMAGE_MODEL'),
  );
  expect(errors).toHaveLength(2);
  expect(errors[0]!.message).toMatch(
    /input_fidelity is not accepted by the deployment of gpt-image-1\.5 .*gpt-image-1-mini/,
  );
  expect(p.emulator!.requests().every((r) => r.status === 400)).toBe(true);
});
