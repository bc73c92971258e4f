/** Bad input never crashes a worker, never burns model quota, never loses the drop: it ends in a readable report. */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTerminal } from '../../shared/core/job.js';
import { badInputCorpus, type BadDrop } from '../corpus/bad-inputs.js';
import { gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

let p: TestPipeline;
let corpus: BadDrop[];

beforeAll(async () => {
  // Sidecars are uploaded after their pairs here, so give them the settle time real drops get.
  p = await startTestPipeline({ settings: { IMAGE_MODEL_RPM: '6000', DROP_DEADLINE: '2s', DROP_SETTLE: '2s' } });
  corpus = await badInputCorpus('bad');
  for (const drop of corpus) {
    for (const f of drop.files) await (f.rawPath ? p.uploadRaw(f.name, f.bytes) : p.upload(f.name, f.bytes));
  }
});
afterAll(() => p.close());

async function report(name: string): Promise<{ problems: string[]; jobId: string }> {
  const blob = p.runtime.containers.rejected.getBlobClient(name);
  const deadline = Date.now() + 20_000;
  while (!(await blob.exists())) {
    if (Date.now() > deadline)
      throw new Error(`no report at rejected/${name}; reports: ${(await p.blobNames('rejected')).join(', ')}`);
    await sleep(100);
  }
  return JSON.parse((await blob.downloadToBuffer()).toString('utf8'));
}

describe('the bad-input corpus', async () => {
  const cases = (await badInputCorpus('bad')).map((c) => ({ id: c.id, report: c.report, problem: c.problem }));
  it.each(cases)('$id → a specific rejection report', async ({ report: name, problem }) => {
    const r = await report(name);
    expect(r.problems.join('\n')).toMatch(problem);
    const job = (await p.runtime.ledger.get(r.jobId))?.value;
    expect(job?.state).toBe('rejected');
    expect(job?.modelCalls).toBe(0);
  });

  it('made no model call at all, and the worker still serves the next drop', async () => {
    expect(p.emulator!.requests().filter((r) => r.path.includes('/images/'))).toHaveLength(0);
    await p.upload('good/after.png', await gradientImage(128, 128));
    await p.upload('good/after.mask.png', await rectMask(128, 128, { x: 0, y: 0, width: 10, height: 10 }));
    expect((await p.settled('good/after')).state).toBe('published');
    expect(p.host.stats().failures).toEqual({});
  });

  it('a part whose partner never arrives is rejected by the sweep after DROP_DEADLINE', async () => {
    await p.upload('lonely/cat.png', await gradientImage(64, 64));
    await sleep(2_200);
    await p.host.invoke('sweep', {});
    const r = await report('lonely/cat.json');
    expect(r.problems[0]).toMatch(/incomplete drop: cat\.png arrived .* but cat\.mask\.png did not within 2\.0s/);
    const jobs = await p.jobs();
    expect(jobs.filter((j) => j.drop.key === 'lonely/cat').map((j) => j.state)).toEqual(['rejected']);
    expect(jobs.every((j) => isTerminal(j.state))).toBe(true);
  });
});
