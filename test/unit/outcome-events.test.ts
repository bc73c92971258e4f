/**
 * The outcome-event outbox against the in-memory runtime and the real local topic (over HTTP, through
 * EventGridPublisherClient): an event owed before the job ends, sent once, never twice, and not lost when
 * the process stops between the terminal write and the send.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/core/config.js';
import { outcomeEvent } from '../../shared/core/outcome-event.js';
import {
  deliverOwed,
  expectOutcomeEvent,
  feedName,
  readOutcomeFeed,
  retryOutcomeEvents,
} from '../../shared/app/outbox.js';
import { readDeadLetters } from '../../shared/app/dead-letters.js';
import { newJob, transition, type JobRecord } from '../../shared/core/job.js';
import { serviceErrorCode } from '../../shared/core/job-errors.js';
import { startOutcomeTopic, type LocalOutcomeTopic } from '../../local/storage/outcome-topic.js';
import { memoryLogger, memoryRuntime, type MemoryRuntime } from './memory-runtime.js';

let topic: LocalOutcomeTopic;
let rt: MemoryRuntime;
let log: ReturnType<typeof memoryLogger>;

beforeAll(async () => {
  topic = await startOutcomeTopic();
});
afterAll(() => topic.close());

const settings = () => ({
  OUTCOME_EVENTS_TOPIC_ENDPOINT: topic.endpoint,
  OUTCOME_EVENTS_TOPIC_KEY: topic.key,
  OUTCOME_EVENTS_SOURCE: '/imagegen-pipeline/test',
});

beforeEach(() => {
  rt = memoryRuntime(settings());
  log = memoryLogger(rt);
});

/** A queued job in the ledger, as intake leaves it. */
async function queuedJob(stem: string): Promise<JobRecord> {
  const job = newJob(
    `${stem.padEnd(32, '0')}`.slice(0, 32),
    { path: 'unit', stem },
    {
      image: { name: `unit/${stem}.png`, etag: '"1"', bytes: 10 },
      mask: { name: `unit/${stem}.mask.png`, etag: '"2"', bytes: 10 },
    },
    {
      state: 'queued',
      request: { prompt: 'a hat', promptSource: 'sidecar', size: 'auto', quality: 'low', outputFormat: 'png' },
    },
    rt.now(),
  );
  await rt.ledger.create(job);
  return job;
}

/** Ends the job the way a worker that dies right after its terminal write leaves it: owed, not sent. */
async function endWithoutSending(job: JobRecord): Promise<JobRecord> {
  await expectOutcomeEvent(rt, job.id);
  const error = { code: serviceErrorCode('model_error'), message: 'HTTP 500 four times' };
  const fail = (j: JobRecord) => transition(j, 'failed', rt.now(), { error }, { problems: [error.message] });
  const ended = await rt.ledger.update(job.id, fail);
  return ended!.after.value;
}

