/**
 * Outcome events the topic refused OUTCOME_EVENT_MAX_ATTEMPTS times, kept in the ledger's container as
 *   outbox-dead/<jobId>.json   the event, its attempts and the topic's last answer
 * so nothing owed is dropped silently: the console lists them, and copying one back to `outbox/` (same
 * name) sends it again on the next sweep.
 */
import type { JobContext } from './job-context.js';
import type { OutcomeCloudEvent } from '../core/outcome-event.js';

export interface DeadLetteredEvent {
  jobId: string;
  recordedAt: string;
  attempts: number;
  refusals: number;
  /** The topic's last answer (HTTP status and message). */
  lastError: string;
  deadLetteredAt: string;
  event: OutcomeCloudEvent;
}

const PREFIX = 'outbox-dead/';
export const deadLetterName = (jobId: string) => `${PREFIX}${jobId}.json`;

export async function writeDeadLetter(rt: JobContext, dead: DeadLetteredEvent): Promise<void> {
  await rt.ledger.store.write(deadLetterName(dead.jobId), JSON.stringify(dead), {});
}

/** Up to `limit` dead-lettered events (in job id order: they are few, and each stays until a person acts). */
export async function readDeadLetters(rt: JobContext, limit: number): Promise<DeadLetteredEvent[]> {
  const names: string[] = [];
  for await (const name of rt.ledger.store.names(PREFIX)) {
    names.push(name);
    if (names.length >= limit) break;
  }
  const entries = await Promise.all(names.map((n) => rt.ledger.store.read(n)));
  return entries.flatMap((e) => (e ? [JSON.parse(e.text) as DeadLetteredEvent] : []));
}
