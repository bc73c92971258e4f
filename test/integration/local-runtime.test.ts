/** The embedded runtime behaves like the Functions host and Event Grid the app meets on Azure. */
import { mkdtempSync, readFileSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTAINERS, QUEUES } from '../../shared/core/containers.js';
import { encodeMessage } from '../../shared/ports/edit-queue.js';
import { newJob } from '../../shared/core/job.js';
import { startDropSync, startMirror } from '../../local/sync.js';
import { subscriptionsFor } from '../../local/environment.js';
import { gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

let p: TestPipeline;
let image: Buffer;
let mask: Buffer;
beforeAll(async () => {
  p = await startTestPipeline({
    settings: { IMAGE_MODEL_RPM: '6000' },
    queueSettings: { visibilityTimeoutMs: 0, maxPollingIntervalMs: 200 },
  });
  image = await gradientImage(128, 128);
  mask = await rectMask(128, 128, { x: 0, y: 0, width: 32, height: 32 });
});
afterAll(() => p.close());

const blobCreated = (container: string, name: string) => [
  {
    id: 'e1',
    topic: '/subscriptions/0/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/a',
    subject: `/blobServices/default/containers/${container}/blobs/${name}`,
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: new Date().toISOString(),
    data: {
      api: 'PutBlob',
      eTag: '0x1',
      contentLength: 10,
      blobType: 'BlockBlob',
      url: `http://x/${container}/${name}`,
    },
    dataVersion: '',
    metadataVersion: '1',
  },
];

/** What Event Grid sends with every delivery; the host refuses webhook calls without them. */
const EVENT_GRID_HEADERS = { 'aeg-event-type': 'Notification', 'content-type': 'application/json' };

describe('webhooks like the Functions host', () => {
  it('answers the Event Grid subscription validation handshake', async () => {
    const res = await fetch(`${p.host.url}/runtime/webhooks/EventGrid?functionName=intake`, {
      method: 'POST',
      headers: { 'aeg-event-type': 'SubscriptionValidation', 'content-type': 'application/json' },
      body: JSON.stringify([
        { id: 'v', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', data: { validationCode: 'abc-123' } },
      ]),
    });
    expect(await res.json()).toEqual({ validationResponse: 'abc-123' });
  });

  it('runs the named function for POST /runtime/webhooks/EventGrid and answers 200', async () => {
    await p.upload('hook/a.png', image);
    await p.upload('hook/a.mask.png', mask);
    const res = await fetch(`${p.host.url}/runtime/webhooks/EventGrid?functionName=intake`, {
      method: 'POST',
      headers: EVENT_GRID_HEADERS,
      body: JSON.stringify(blobCreated('inbox', 'hook/a.png')),
    });
    expect(res.status).toBe(200);
    expect((await p.settled('hook/a')).state).toBe('published');
  });

  it("accepts /runtime/webhooks/blobs (the blob trigger's Event Grid source) with 202, and refuses malformed batches", async () => {
    const blobs = await fetch(`${p.host.url}/runtime/webhooks/blobs?functionName=Host.Functions.intake`, {
      method: 'POST',
      headers: EVENT_GRID_HEADERS,
      body: JSON.stringify(blobCreated('inbox', 'hook/none.png')),
    });
    expect(blobs.status).toBe(202);
    const bad = await fetch(`${p.host.url}/runtime/webhooks/EventGrid?functionName=intake`, {
      method: 'POST',
      headers: EVENT_GRID_HEADERS,
      body: '[{"not":"an event"}]',
    });
    expect(bad.status).toBe(400);
    const unknown = await fetch(`${p.host.url}/runtime/webhooks/EventGrid?functionName=nope`, {
      method: 'POST',
      headers: EVENT_GRID_HEADERS,
      body: '[]',
    });
    expect(unknown.status).toBe(404);
  });
});

describe('the jobs API', () => {
  it('lists jobs and shows one with its history', async () => {
    await p.upload('api/b.png', image);
    await p.upload('api/b.mask.png', mask);
    const job = await p.settled('api/b');
    // The listing answers from the jobs index, written just after the record `settled` reads.
    const listed = async () =>
      (
        (await (await fetch(`${p.host.url}/api/jobs?state=published`)).json()) as {
          jobs: { id: string; state: string; drop: string }[];
        }
      ).jobs;
    let jobs = await listed();
    for (const deadline = Date.now() + 5_000; !jobs.some((j) => j.id === job.id) && Date.now() < deadline;)
      jobs = await sleep(50).then(listed);
    expect(jobs).toContainEqual(expect.objectContaining({ id: job.id, state: 'published', drop: 'api/b' }));
    const one = (await (await fetch(`${p.host.url}/api/jobs/${job.id}`)).json()) as { history: { state: string }[] };
    expect(one.history.map((h) => h.state)).toEqual(['queued', 'editing', 'edited', 'publishing', 'published']);
    expect((await fetch(`${p.host.url}/api/jobs/${'0'.repeat(32)}`)).status).toBe(404);
    expect((await fetch(`${p.host.url}/api/jobs/not-an-id`)).status).toBe(400);
    expect((await fetch(`${p.host.url}/api/jobs?state=sleeping`)).status).toBe(400);
    const stray = await fetch(`${p.host.url}/api/jobs?state=failed&continuationToken=not-a-token`);
    expect(stray.status).toBe(400);
    expect(((await stray.json()) as { error: string }).error).toMatch(/continuationToken is not one this listing gave/);
    const active = (await (await fetch(`${p.host.url}/api/jobs?state=active`)).json()) as { jobs: { state: string }[] };
    expect(active.jobs.every((j) => !['published', 'quarantined', 'rejected', 'failed'].includes(j.state))).toBe(true);
  });
});

describe('queue trigger', () => {
  it('moves a message that keeps failing to the poison queue, where the sweep finds it', async () => {
    await p.runtime.editQueue.sendMessage(Buffer.from('this is not an edit message').toString('base64'));
    const poison = p.runtime.editPoisonQueue;
    const deadline = Date.now() + 20_000;
    while ((await poison.peekMessages()).peekedMessageItems.length === 0) {
      if (Date.now() > deadline) throw new Error('nothing reached the poison queue');
      await sleep(100);
    }
    expect(p.host.stats().failures.edit).toBe(5); // host.json maxDequeueCount
    await p.host.invoke('sweep', {});
    expect((await poison.peekMessages()).peekedMessageItems).toHaveLength(0);
  });

  it('fails a queued job whose message was poisoned, and leaves a finished job alone', async () => {
    await p.upload('poison/c.png', image);
    await p.upload('poison/c.mask.png', mask);
    const done = await p.settled('poison/c');
    // A queued job whose only message the host gave up on (as after repeated worker crashes).
    const stuck = newJob(
      'f'.repeat(32),
      { path: 'poison', stem: 'stuck' },
      {},
      { state: 'queued', request: done.request! },
      new Date(),
    );
    await p.runtime.ledger.create(stuck);
    for (const job of [done, stuck])
      await p.runtime.editPoisonQueue.sendMessage(encodeMessage({ jobId: job.id, ticket: job.ticket, drop: job.drop }));
    await p.host.invoke('sweep', {});
    expect((await p.runtime.ledger.get(done.id))?.value.state).toBe('published');
    const failed = (await p.runtime.ledger.get(stuck.id))?.value;
    expect(failed?.state).toBe('failed');
    expect(failed?.error?.code).toBe('poison');
    expect(await p.runtime.containers.rejected.getBlobClient('poison/stuck.json').exists()).toBe(true);
  });
});

describe('Event Grid dead-lettering', () => {
  it('dead-letters events it cannot deliver, and the sweep replays them', async () => {
    p.storage.eventGrid.setDelivery({ maxAttempts: 2, initialRetryMs: 50 });
    p.storage.eventGrid.setSubscriptions(subscriptionsFor('http://127.0.0.1:9')); // nothing listens on port 9
    try {
      await p.upload('dead/d.png', image);
      await p.upload('dead/d.mask.png', mask);
      await p.storage.eventGrid.idle();
    } finally {
      p.storage.eventGrid.setSubscriptions(subscriptionsFor(p.host.url));
      p.storage.eventGrid.setDelivery({ maxAttempts: 12, initialRetryMs: 500 });
    }
    const dead = await p.blobNames('deadLetter');
    expect(dead.length).toBe(2);
    expect((await p.jobs()).some((j) => j.drop.key === 'dead/d')).toBe(false);
    await p.host.invoke('sweep', {});
    expect((await p.settled('dead/d')).state).toBe('published');
    expect(await p.blobNames('deadLetter')).toEqual([]);
  });
});

describe('drop folder and mirror', () => {
  it('uploads files written to the drop folder and mirrors every container to out/', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'drop-'));
    const drop = path.join(root, 'drop');
    const out = path.join(root, 'out');
    mkdirSync(path.join(drop, 'trip'), { recursive: true });
    writeFileSync(path.join(drop, 'trip', 'beach.png'), image); // present before the sync starts
    const sync = startDropSync({ dir: drop, inbox: p.runtime.containers.inbox, intervalMs: 100 });
    const mirror = startMirror({
      containers: Object.values(CONTAINERS).map((c) => p.runtime.storage.container(c)),
      dir: out,
      intervalMs: 100,
    });
    try {
      await sleep(300);
      writeFileSync(path.join(drop, 'trip', 'beach.mask.png'), mask); // written later
      writeFileSync(path.join(drop, 'trip', '.beach.png.swp'), 'editor scratch'); // never uploaded
      expect((await p.settled('trip/beach')).state).toBe('published');
      const published = path.join(out, 'published', 'trip', 'beach.png');
      const report = path.join(out, 'published', 'trip', 'beach.provenance.json');
      const deadline = Date.now() + 10_000;
      while (!(existsSync(published) && existsSync(report)) && Date.now() < deadline) await sleep(100);
      const blob = await p.runtime.containers.published.getBlobClient('trip/beach.png').downloadToBuffer();
      expect(readFileSync(published).equals(blob)).toBe(true);
      expect(JSON.parse(readFileSync(report, 'utf8')).verdict).toBe('publish');
      expect(await p.runtime.containers.inbox.getBlobClient('trip/.beach.png.swp').exists()).toBe(false);
    } finally {
      await sync.close();
      await mirror.close();
    }
  });
});