describe('the outbox', () => {
  it('a job that ended without sending (process gone) has its event sent by the sweep, once', async () => {
    const before = topic.stats().accepted;
    const job = await endWithoutSending(await queuedJob('a'));
    expect(topic.stats().accepted).toBe(before);
    expect(await retryOutcomeEvents(rt, log)).toMatchObject({ outcomeEventsSent: 1, outcomeEventsFailed: 0 });
    expect(await retryOutcomeEvents(rt, log)).toMatchObject({ outcomeEventsSent: 0, outcomeEventsFailed: 0 });
    expect(topic.stats().accepted).toBe(before + 1);
    const [event] = await readOutcomeFeed(rt, 10);
    expect(event).toMatchObject({
      id: `${job.id}.failed`,
      type: 'com.imagegen-pipeline.job.failed',
      source: '/imagegen-pipeline/test',
    });
    expect(event!.data.reasons).toEqual(['HTTP 500 four times']);
  });

  it('two senders racing for one owed event send it once', async () => {
    const before = topic.stats().accepted;
    const job = await endWithoutSending(await queuedJob('b'));
    const other = { ...rt, workerId: 'worker-b' };
    const results = await Promise.all([deliverOwed(rt, job.id, log), deliverOwed(other, job.id, log)]);
    expect(results.filter((r) => r === 'sent')).toHaveLength(1);
    expect(topic.stats().accepted).toBe(before + 1);
  });

  it('an event already in the feed is not sent again when a late duplicate leaves a marker', async () => {
    const job = await endWithoutSending(await queuedJob('c'));
    expect(await deliverOwed(rt, job.id, log)).toBe('sent');
    const before = topic.stats().accepted;
    await expectOutcomeEvent(rt, job.id); // a duplicate delivery's write-ahead, after the event went out
    expect(await deliverOwed(rt, job.id, log)).toBe('sent-before');
    expect(topic.stats().accepted).toBe(before);
    expect(await rt.records.read(`outbox/${job.id}.json`)).toBeUndefined();
  });

  it('a marker whose terminal write lost its race waits for the job to end', async () => {
    const job = await queuedJob('d');
    await expectOutcomeEvent(rt, job.id);
    expect(await deliverOwed(rt, job.id, log)).toBe('job-not-ended');
    expect(await rt.records.read(`outbox/${job.id}.json`)).toBeDefined();
    await endWithoutSending(job);
    expect(await deliverOwed(rt, job.id, log)).toBe('sent');
  });

  it('a claimed event is left to its sender until the claim runs out', async () => {
    const job = await endWithoutSending(await queuedJob('j'));
    const name = `outbox/${job.id}.json`;
    const owed = JSON.parse((await rt.records.read(name))!.text);
    const until = new Date(rt.clock.t + 60_000).toISOString();
    await rt.records.write(name, JSON.stringify({ ...owed, claim: { owner: 'worker-b', until } }), {});
    expect(await deliverOwed(rt, job.id, log)).toBe('busy');
    rt.clock.advance(60_001);
    expect(await deliverOwed(rt, job.id, log)).toBe('sent');
  });

  it('a send that fails releases the event for the next try, counting the attempt', async () => {
    const job = await endWithoutSending(await queuedJob('e'));
    await topic.down();
    try {
      expect(await deliverOwed(rt, job.id, log)).toBe('unavailable');
      expect(rt.logs.at(-1)).toMatch(/not delivered to the topic .*the sweep retries it/);
    } finally {
      await topic.up();
    }
    const owed = JSON.parse((await rt.records.read(`outbox/${job.id}.json`))!.text);
    expect(owed).toMatchObject({ attempts: 1, lastError: expect.any(String) });
    expect(owed.claim).toBeUndefined();
    expect(await deliverOwed(rt, job.id, log)).toBe('sent');
  });

  it('a marker with no job behind it waits out its grace period before it is deleted', async () => {
    const id = 'k'.padEnd(32, '0');
    await expectOutcomeEvent(rt, id); // a rejection's marker, its job record not written yet
    rt.clock.advance(14 * 60_000);
    expect(await deliverOwed(rt, id, log)).toBe('waiting-for-job');
    expect(await rt.records.read(`outbox/${id}.json`)).toBeDefined();
    rt.clock.advance(2 * 60_000); // past OUTCOME_EVENT_MARKER_GRACE (15m): no job is coming
    expect(await deliverOwed(rt, id, log)).toBe('none');
    expect(await rt.records.read(`outbox/${id}.json`)).toBeUndefined();
  });

  it('an event the topic refuses OUTCOME_EVENT_MAX_ATTEMPTS times is dead-lettered with its answer', async () => {
    rt = memoryRuntime({ ...settings(), OUTCOME_EVENT_MAX_ATTEMPTS: '2' });
    log = memoryLogger(rt);
    const job = await endWithoutSending(await queuedJob('l'));
    topic.setFaults({ refuse: { status: 400, message: 'event too large for this topic' } });
    try {
      expect(await deliverOwed(rt, job.id, log)).toBe('failed');
      expect(await deliverOwed(rt, job.id, log)).toBe('dead-lettered');
    } finally {
      topic.setFaults({});
    }
    expect(await rt.records.read(`outbox/${job.id}.json`)).toBeUndefined();
    const [dead] = await readDeadLetters(rt, 10);
    expect(dead).toMatchObject({ jobId: job.id, refusals: 2, event: { id: `${job.id}.failed` } });
    expect(dead!.lastError).toMatch(/^HTTP 400: .*event too large for this topic/);
  });

  it('a sweep stops at the first send the topic does not answer, leaving the rest owed and uncounted', async () => {
    const jobs = [];
    for (const stem of ['m', 'n', 'o']) jobs.push(await endWithoutSending(await queuedJob(stem)));
    await topic.down();
    try {
      expect(await retryOutcomeEvents(rt, log)).toEqual({
        outcomeEventsSent: 0,
        outcomeEventsFailed: 1,
        outcomeEventsDeadLettered: 0,
        outcomeEventsLeft: 2,
      });
    } finally {
      await topic.up();
    }
    expect(await retryOutcomeEvents(rt, log)).toMatchObject({ outcomeEventsSent: 3, outcomeEventsLeft: 0 });
  });

  it('the feed lists newest first', async () => {
    const first = await endWithoutSending(await queuedJob('f'));
    rt.clock.advance(5_000);
    const second = await endWithoutSending(await queuedJob('g'));
    await retryOutcomeEvents(rt, log);
    expect((await readOutcomeFeed(rt, 10)).map((e) => e.data.jobId)).toEqual([second.id, first.id]);
    expect((await readOutcomeFeed(rt, 1)).map((e) => e.data.jobId)).toEqual([second.id]);
  });
});

