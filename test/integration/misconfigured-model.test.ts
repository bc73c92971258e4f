/**
 * A deployment name that does not exist is the app's misconfiguration, not a bad drop: the edit step
 * logs an error naming the setting and retries the job like a transient failure; it never rejects the
 * drop as invalid.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

let p: TestPipeline;

beforeAll(async () => {
  // The emulator serves only the default deployment; the app names another.
  p = await startTestPipeline({
    emulator: { deployments: { 'gpt-image-2': 'gpt-image-2' } },
    settings: { AZURE_OPENAI_DEPLOYMENT: 'no-such-deployment', IMAGE_MODEL_MAX_ATTEMPTS: '2', IMAGE_MODEL_RPM: '6000' },
  });
});
afterAll(() => p.close());

it('a missing deployment is logged as a misconfiguration naming AZURE_OPENAI_DEPLOYMENT and retried, not rejected', async () => {
  await p.upload('wrong/a.png', await gradientImage(256, 256));
  await p.upload('wrong/a.mask.png', await rectMask(256, 256, { x: 64, y: 64, width: 64, height: 64 }));
  const job = await p.settled('wrong/a', 60_000);
  expect(job.state).toBe('failed');
  expect(job.attempts).toBe(2);
  expect(job.error).toMatchObject({ code: 'DeploymentNotFound' });
  expect(job.history.some((h) => h.state === 'queued' && h.note?.startsWith('retrying'))).toBe(true);
  const errors = p.logs.filter(
    (l) => l.level === 'error' && l.message.includes('the app is misconfigured: check AZURE_OPENAI_DEPLOYMENT'),
  );
  expect(errors).toHaveLength(2);
  expect(p.emulator!.requests().every((r) => r.path === '/openai/v1/images/edits' && r.status === 404)).toBe(true);
});
