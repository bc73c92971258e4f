/**
 * Intake, edit, publish and sweep against the in-memory runtime and a fake clock: every order of the
 * output write, the ledger write and the output's event, and the write conditions that keep one drop's
 * result from overwriting another's.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { processEditMessage } from '../../shared/app/edit.js';
import { intakeBlob } from '../../shared/app/intake.js';
import { publishEditedBlob } from '../../shared/app/publish.js';
import { sweep } from '../../shared/app/sweep.js';
import type { JobRecord } from '../../shared/core/job.js';
import { classifyBlobName, dropBlobName } from '../../shared/core/drop.js';
import { gradientImage, rectMask } from '../helpers/images.js';
import { INTAKE_CONCURRENCY } from '../../shared/composition.js';
import { fakeVerifier, memoryLogger, memoryRuntime, type MemoryRuntime } from './memory-runtime.js';

let image: Buffer;
let mask: Buffer;
let rt: MemoryRuntime;
let log: ReturnType<typeof memoryLogger>;

beforeEach(async () => {
  image ??= await gradientImage(64, 64);
  mask ??= await rectMask(64, 64, { x: 0, y: 0, width: 16, height: 16 });
  rt = memoryRuntime();
  log = memoryLogger(rt);
});

async function queuedJob(stem = 'trip/beach'): Promise<JobRecord> {
  await rt.upload(`${stem}.png`, image);
  await rt.upload(`${stem}.mask.png`, mask);
  expect(await intakeBlob(rt, `${stem}.mask.png`, undefined, log)).toBe('queued');
  return (await onlyJob(stem))!;
}

async function onlyJob(dropKey: string): Promise<JobRecord | undefined> {
  for (const id of (await rt.ledger.list({ limit: 100 })).jobs.filter((j) => j.drop === dropKey).map((j) => j.id))
    return (await rt.ledger.get(id))?.value;
  return undefined;
}

const deliverEdited = (name: string, etag: string) => publishEditedBlob(rt, name, etag, log);

describe('intake', () => {
  it('queues a valid drop once, with its message due at its model slot; a duplicate event is a no-op', async () => {
    const job = await queuedJob();
    expect(job.state).toBe('queued');
    expect(rt.sent).toHaveLength(1);
    expect(rt.sent[0]!.message).toMatchObject({ jobId: job.id, ticket: 0 });
    expect(await intakeBlob(rt, 'trip/beach.png', undefined, log)).toBe('duplicate');
    expect(rt.sent).toHaveLength(1);
  });

  it('rejects a drop whose mask is not the image size, with a report and no message', async () => {
    await rt.upload('bad/harbor.png', image);
    await rt.upload('bad/harbor.mask.png', await rectMask(32, 32, { x: 0, y: 0, width: 8, height: 8 }));
    expect(await intakeBlob(rt, 'bad/harbor.png', undefined, log)).toBe('rejected');
    expect(rt.sent).toHaveLength(0);
    expect(rt.blobStore.json('rejected', 'bad/harbor.json')).toMatchObject({
      drop: 'bad/harbor',
      code: 'invalid_drop',
    });
  });

  it('works on at most INTAKE_CONCURRENCY drops at once, in arrival order; a drop left to settle holds no place', async () => {
    rt = memoryRuntime({ DROP_SETTLE: '100ms' });
    log = memoryLogger(rt);
    const list = rt.blobs.listDropParts.bind(rt.blobs);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const listed: string[] = [];
    rt.blobs.listDropParts = async (drop) => {
      if (drop.path === 'burst') {
        listed.push(drop.stem);
        await gate;
      }
      return list(drop);
    };
    // No sidecar: intake gives the drop DROP_SETTLE (and Last-Modified's second) before it looks again.
    await rt.upload('late/sidecar.png', image);
    await rt.upload('late/sidecar.mask.png', mask);
    const settling = intakeBlob(rt, 'late/sidecar.mask.png', undefined, log);
    const stems = Array.from({ length: INTAKE_CONCURRENCY + 3 }, (_, i) => String(i));
    for (const stem of stems) {
      await rt.upload(`burst/${stem}.json`, '{"prompt": "a kite"}');
      await rt.upload(`burst/${stem}.png`, image);
      await rt.upload(`burst/${stem}.mask.png`, mask);
    }
    const intakes = stems.map((stem) => intakeBlob(rt, `burst/${stem}.mask.png`, undefined, log));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(listed).toEqual(stems.slice(0, INTAKE_CONCURRENCY));
    open();
    expect(await Promise.all(intakes)).toEqual(stems.map(() => 'queued'));
    expect(listed).toEqual(stems);
    expect(await settling).toBe('queued');
  });

  it("never writes over another drop's rejection report", async () => {
    const name = classifyBlobName('odd/x.gif');
    if (name.ok) throw new Error('odd/x.gif is outside the drop contract');
    const report = dropBlobName(name.drop, '.json');
    await rt.blobStore.put('rejected', report, Buffer.from('{"drop":"someone else"}'), {
      metadata: { owner: 'other%2Fdrop', ownerstamp: '2026-01-01' },
    });
    await rt.upload('odd/x.gif', 'GIF89a');
    expect(await intakeBlob(rt, 'odd/x.gif', undefined, log)).toBe('rejected');
    expect(rt.blobStore.json('rejected', report)).toEqual({ drop: 'someone else' });
    expect(rt.logs.some((l) => l.includes(`rejected/${report} already holds a result of other/drop`))).toBe(true);
  });
});

describe('edit → publish hand-off', () => {
  it('the ledger first: the event finds `edited` and publish publishes', async () => {
    const job = await queuedJob();
    const events: [string, string][] = [];
    rt.blobStore.onBlobCreated = (container, name, etag) => void (container === 'edited' && events.push([name, etag]));
    expect(await processEditMessage(rt, rt.sent[0]!.message, log)).toBe('edited');
    expect((await rt.ledger.get(job.id))?.value.state).toBe('edited');
    expect(await deliverEdited(...events[0]!)).toBe('published');
    const done = (await rt.ledger.get(job.id))!.value;
    expect(done.state).toBe('published');
    expect(done.publish?.by).toBe('publish');
  });

  it('the event first: publish marks the job, the worker records `edited` and publishes it', async () => {
    const job = await queuedJob();
    const answers: string[] = [];
    // The event is delivered (and handled) before writeOutput even returns to the worker.
    rt.blobStore.onBlobCreated = async (container, name, etag) => {
      if (container === 'edited') answers.push(await deliverEdited(name, etag));
    };
    expect(await processEditMessage(rt, rt.sent[0]!.message, log)).toBe('edited');
    expect(answers).toEqual(['handed-off']);
    const done = (await rt.ledger.get(job.id))!.value;
    expect(done.state).toBe('published');
    expect(done.publish?.by).toBe('edit');
    expect(done.history.map((h) => h.state)).toEqual(['queued', 'editing', 'edited', 'publishing', 'published']);
    expect(rt.blobStore.get('published', 'trip/beach.png')?.bytes.toString()).toBe('edited image');
  });

  it('stores the image before its report, so whoever sees the report finds the image', async () => {
    await queuedJob();
    const created: string[] = [];
    rt.blobStore.onBlobCreated = async (container, name, etag) => {
      // A slow image write: a report written alongside it, not after it, would be seen first.
      if (container === 'published' && name.endsWith('.png')) await new Promise((r) => setTimeout(r, 20));
      created.push(`${container}/${name}`);
      if (container === 'edited') await deliverEdited(name, etag);
    };
    expect(await processEditMessage(rt, rt.sent[0]!.message, log)).toBe('edited');
    expect(created.filter((n) => n.startsWith('published/'))).toEqual([
      'published/trip/beach.png',
      'published/trip/beach.provenance.json',
    ]);
  });

  it("the event lands between the worker's read and its conditional `edited` write: still published once, by the worker", async () => {
    const job = await queuedJob();
    let output: [string, string] | undefined;
    rt.blobStore.onBlobCreated = (container, name, etag) => void (container === 'edited' && (output = [name, etag]));
    let raced = false;
    rt.records.beforeWrite = async (name) => {
      // The worker is about to write `edited` on the version it read: publish's mark gets in first.
      if (name === `${job.id}.json` && output && !raced) {
        raced = true;
        expect(await deliverEdited(...output)).toBe('handed-off');
      }
    };
    expect(await processEditMessage(rt, rt.sent[0]!.message, log)).toBe('edited');
    const done = (await rt.ledger.get(job.id))!.value;
    expect(done.state).toBe('published');
    expect(done.publish?.by).toBe('edit');
    expect(raced).toBe(true);
    // A late duplicate of the event publishes nothing twice.
    expect(await deliverEdited(...output!)).toBe('duplicate');
  });

  it('a worker that dies after the hand-off leaves the job to the sweep, which publishes it once the lease is out', async () => {
    const job = await queuedJob();
    rt.blobStore.onBlobCreated = async (container, name, etag) => {
      if (container !== 'edited') return;
      expect(await deliverEdited(name, etag)).toBe('handed-off');
      throw new Error('the worker dies here');
    };
    await expect(processEditMessage(rt, rt.sent[0]!.message, log)).rejects.toThrow('the worker dies here');
    rt.blobStore.onBlobCreated = () => {};
    expect((await rt.ledger.get(job.id))!.value).toMatchObject({ state: 'editing', outputEvent: expect.any(Object) });
    rt.clock.advance(10 * 60_000);
    expect((await sweep(rt, log)).republished).toBe(1);
    expect((await rt.ledger.get(job.id))!.value.publish?.by).toBe('sweep');
  });

  it('an in-process publish that fails keeps the edit: the job waits under its lease, then the sweep publishes it', async () => {
    const job = await queuedJob();
    rt.blobStore.onBlobCreated = async (container, name, etag) => {
      if (container === 'edited') expect(await deliverEdited(name, etag)).toBe('handed-off');
    };
    const verifier = await rt.verifier();
    rt.verifier = async () => ({ ...verifier, verify: () => Promise.reject(new Error('c2pa-rs failed to load')) });
    expect(await processEditMessage(rt, rt.sent[0]!.message, log)).toBe('edited');
    expect(rt.logs.some((l) => l.includes('publishing after the hand-off failed (c2pa-rs failed to load)'))).toBe(true);
    expect((await rt.ledger.get(job.id))!.value.state).toBe('publishing');
    rt.verifier = async () => verifier;
    expect((await sweep(rt, log)).republished).toBe(0); // its lease still runs
    rt.clock.advance(61_000);
    expect((await sweep(rt, log)).republished).toBe(1);
    expect((await rt.ledger.get(job.id))!.value).toMatchObject({ state: 'published', publish: { by: 'sweep' } });
  });

  it('a 429 puts the job back after Retry-After without counting an attempt', async () => {
    const job = await queuedJob();
    rt.fakeModel.next = () => ({ kind: 'throttled', retryAfterMs: 20_000, message: 'slow down' });
    expect(await processEditMessage(rt, rt.sent[0]!.message, log)).toBe('throttled');
    const after = (await rt.ledger.get(job.id))!.value;
    expect(after).toMatchObject({ state: 'queued', attempts: 0, throttled: 1, ticket: 1 });
    expect(rt.sent.at(-1)!.visibleAt).toBeGreaterThanOrEqual(rt.clock.t + 20_000 - 3_000);
  });
});

describe('the output write', () => {
  async function* bytesOf(text: string): AsyncIterable<Buffer> {
    yield Buffer.from(text);
  }

  it("an older job's write that discards this attempt's staged output is retried, then written over", async () => {
    const job = await queuedJob();
    const name = 'trip/beach.png';
    const edit = rt.fakeModel.edit.bind(rt.fakeModel);
    rt.fakeModel.edit = async (input) => {
      const outcome = await edit(input);
      rt.fakeModel.edit = edit;
      // While this answer is staged, an older job of the drop commits its own output.
      const older = await rt.blobs.stageOutput(name, bytesOf('older image'));
      await older.commit('image/png', { jobid: 'older', jobcreated: '2020-01-01T00:00:00.000Z' }, null);
      return outcome;
    };
    expect(await processEditMessage(rt, rt.sent[0]!.message, log)).toBe('retrying');
    const retried = (await rt.ledger.get(job.id))!.value;
    expect(retried).toMatchObject({ state: 'queued', attempts: 1 });
    expect(retried.history.at(-1)).toMatchObject({
      error: {
        code: 'output_discarded',
        message: `another write to edited/${name} discarded this attempt's output before it was committed`,
      },
    });
    expect(rt.blobStore.get('edited', name)?.bytes.toString()).toBe('older image');
    rt.clock.advance(10 * 60_000);
    expect(await processEditMessage(rt, rt.sent.at(-1)!.message, log)).toBe('edited');
    expect(rt.blobStore.get('edited', name)).toMatchObject({ metadata: { jobid: job.id, attempt: '2' } });
    expect(rt.blobStore.get('edited', name)?.bytes.toString()).toBe('edited image');
  });
});

describe('publish', () => {
  it('judges a blob with no job behind it and quarantines it beside a report', async () => {
    const etag = await rt.blobStore.put('edited', 'orphans/plain.png', image);
    rt.verifier = async () => fakeVerifier(() => false);
    expect(await deliverEdited('orphans/plain.png', etag)).toBe('quarantined');
    expect(rt.blobStore.get('quarantine', 'orphans/plain.png')).toBeDefined();
    expect(rt.blobStore.json('quarantine', 'orphans/plain.provenance.json')).toMatchObject({
      verdict: 'quarantine',
      job: null,
    });
  });

  it("does not overwrite another drop's published image; the job is rejected with the reason", async () => {
    const job = await queuedJob();
    await rt.blobStore.put('published', 'trip/beach.png', Buffer.from('another drop'), {
      metadata: { owner: 'trip%2Fbeach_', ownerstamp: '2026-01-01' },
    });
    expect(await processEditMessage(rt, rt.sent[0]!.message, log)).toBe('edited');
    const output = rt.blobStore.info('edited', 'trip/beach.png')!;
    expect(await deliverEdited(output.name, output.etag)).toBe('name-taken');
    expect(rt.blobStore.get('published', 'trip/beach.png')?.bytes.toString()).toBe('another drop');
    const done = (await rt.ledger.get(job.id))!.value;
    expect(done).toMatchObject({ state: 'rejected', error: { code: 'name_taken' } });
    expect(rt.blobStore.json('rejected', 'trip/beach.json')).toMatchObject({ code: 'name_taken' });
  });

  it("a newer upload of the same drop replaces the older one's published image", async () => {
    await rt.blobStore.put('published', 'trip/beach.png', Buffer.from('older job'), {
      metadata: { owner: 'trip%2Fbeach', ownerstamp: '2026-01-01T00:00:00.000Z' },
    });
    await queuedJob();
    await processEditMessage(rt, rt.sent[0]!.message, log);
    const output = rt.blobStore.info('edited', 'trip/beach.png')!;
    expect(await deliverEdited(output.name, output.etag)).toBe('published');
    expect(rt.blobStore.get('published', 'trip/beach.png')?.bytes.toString()).toBe('edited image');
  });
});

describe('sweep', () => {
  const deadLetter = (container: string, name: string) => ({
    id: name,
    subject: `/blobServices/default/containers/${container}/blobs/${name}`,
    eventType: 'Microsoft.Storage.BlobCreated',
    data: { api: 'PutBlob' },
  });

  it('replays every dead-lettered event even when one of them fails, and keeps only the failed one', async () => {
    await rt.upload('dead/a.png', image);
    await rt.upload('dead/a.mask.png', mask);
    await rt.upload('dead/b.png', image);
    await rt.upload('dead/b.mask.png', mask);
    const blobs = rt.blobs;
    rt.blobs = {
      ...blobs,
      listDropParts: (drop) =>
        drop.stem === 'a' ? Promise.reject(new Error('storage hiccup')) : blobs.listDropParts(drop),
    };
    const batch = [deadLetter('inbox', 'dead/a.png'), deadLetter('inbox', 'dead/b.png')];
    await rt.blobStore.put('eventgrid-deadletter', 'batch-1.json', Buffer.from(JSON.stringify(batch)));
    const summary = await sweep(rt, log);
    expect(summary).toMatchObject({ deadLettersReplayed: 1, deadLettersFailed: 1 });
    expect(await onlyJob('dead/b')).toMatchObject({ state: 'queued' });
    expect(JSON.parse(rt.blobStore.get('eventgrid-deadletter', 'batch-1.json')!.bytes.toString())).toEqual([batch[0]]);
    expect(
      rt.logs.some((l) => l.startsWith('ERROR dead-lettered event for inbox/dead/a.png failed again: storage hiccup')),
    ).toBe(true);
    rt.blobs = blobs;
    expect((await sweep(rt, log)).deadLettersReplayed).toBe(1);
    expect(rt.blobStore.get('eventgrid-deadletter', 'batch-1.json')).toBeUndefined();
  });

  it('publishes an edited job whose event was lost, after the grace period and not before', async () => {
    const job = await queuedJob();
    await processEditMessage(rt, rt.sent[0]!.message, log); // no event delivered
    rt.clock.advance(60_000);
    expect((await sweep(rt, log)).republished).toBe(0);
    rt.clock.advance(61_000);
    expect((await sweep(rt, log)).republished).toBe(1);
    expect((await rt.ledger.get(job.id))!.value).toMatchObject({ state: 'published', publish: { by: 'sweep' } });
  });

  it('rejects a drop whose mask never came, with the deadline in the same words as everywhere', async () => {
    rt = memoryRuntime({ DROP_DEADLINE: '90s' });
    log = memoryLogger(rt);
    await rt.upload('late/c.png', image);
    expect(await intakeBlob(rt, 'late/c.png', undefined, log)).toBe('waiting');
    rt.clock.advance(91_000);
    expect((await sweep(rt, log)).incompleteRejected).toBe(1);
    expect((await onlyJob('late/c'))?.problems?.[0]).toMatch(/c\.mask\.png did not within 1\.5m$/);
  });
});
