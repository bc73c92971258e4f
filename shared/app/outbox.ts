/**
 * The outbox of outcome events, kept in the ledger's container next to the job records:
 *   outbox/<jobId>.json        an event owed: written *before* the job's terminal write, so a job can never
 *                              end without one (a marker whose job did not end waits for it to end; one
 *                              whose job record is not written yet waits OUTCOME_EVENT_MARKER_GRACE)
 *   events/<newest-first>.json the feed: each event the topic accepted, named so a listing is newest first
 *   outbox-dead/<jobId>.json   an event the topic refused too often (./dead-letters.ts)
 *
 * Whoever ends a job sends its event at once; the sweep sends the ones left owed (topic down, process
 * gone). A sender claims the marker under its ETag first, so the in-process send and the sweep never send
 * the same event at once; an event already in the feed is not sent again. Subscribers still dedupe by
 * `id` (stable per job and state) for the rare crash between a send and its record.
 *
 * Sending never fails or holds up a job: errors are logged and left to the sweep. An event the topic
 * refuses OUTCOME_EVENT_MAX_ATTEMPTS times is dead-lettered (./dead-letters.ts), never dropped.
 */
import { isTerminal, type JobRecord } from '../core/job.js';
import { isConflict } from '../ports/errors.js';
import type { Logger } from '../core/log.js';
import { blobEndpointOf } from '../core/config.js';
import type { JobContext } from './job-context.js';
import { inSpan, SpanKind } from './telemetry/trace.js';
import { outcomeEvent, type OutcomeCloudEvent } from '../core/outcome-event.js';
import { writeDeadLetter } from './dead-letters.js';

/** How long a sender holds an owed event before another may take it over. */
const CLAIM_MS = 60_000;
/** 13 digits hold any epoch millisecond until the year 2286; the complement sorts newest first. */
const TIME_COMPLEMENT = 9_999_999_999_999;

interface OwedEvent {
  jobId: string;
  recordedAt: string;
  /** Failed sends, for whatever reason. */
  attempts: number;
  /** Failed sends the topic answered with a refusal of this event (see `topicAnswer`). */
  refusals?: number;
  lastError?: string;
  claim?: { owner: string; until: string };
}

/** `unavailable`: the topic did not answer, or answered that it cannot take events now (5xx, 408, 429). */
export type Delivery =
  | 'sent'
  | 'sent-before'
  | 'busy'
  | 'failed'
  | 'unavailable'
  | 'dead-lettered'
  | 'job-not-ended'
  | 'waiting-for-job'
  | 'none';

const markerName = (jobId: string) => `outbox/${jobId}.json`;

/** The feed entry's name: newest first in a listing, one per job. */
export function feedName(event: OutcomeCloudEvent): string {
  const inverted = String(TIME_COMPLEMENT - Date.parse(event.time)).padStart(13, '0');
  return `events/${inverted}-${event.data.jobId}.json`;
}

/**
 * Records that the job owes an event, before the write that may end it. Does nothing when the marker is
 * there already (it may be claimed by a sender) or when no topic is configured.
 */
