/**
 * The hand-off between edit and publish. The edit worker writes the output to `edited/`, then records
 * `edited` in the ledger; the output's BlobCreated event can reach publish before that record does
 * (Azurite on disk, or Event Grid's ~1 s delivery against a slow ledger write). The event is spent once
 * publish returns, so publish must not simply answer "busy"; nor can it fail the delivery to get the
 * event back, since Event Grid retries only after 10 s, then 30 s, 1 min, ...
 * (https://learn.microsoft.com/azure/event-grid/delivery-and-retry).
 *
 * Both sides write the job record under its ETag, so one of two orders happens, never both:
 * - the worker records `edited` first: publish then finds `edited` and publishes, as usual;
 * - publish marks the record first (`outputEvent`, only while the worker's lease is live): the worker's
 *   `edited` write then fails its ETag condition, re-reads the record with the mark, records `edited`
 *   and, seeing the mark, publishes in-process.
 * The `edited` → `publishing` claim stays a conditional write, so even a late duplicate of either side
 * publishes nothing twice. A worker that dies after the mark leaves an `editing` job with an expired
 * lease and its output: the sweep publishes it, as for any lost worker.
 */
import type { Versioned } from './ledger.js';
import { leaseExpired, type JobRecord } from '../core/job.js';
import type { Logger } from '../core/log.js';
import type { JobContext } from './job-context.js';

/** Whether the edit worker must publish the job it just recorded as `edited`. */
export function outputEventSpent(job: JobRecord): boolean {
  return job.state === 'edited' && job.outputEvent !== undefined;
}

/**
 * Marks that the output's event came while the worker still held the job; `false` when the worker had
 * recorded `edited` (or lost the job) by then.
 */
export async function markOutputEvent(
  rt: JobContext,
  jobId: string,
  etag: string,
  known: Versioned<JobRecord>,
  log: Logger,
): Promise<boolean> {
  const at = rt.now();
  const held = (j: JobRecord) => j.state === 'editing' && !leaseExpired(j, at);
  const result = await rt.ledger.update(
    jobId,
    (j) => (held(j) ? { ...j, outputEvent: { etag, at: at.toISOString() } } : undefined),
    known,
  );
  if (result) log.info('the output arrived before its edit worker recorded it; the worker publishes it when it does');
  return result !== undefined;
}
