/**
 * Outcome events end to end: the pipeline sends them with the real EventGridPublisherClient to the local
 * topic, which validates each webhook with the CloudEvents handshake and delivers; a small HTTP server here
 * is the subscriber. Nothing is mocked.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventsView } from '../../shared/app/console/types.js';
import type { OutcomeCloudEvent } from '../../shared/core/outcome-event.js';
import type { JobRecord } from '../../shared/core/job.js';
import { gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

interface Received {
  contentType: string | undefined;
  event: OutcomeCloudEvent;
}

/** A webhook subscriber: answers the validation handshake, records every event, can go down and come back. */
async function startSubscriber() {
  const received: Received[] = [];
  const handshakes: (string | undefined)[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    if (req.method === 'OPTIONS') {
      const origin = req.headers['webhook-request-origin'] as string | undefined;
      handshakes.push(origin);
      res.writeHead(200, {
        'WebHook-Allowed-Origin': origin ?? '',
        'WebHook-Allowed-Rate': '*',
        Allow: 'POST, OPTIONS',
      });
      return res.end();
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        contentType: req.headers['content-type'],
        event: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      res.writeHead(200);
      res.end();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const down = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    url: `http://127.0.0.1:${port}/hooks/outcomes`,
    received,
    handshakes,
    events: (jobId?: string) => received.map((r) => r.event).filter((e) => !jobId || e.data.jobId === jobId),
    down,
    up: () => listen(port),
    close: () => (server.listening ? down() : Promise.resolve()),
  };
}

type Subscriber = Awaited<ReturnType<typeof startSubscriber>>;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** A CloudEvents 1.0 event in structured JSON mode, with the attributes the spec requires. */
function expectCloudEvent(r: Received): void {
  expect(r.contentType).toMatch(/^application\/cloudevents\+json/);
  const e = r.event as unknown as Record<string, unknown>;
  expect(e.specversion).toBe('1.0');
  for (const attribute of ['id', 'source', 'type', 'subject', 'time']) {
    expect(typeof e[attribute], attribute).toBe('string');
    expect(e[attribute], attribute).not.toBe('');
  }
  expect(e.time).toMatch(RFC3339);
  expect(e.datacontenttype).toBe('application/json');
  // Extension attributes must be lower-case alphanumerics; the event carries none beyond the spec's.
  for (const name of Object.keys(e)) expect(name).toMatch(/^[a-z0-9]+$/);
}

/** Waits until `check` passes (or fails with its last error after `timeoutMs`). */
async function eventually(check: () => void | Promise<void>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

let image: Buffer;
let mask: Buffer;

beforeAll(async () => {
  image = await gradientImage(256, 256);
  mask = await rectMask(256, 256, { x: 64, y: 64, width: 64, height: 64 });
});

async function drop(p: TestPipeline, stem: string, parts: { image?: Buffer; mask?: Buffer } = {}): Promise<JobRecord> {
  await p.upload(`${stem}.png`, parts.image ?? image);
  await p.upload(`${stem}.mask.png`, parts.mask ?? mask);
  return p.settled(stem);
}

describe('outcome events', () => {
  let p: TestPipeline;
  let subscriber: Subscriber;

  beforeAll(async () => {
    subscriber = await startSubscriber();
    p = await startTestPipeline({
      settings: { IMAGE_MODEL_RPM: '6000', IMAGE_MODEL_MAX_ATTEMPTS: '1', OUTCOME_EVENT_SUBSCRIBERS: subscriber.url },
      outcomeTopic: { delivery: { initialRetryMs: 100, maxRetryMs: 400 } },
    });
  });
  afterAll(async () => {
    await p?.close();
    await subscriber?.close();
  });

  it('a subscriber receives exactly one CloudEvent for a published, a rejected and a failed job', async () => {
    const published = await drop(p, 'events/published');
    const smallMask = await rectMask(128, 128, { x: 0, y: 0, width: 8, height: 8 });
    const rejected = await drop(p, 'events/rejected', { mask: smallMask });
    p.emulator!.setFaults({ http500: 1 });
    const failed = await drop(p, 'events/failed').finally(() => p.emulator!.setFaults({}));
    expect([published.state, rejected.state, failed.state]).toEqual(['published', 'rejected', 'failed']);

    await eventually(() => expect(subscriber.received).toHaveLength(3));
    await p.outcomeTopic!.idle();
    await p.host.invoke('sweep', {}); // nothing is owed, so the sweep sends nothing again
    await p.outcomeTopic!.idle();
    expect(subscriber.received).toHaveLength(3);
    for (const r of subscriber.received) expectCloudEvent(r);
    expect(subscriber.handshakes).toEqual(['eventgrid.azure.net']); // validated once, before the first delivery

    const [ok] = subscriber.events(published.id);
    expect(ok).toMatchObject({
      id: `${published.id}.published`,
      type: 'com.imagegen-pipeline.job.published',
      source: '/imagegen-pipeline/local',
      subject: 'events/published',
      time: published.updatedAt,
      data: { jobId: published.id, state: 'published', drop: 'events/published', verdict: 'publish' },
    });
    // The job's trace goes with its event (the CloudEvents distributed-tracing extension).
    expect(ok!.traceparent).toBe(published.traceparent);
    expect(published.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const blobEndpoint = p.storage.eventGrid.blobEndpoint;
    expect(ok!.data.blobs).toEqual({
      image: `${blobEndpoint}/inbox/events/published.png`,
      mask: `${blobEndpoint}/inbox/events/published.mask.png`,
      result: `${blobEndpoint}/published/events/published.png`,
      report: `${blobEndpoint}/published/events/published.provenance.json`,
    });
    const anonymous = await fetch(ok!.data.blobs.result!);
    expect(anonymous.status).not.toBe(200); // a plain URL, no SAS: the container is private

    const [no] = subscriber.events(rejected.id);
    expect(no).toMatchObject({ type: 'com.imagegen-pipeline.job.rejected', subject: 'events/rejected' });
    expect(no!.data.reasons.join('\n')).toMatch(/mask/i);
    expect(no!.data.blobs.report).toBe(`${blobEndpoint}/rejected/events/rejected.json`);
    const [bad] = subscriber.events(failed.id);
    expect(bad).toMatchObject({
      type: 'com.imagegen-pipeline.job.failed',
      data: { state: 'failed', error: { code: failed.error!.code } },
    });
    expect(bad!.data.reasons[0]).toMatch(/HTTP 500/);

    // The feed the console reads: newest first, the same events.
    const feed = (await (await fetch(`${p.host.url}/api/events?limit=10`)).json()) as { events: OutcomeCloudEvent[] };
    expect(feed.events.map((e) => e.id)).toEqual([bad!.id, no!.id, ok!.id]);
    expect(feed.events[2]).toEqual(ok);
    expect((await fetch(`${p.host.url}/api/events?limit=0`)).status).toBe(400);
  });

  it('a subscriber that is down when the job ends gets the event once it is back', async () => {
    subscriber.received.length = 0;
    await subscriber.down();
    const job = await drop(p, 'events/while-subscriber-down');
    await eventually(() => expect(p.outcomeTopic!.stats().failedAttempts).toBeGreaterThan(0));
    await subscriber.up();
    await eventually(() => expect(subscriber.events(job.id)).toHaveLength(1));
    await p.outcomeTopic!.idle();
    expect(subscriber.received).toHaveLength(1);
    expect(subscriber.events(job.id)[0]).toMatchObject({ id: `${job.id}.published` });
  });

  it('a job still ends while the topic is down, and the sweep sends its event once the topic is back', async () => {
    subscriber.received.length = 0;
    await p.outcomeTopic!.down();
    const job = await drop(p, 'events/while-topic-down');
    expect(job.state).toBe('published');
    await p.host.invoke('sweep', {}); // still down: the event stays owed
    const owed = await p.blobNames('jobs');
    expect(owed).toContain(`outbox/${job.id}.json`);
    expect(p.logs.some((l) => l.level === 'warning' && l.message.includes(`${job.id}.published`))).toBe(true);

    await p.outcomeTopic!.up();
    await p.host.invoke('sweep', {});
    await eventually(() => expect(subscriber.events(job.id)).toHaveLength(1));
    await p.host.invoke('sweep', {});
    await p.outcomeTopic!.idle();
    expect(subscriber.received).toHaveLength(1);
    expect(await p.blobNames('jobs')).not.toContain(`outbox/${job.id}.json`);
  });
});

describe('a quarantined job', () => {
  it("raises one com.imagegen-pipeline.job.quarantined event with the gate's reasons", async () => {
    const subscriber = await startSubscriber();
    // The emulator's roots are not trusted here, so its Content Credentials fail the gate.
    const p = await startTestPipeline({
      settings: { IMAGE_MODEL_RPM: '6000', EXTRA_TRUST_ANCHORS: '', OUTCOME_EVENT_SUBSCRIBERS: subscriber.url },
    });
    try {
      const job = await drop(p, 'events/quarantined');
      expect(job.state).toBe('quarantined');
      await eventually(() => expect(subscriber.received).toHaveLength(1));
      await p.outcomeTopic!.idle();
      expect(subscriber.received).toHaveLength(1);
      expectCloudEvent(subscriber.received[0]!);
      const event = subscriber.events(job.id)[0]!;
      expect(event).toMatchObject({
        id: `${job.id}.quarantined`,
        type: 'com.imagegen-pipeline.job.quarantined',
        data: { verdict: 'quarantine' },
      });
      expect(event.data.reasons).toEqual(job.publish!.reasons);
      expect(event.data.reasons.length).toBeGreaterThan(0);
      expect(event.data.blobs.result).toMatch(/\/quarantine\/events\/quarantined\.png$/);
    } finally {
      await p.close();
      await subscriber.close();
    }
  });
});

describe('without a topic', () => {
  it('the feed answers 404 and jobs end as before', async () => {
    const p = await startTestPipeline({ settings: { IMAGE_MODEL_RPM: '6000' }, outcomeTopic: false });
    try {
      const job = await drop(p, 'events/no-topic');
      expect(job.state).toBe('published');
      const res = await fetch(`${p.host.url}/api/events`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: string }).error).toMatch(/OUTCOME_EVENTS_TOPIC_ENDPOINT/);
      expect((await fetch(`${p.host.url}/api/console/api/events`)).status).toBe(404); // the console's panel stays hidden
      expect((await p.blobNames('jobs')).filter((n) => n.startsWith('outbox/') || n.startsWith('events/'))).toEqual([]);
    } finally {
      await p.close();
    }
  });
});

describe('no owed event lost', () => {
  let p: TestPipeline;
  let subscriber: Subscriber;
  let smallMask: Buffer;
  const owedMarkers = async () => (await p.blobNames('jobs')).filter((n) => n.startsWith('outbox/'));
  /**
   * Waits until each job's own send, made as it ended, has been tried: `settled` sees the terminal record
   * before that send, which would otherwise race whatever the test does next to the topic.
   */
  const ownSendsTried = (jobs: JobRecord[]) =>
    eventually(async () => {
      for (const job of jobs) {
        const marker = await p.runtime.ledger.store.read(`outbox/${job.id}.json`);
        const owed = marker && (JSON.parse(marker.text) as { attempts: number; claim?: unknown });
        expect(!owed || (owed.attempts > 0 && !owed.claim), job.drop.key).toBe(true);
      }
    });
  /** Sweeps until nothing is owed (each run makes progress within its budget), at most `runs` times. */
  const sweepUntilSent = async (runs = 20) => {
    for (let i = 0; i < runs && (await owedMarkers()).length > 0; i++) await p.host.invoke('sweep', {});
    expect(await owedMarkers()).toEqual([]);
    await p.outcomeTopic!.idle();
  };

  beforeAll(async () => {
    subscriber = await startSubscriber();
    smallMask = await rectMask(128, 128, { x: 0, y: 0, width: 8, height: 8 });
    p = await startTestPipeline({
      settings: {
        IMAGE_MODEL_RPM: '6000',
        OUTCOME_EVENT_SUBSCRIBERS: subscriber.url,
        OUTCOME_EVENT_MAX_ATTEMPTS: '2',
        OUTCOME_EVENT_RETRY_BUDGET: '1s',
        DROP_DEADLINE: '2s',
      },
      outcomeTopic: { delivery: { initialRetryMs: 100, maxRetryMs: 400 } },
    });
  });
  afterAll(async () => {
    p?.outcomeTopic?.setFaults({});
    await p?.close();
    await subscriber?.close();
  });

  it("a sweep that runs between a rejection's outbox marker and its job record does not lose the event", async () => {
    const ledger = p.runtime.ledger;
    const create = ledger.create.bind(ledger);
    let sweptBetween = false;
    // The rejection has written its marker and is about to write its job: the sweep runs right then.
    ledger.create = async (job) => {
      if (!sweptBetween && job.drop.key === 'outbox/race') {
        sweptBetween = true;
        await p.host.invoke('sweep', {});
      }
      return create(job);
    };
    let job: JobRecord;
    try {
      job = await drop(p, 'outbox/race', { mask: smallMask });
    } finally {
      ledger.create = create;
    }
    expect(sweptBetween).toBe(true);
    expect(job.state).toBe('rejected');
    await eventually(() => expect(subscriber.events(job.id)).toHaveLength(1));
    expect(subscriber.events(job.id)[0]).toMatchObject({ type: 'com.imagegen-pipeline.job.rejected' });
    expect(await owedMarkers()).toEqual([]);
  });

  it('through a long topic outage with many owed events, the job sweep goes on and every event is sent once after', async () => {
    subscriber.received.length = 0;
    await p.outcomeTopic!.down();
    const jobs: JobRecord[] = [];
    for (let i = 0; i < 8; i++) jobs.push(await drop(p, `outbox/outage-${i}`, { mask: smallMask }));
    await ownSendsTried(jobs);
    await p.upload('outbox/outage-incomplete.png', image); // its mask never comes
    await sleep(2_100); // past DROP_DEADLINE
    for (let run = 0; run < 3; run++) await p.host.invoke('sweep', {}); // the outage lasts several sweeps
    const incomplete = await p.settled('outbox/outage-incomplete');
    expect(incomplete.state).toBe('rejected'); // the job sweep did its work while the topic was down
    jobs.push(incomplete);
    expect(await owedMarkers()).toHaveLength(jobs.length);
    // Each run gave up at the first send the topic did not answer, rather than trying all of them.
    expect(p.logs.filter((l) => /the topic is unavailable: \d+ more owed event/.test(l.message))).toHaveLength(3);
    expect((await p.blobNames('jobs')).filter((n) => n.startsWith('outbox-dead/'))).toEqual([]); // an outage is no refusal

    await p.outcomeTopic!.up();
    await sweepUntilSent();
    await eventually(() => expect(subscriber.received).toHaveLength(jobs.length));
    for (const job of jobs) expect(subscriber.events(job.id), job.drop.key).toHaveLength(1);
  });

  it('a run starts sends within its time budget, lets the one under way finish, and the next runs send the rest, each once', async () => {
    subscriber.received.length = 0;
    await p.outcomeTopic!.down();
    const jobs: JobRecord[] = [];
    for (let i = 0; i < 5; i++) jobs.push(await drop(p, `outbox/slow-${i}`, { mask: smallMask }));
    await ownSendsTried(jobs);
    await p.outcomeTopic!.up();
    const acceptedBefore = p.outcomeTopic!.stats().accepted;
    // A topic slower than the 1s budget: the first send outlasts it and is not cut off (a send cut off after
    // the topic took the event would be sent twice), and no second send starts.
    p.outcomeTopic!.setFaults({ delayMs: 1_500 });
    try {
      await p.host.invoke('sweep', {});
      expect(await owedMarkers()).toHaveLength(jobs.length - 1);
      expect(p.outcomeTopic!.stats().accepted - acceptedBefore).toBe(1);
    } finally {
      p.outcomeTopic!.setFaults({});
    }
    await sweepUntilSent();
    await eventually(() => expect(subscriber.received).toHaveLength(jobs.length));
    for (const job of jobs) expect(subscriber.events(job.id), job.drop.key).toHaveLength(1);
  });

  it("an event the topic keeps refusing is dead-lettered with the topic's answer and shown in the console", async () => {
    subscriber.received.length = 0;
    const refusal = 'the identity may not send to this topic';
    p.outcomeTopic!.setFaults({ refuse: { status: 403, message: refusal } });
    let job: JobRecord;
    try {
      job = await drop(p, 'outbox/refused', { mask: smallMask }); // refused once as it ends
      await ownSendsTried([job]);
      await p.host.invoke('sweep', {}); // and again: OUTCOME_EVENT_MAX_ATTEMPTS is 2
    } finally {
      p.outcomeTopic!.setFaults({});
    }
    const names = await p.blobNames('jobs');
    expect(names).toContain(`outbox-dead/${job.id}.json`);
    expect(names).not.toContain(`outbox/${job.id}.json`);
    expect(p.logs.some((l) => l.level === 'error' && l.message.includes(`${job.id}.rejected dead-lettered`))).toBe(
      true,
    );

    const res = await fetch(`${p.host.url}/api/console/api/events?limit=10`);
    expect(res.status).toBe(200);
    const view = (await res.json()) as EventsView;
    expect(view.deadLettered).toEqual([
      expect.objectContaining({
        jobId: job.id,
        eventId: `${job.id}.rejected`,
        subject: 'outbox/refused',
        refusals: 2,
        lastError: expect.stringMatching(new RegExp(`^HTTP 403: .*${refusal}`)),
      }),
    ]);
    await p.host.invoke('sweep', {});
    await p.outcomeTopic!.idle();
    expect(subscriber.events(job.id)).toEqual([]); // kept for a person, not retried forever
  });
});