describe('the event', () => {
  it('is the same for every send of a job, and carries plain blob URLs', async () => {
    const job = await endWithoutSending(await queuedJob('h'));
    const a = outcomeEvent(job, '/s', 'https://st.blob.core.windows.net/')!;
    expect(outcomeEvent(job, '/s', 'https://st.blob.core.windows.net')).toEqual(a);
    expect(a.data.blobs).toEqual({
      image: 'https://st.blob.core.windows.net/inbox/unit/h.png',
      mask: 'https://st.blob.core.windows.net/inbox/unit/h.mask.png',
      report: 'https://st.blob.core.windows.net/rejected/unit/h.json',
    });
    expect(feedName(a)).toMatch(/^events\/\d{13}-[0-9a-z]{32}\.json$/);
    expect(outcomeEvent(await queuedJob('i'), '/s', 'https://x')).toBeUndefined();
  });

  it('needs a source when a topic is configured', () => {
    const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:9' };
    expect(loadConfig(base).events).toBeUndefined();
    const topicEndpoint = 'https://t.eastus2-1.eventgrid.azure.net/api/events';
    expect(() => loadConfig({ ...base, OUTCOME_EVENTS_TOPIC_ENDPOINT: topicEndpoint })).toThrow(
      /OUTCOME_EVENTS_SOURCE is missing/,
    );
  });
});

describe('the local topic', () => {
  const event = { specversion: '1.0', id: 'x.published', source: '/s', type: 'com.imagegen-pipeline.job.published' };
  const post = (url: string, body: unknown, key = topic.key) =>
    fetch(url, {
      method: 'POST',
      headers: { 'aeg-sas-key': key, 'content-type': 'application/cloudevents-batch+json; charset=utf-8' },
      body: JSON.stringify(body),
    });

  it('refuses a wrong key and a batch that is not CloudEvents 1.0, saying why', async () => {
    expect((await post(topic.endpoint, [event], 'guess')).status).toBe(401);
    const res = await post(topic.endpoint, [{ ...event, source: undefined }]);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('event 0 lacks the required attribute(s) source');
    expect((await post(topic.endpoint, [{ ...event, specversion: '0.3' }])).status).toBe(400);
  });

  it('delivers nothing to a webhook that refuses the handshake, and reports the event it gave up on', async () => {
    const posts: string[] = [];
    const hook = http.createServer((req, res) => {
      if (req.method === 'POST') posts.push(req.url ?? '');
      res.writeHead(200); // answers, but grants no origin: not consent
      res.end();
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', () => resolve()));
    const dropped: string[] = [];
    const strict = await startOutcomeTopic({
      subscribers: [`http://127.0.0.1:${(hook.address() as AddressInfo).port}/h`],
      delivery: { maxAttempts: 2, initialRetryMs: 10 },
      onDropped: (m) => dropped.push(m),
    });
    try {
      expect((await post(strict.endpoint, [event])).status).toBe(200);
      await strict.idle();
      expect(posts).toEqual([]);
      expect(strict.stats()).toMatchObject({ accepted: 1, delivered: 0, dropped: 1 });
      const why = /^outcome event x\.published not delivered .* after 2 attempts: .*WebHook-Allowed-Origin/;
      expect(dropped).toEqual([expect.stringMatching(why)]);
    } finally {
      await strict.close();
      hook.close();
    }
  });
});