describe('the real Functions host', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { main: string };

  it('package.json main names every function module, compiled', async () => {
    const { functionModuleFiles } = await import('../../local/functions.js');
    const modules = functionModuleFiles().map((f) => f.replace(/\.ts$/, '.js'));
    expect(modules).toEqual([
      'console-api.js',
      'console.js',
      'edit.js',
      'intake.js',
      'jobs.js',
      'outcome-events.js',
      'publish.js',
      'sweep.js',
    ]);
    // The host loads the bundle (build/bundle.ts), one entry per function module.
    expect(pkg.main).toBe('dist/app/*.js');
    for (const m of modules)
      expect(existsSync(new URL(`../../dist/app/${m}`, import.meta.url)), `dist/app/${m} (run npm run build)`).toBe(
        true,
      );
  });

  it('host.json declares the v4 extension bundle and the queue settings the local host honours', () => {
    const host = JSON.parse(readFileSync(new URL('../../host.json', import.meta.url), 'utf8'));
    expect(host.version).toBe('2.0');
    expect(host.extensionBundle).toEqual({ id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' });
    expect(host.extensions.queues).toMatchObject({ maxDequeueCount: 5, messageEncoding: 'base64' });
  });

  it('registers each function with the trigger the app needs', async () => {
    const { loadFunctionDefinitions } = await import('../../local/functions.js');
    const triggers = Object.fromEntries((await loadFunctionDefinitions()).map((d) => [d.name, d.trigger]));
    expect(triggers).toEqual({
      console: { type: 'http', route: 'console/{asset?}', methods: ['GET'], authLevel: 'anonymous' },
      'console-api': {
        type: 'http',
        route: 'console/api/{resource}/{id?}',
        methods: ['GET', 'POST'],
        authLevel: 'anonymous',
      },
      edit: { type: 'storageQueue', queueName: QUEUES.edit, connection: 'AzureWebJobsStorage' },
      events: { type: 'http', route: 'events', methods: ['GET'], authLevel: 'function' },
      intake: { type: 'eventGrid' },
      jobs: { type: 'http', route: 'jobs/{id?}', methods: ['GET'], authLevel: 'function' },
      publish: { type: 'eventGrid' },
      sweep: { type: 'timer', schedule: '%SWEEP_SCHEDULE%' },
    });
  });
});