export async function expectOutcomeEvent(rt: JobContext, jobId: string): Promise<void> {
  if (!rt.config.events) return;
  const owed: OwedEvent = { jobId, recordedAt: rt.now().toISOString(), attempts: 0 };
  try {
    await rt.ledger.store.write(markerName(jobId), JSON.stringify(owed), { ifNoneMatch: '*' });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
}

/** Sends the event of a job that just ended; never throws (the sweep retries what is left owed). */
export async function announceOutcome(rt: JobContext, job: JobRecord, log: Logger): Promise<void> {
  if (!rt.config.events) return;
  try {
    await deliverOwed(rt, job.id, log, job);
  } catch (err) {
    log.warn(`outcome event of job ${job.id} not sent yet (${(err as Error).message}); the sweep retries it`);
  }
}

/** Writes the marker only over the version read; `undefined` when someone else wrote it first. */
async function rewrite(rt: JobContext, owed: OwedEvent, etag: string): Promise<string | undefined> {
  try {
    return await rt.ledger.store.write(markerName(owed.jobId), JSON.stringify(owed), { ifMatch: etag });
  } catch (err) {
    if (isConflict(err)) return undefined;
    throw err;
  }
}

/** Takes the marker for this worker; the unclaimed marker and the claim's ETag, or why not. */
async function claimOwed(rt: JobContext, jobId: string): Promise<{ owed: OwedEvent; etag: string } | 'none' | 'busy'> {
  const found = await rt.ledger.store.read(markerName(jobId));
  if (!found) return 'none';
  const now = rt.now();
  const { claim, ...owed } = JSON.parse(found.text) as OwedEvent;
  if (claim && claim.owner !== rt.workerId && Date.parse(claim.until) > now.getTime()) return 'busy';
  const until = new Date(now.getTime() + CLAIM_MS).toISOString();
  const etag = await rewrite(rt, { ...owed, claim: { owner: rt.workerId, until } }, found.etag);
  return etag ? { owed, etag } : 'busy';
}

/**
 * A marker with no job record: the writer that made it may still be about to write the job (rejections
 * write the marker first), so it is deleted only once OUTCOME_EVENT_MARKER_GRACE has passed.
 */
async function settleOrphan(rt: JobContext, owed: OwedEvent, etag: string, graceMs: number): Promise<Delivery> {
  if (rt.now().getTime() - Date.parse(owed.recordedAt) < graceMs) {
    await rewrite(rt, owed, etag);
    return 'waiting-for-job';
  }
  await rt.ledger.store.remove(markerName(owed.jobId)); // no job came: nothing will ever be owed
  return 'none';
}

/** What the topic said: a refusal of this event (4xx but 408 and 429), or that it is unavailable. */
function topicAnswer(err: unknown): { refused: boolean; text: string } {
  const status = (err as { statusCode?: unknown }).statusCode;
  const message = (err as Error).message;
  if (typeof status !== 'number') return { refused: false, text: message };
  return {
    refused: status >= 400 && status < 500 && status !== 408 && status !== 429,
    text: `HTTP ${status}: ${message}`,
  };
}

/** Counts the failed send; the event is dead-lettered once the topic has refused it often enough. */
async function recordFailure(
  rt: JobContext,
  owed: OwedEvent,
  etag: string,
  event: OutcomeCloudEvent,
  err: unknown,
  log: Logger,
): Promise<Delivery> {
  const answer = topicAnswer(err);
  const refusals = (owed.refusals ?? 0) + (answer.refused ? 1 : 0);
  const next = { ...owed, attempts: owed.attempts + 1, refusals, lastError: answer.text };
  if (refusals >= rt.config.events!.maxAttempts) {
    await writeDeadLetter(rt, { ...next, deadLetteredAt: rt.now().toISOString(), event });
    await rt.ledger.store.remove(markerName(owed.jobId));
    log.error(`outcome event ${event.id} dead-lettered: the topic refused it ${refusals} times (${answer.text})`);
    return 'dead-lettered';
  }
  await rewrite(rt, next, etag);
  log.warn(`outcome event ${event.id} not delivered to the topic (${answer.text}); the sweep retries it`);
  return answer.refused ? 'failed' : 'unavailable';
}

/**
 * Sends the event the job owes, if it has ended and nobody else is sending it. `known` is the terminal
 * record of a job the caller has just ended (saves reading it, and looking for the event in the feed).
 */
export async function deliverOwed(rt: JobContext, jobId: string, log: Logger, known?: JobRecord): Promise<Delivery> {
  const config = rt.config.events;
  if (!config) return 'none';
  const claimed = await claimOwed(rt, jobId);
  if (typeof claimed === 'string') return claimed;
  const { owed, etag } = claimed;
  const job = known ?? (await rt.ledger.get(jobId))?.value;
  if (!job) return settleOrphan(rt, owed, etag, config.markerGraceMs);
  const blobEndpoint = blobEndpointOf(rt.config.storage) ?? '';
  const event = isTerminal(job.state) ? outcomeEvent(job, config.source, blobEndpoint) : undefined;
  if (!event) {
    // Written ahead of a terminal write that lost its race: the job ends later, and its event with it.
    await rewrite(rt, owed, etag);
    return 'job-not-ended';
  }
  const feed = feedName(event);
  // The sender that just ended the job is the first to see it ended; anyone else checks the feed first.
  if (!known && (await rt.ledger.store.read(feed))) {
    await rt.ledger.store.remove(markerName(jobId));
    return 'sent-before';
  }
  try {
    const attributes = { 'imagegen.job': job.id, 'imagegen.event': event.type };
    const parent = job.traceparent ?? 'new';
    await inSpan('outcome event', { parent, kind: SpanKind.PRODUCER, attributes }, () =>
      rt.outcomeTopic(config).send(event),
    );
  } catch (err) {
    return recordFailure(rt, owed, etag, event, err, log);
  }
  // Neither half alone causes a second send: a feed entry whose marker stayed is found as sent by the sweep.
  await Promise.all([
    rt.ledger.store.write(feed, JSON.stringify(event), {}),
    rt.ledger.store.remove(markerName(jobId)),
  ]);
  log.info(`outcome event ${event.type} sent for ${event.subject} (${event.id})`);
  return 'sent';
}

export interface OutboxSummary {
  outcomeEventsSent: number;
  outcomeEventsFailed: number;
  outcomeEventsDeadLettered: number;
  /** Owed events this run did not get to: its time budget ran out, or the topic was unavailable. */
  outcomeEventsLeft: number;
}

/**
 * The sweep's part, after its job sweep and within its own time budget (OUTCOME_EVENT_RETRY_BUDGET):
 * sends the events still owed. The budget decides whether a send starts; a send under way is not cut off
 * at its end, since a send cut off after the topic took the event would be sent again. A topic that is
 * unavailable ends the run at once (the rest would fail the same way); what is left waits for the next run.
 */
export async function retryOutcomeEvents(rt: JobContext, log: Logger): Promise<OutboxSummary> {
  const summary = { outcomeEventsSent: 0, outcomeEventsFailed: 0, outcomeEventsDeadLettered: 0, outcomeEventsLeft: 0 };
  const config = rt.config.events;
  if (!config) return summary;
  const owed: string[] = [];
  for await (const name of rt.ledger.store.names('outbox/')) owed.push(name.slice('outbox/'.length, -'.json'.length));
  const deadline = performance.now() + config.retryBudgetMs;
  for (const [i, jobId] of owed.entries()) {
    if (performance.now() >= deadline) {
      summary.outcomeEventsLeft = owed.length - i;
      log.warn(`${summary.outcomeEventsLeft} owed outcome event(s) wait for the next sweep (its time budget ran out)`);
      break;
    }
    const result = await deliverOwed(rt, jobId, log).catch((err: Error) => {
      log.warn(`outcome event of job ${jobId}: ${err.message}; the next sweep retries it`);
      return 'failed' as const;
    });
    if (result === 'sent') summary.outcomeEventsSent++;
    if (result === 'failed' || result === 'unavailable') summary.outcomeEventsFailed++;
    if (result === 'dead-lettered') summary.outcomeEventsDeadLettered++;
    if (result === 'unavailable') {
      summary.outcomeEventsLeft = owed.length - i - 1;
      if (summary.outcomeEventsLeft)
        log.warn(`the topic is unavailable: ${summary.outcomeEventsLeft} more owed event(s) wait for the next sweep`);
      break;
    }
  }
  return summary;
}

/** The newest `limit` events the topic accepted, newest first. */
export async function readOutcomeFeed(rt: JobContext, limit: number): Promise<OutcomeCloudEvent[]> {
  const names: string[] = [];
  for await (const name of rt.ledger.store.names('events/')) {
    names.push(name);
    if (names.length >= limit) break;
  }
  const entries = await Promise.all(names.map((n) => rt.ledger.store.read(n)));
  return entries.flatMap((e) => (e ? [JSON.parse(e.text) as OutcomeCloudEvent] : []));
}
