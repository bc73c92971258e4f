/**
 * The outbox of outcome events, kept in the ledger's container next to the job records:
 *   outbox/<jobId>.json        an event owed: written *before* the job's terminal write, so a job can never
 *                              end without one (a marker whose job did not end waits for it to end)
 *   events/<newest-first>.json the feed: each event the topic accepted, named so a listing is newest first
 *
 * Whoever ends a job sends its event at once; the sweep sends the ones left owed (topic down, process
 * gone). A sender claims the marker under its ETag first, so the in-process send and the sweep never send
 * the same event at once; an event already in the feed is not sent again. Subscribers still dedupe by
 * `id` (stable per job and state) for the rare crash between a send and its record.
 *
 * Sending never fails or holds up a job: errors are logged and left to the sweep.
 */
import { isConflict } from '../adapters/storage.js';
import { isTerminal, type JobRecord } from '../job.js';
import type { Logger } from '../log.js';
import { blobEndpointOf } from '../provenance/trust-anchors.js';
import type { JobContext } from '../runtime.js';
import { outcomeEvent, type OutcomeCloudEvent } from './cloud-event.js';
import { outcomeTopic } from './topic.js';

/** How long a sender holds an owed event before another may take it over. */
const CLAIM_MS = 60_000;
/** 13 digits hold any epoch millisecond until the year 2286; the complement sorts newest first. */
const TIME_COMPLEMENT = 9_999_999_999_999;

interface OwedEvent {
  jobId: string;
  recordedAt: string;
  attempts: number;
  lastError?: string;
  claim?: { owner: string; until: string };
}

export type Delivery = 'sent' | 'sent-before' | 'busy' | 'failed' | 'job-not-ended' | 'none';

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

async function readOwed(rt: JobContext, jobId: string): Promise<{ owed: OwedEvent; etag: string } | undefined> {
  const found = await rt.ledger.store.read(markerName(jobId));
  return found && { owed: JSON.parse(found.text) as OwedEvent, etag: found.etag };
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

/**
 * Sends the event the job owes, if it has ended and nobody else is sending it. `known` is the terminal
 * record of a job the caller has just ended (saves reading it, and looking for the event in the feed).
 */
export async function deliverOwed(rt: JobContext, jobId: string, log: Logger, known?: JobRecord): Promise<Delivery> {
  const config = rt.config.events;
  if (!config) return 'none';
  const found = await readOwed(rt, jobId);
  if (!found) return 'none';
  const now = rt.now();
  const { claim, ...unclaimed } = found.owed;
  if (claim && claim.owner !== rt.workerId && Date.parse(claim.until) > now.getTime()) return 'busy';
  const until = new Date(now.getTime() + CLAIM_MS).toISOString();
  const claimedEtag = await rewrite(rt, { ...unclaimed, claim: { owner: rt.workerId, until } }, found.etag);
  if (!claimedEtag) return 'busy';

  const job = known ?? (await rt.ledger.get(jobId))?.value;
  if (!job) {
    await rt.ledger.store.remove(markerName(jobId)); // no job behind it: nothing will ever be owed
    return 'none';
  }
  const blobEndpoint = blobEndpointOf(rt.config.storage) ?? '';
  const event = isTerminal(job.state) ? outcomeEvent(job, config.source, blobEndpoint) : undefined;
  if (!event) {
    // Written ahead of a terminal write that lost its race: the job ends later, and its event with it.
    await rewrite(rt, unclaimed, claimedEtag);
    return 'job-not-ended';
  }
  const feed = feedName(event);
  // The sender that just ended the job is the first to see it ended; anyone else checks the feed first.
  if (!known && (await rt.ledger.store.read(feed))) {
    await rt.ledger.store.remove(markerName(jobId));
    return 'sent-before';
  }
  try {
    await outcomeTopic(config).send(event);
  } catch (err) {
    const message = (err as Error).message;
    await rewrite(rt, { ...unclaimed, attempts: unclaimed.attempts + 1, lastError: message }, claimedEtag);
    log.warn(`outcome event ${event.id} not delivered to the topic (${message}); the sweep retries it`);
    return 'failed';
  }
  // Neither half alone causes a second send: a feed entry whose marker stayed is found as sent by the sweep.
  await Promise.all([
    rt.ledger.store.write(feed, JSON.stringify(event), {}),
    rt.ledger.store.remove(markerName(jobId)),
  ]);
  log.info(`outcome event ${event.type} sent for ${event.subject} (${event.id})`);
  return 'sent';
}

/** The sweep's part: sends every event still owed. One that fails stays for the next sweep. */
export async function retryOutcomeEvents(
  rt: JobContext,
  log: Logger,
): Promise<{ outcomeEventsSent: number; outcomeEventsFailed: number }> {
  const summary = { outcomeEventsSent: 0, outcomeEventsFailed: 0 };
  if (!rt.config.events) return summary;
  const owed: string[] = [];
  for await (const name of rt.ledger.store.names('outbox/')) owed.push(name.slice('outbox/'.length, -'.json'.length));
  for (const jobId of owed) {
    try {
      const result = await deliverOwed(rt, jobId, log);
      if (result === 'sent') summary.outcomeEventsSent++;
      if (result === 'failed') summary.outcomeEventsFailed++;
    } catch (err) {
      summary.outcomeEventsFailed++;
      log.warn(`outcome event of job ${jobId}: ${(err as Error).message}; the next sweep retries it`);
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
