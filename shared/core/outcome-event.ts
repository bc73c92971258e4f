/**
 * The outcome event of a job that ended: a CloudEvents 1.0 event in its JSON form (structured mode),
 * computed from the terminal job record alone, so every retry sends the very same event. Pure: no I/O.
 *
 * CloudEvents 1.0 requires `id`, `source`, `specversion` and `type`; `id` + `source` identify an event,
 * so a subscriber that sees the same pair twice drops the second
 * (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/spec.md#id).
 */
import { isServableDropPart } from './blob-names.js';
import { dropBlobName } from './drop.js';
import { isTerminal, type JobError, type JobRecord, type JobState } from './job.js';
import { terminalSafe } from './provenance/terminal-text.js';

export const OUTCOME_EVENT_TYPE_PREFIX = 'com.imagegen-pipeline.job.';

export type OutcomeState = Extract<JobState, 'published' | 'quarantined' | 'rejected' | 'failed'>;

export interface OutcomeEventData {
  jobId: string;
  state: OutcomeState;
  /** The drop's key (`<path>/<stem>`), also the event's subject. */
  drop: string;
  /** The provenance gate's verdict, for published and quarantined jobs. */
  verdict?: 'publish' | 'quarantine';
  /** Why: the gate's reasons, or the problems that rejected or failed the job. */
  reasons: string[];
  error?: JobError;
  /** Blob URLs without any SAS: a subscriber reads them with its own access. */
  blobs: { image?: string; mask?: string; sidecar?: string; result?: string; report?: string };
}

export interface OutcomeCloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  /** The job's trace (the CloudEvents distributed-tracing extension), so a subscriber can continue it. */
  traceparent?: string;
  data: OutcomeEventData;
}

/** Stable per job and state: a retried send is the same event to every subscriber. */
export function outcomeEventId(jobId: string, state: OutcomeState): string {
  return `${jobId}.${state}`;
}

function blobUrl(blobEndpoint: string, path: string): string {
  return `${blobEndpoint.replace(/\/+$/, '')}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

/** A drop part's path, only when its recorded name cannot resolve outside `inbox/` in a URL. */
const inboxPath = (part: { name: string } | undefined) =>
  part && isServableDropPart(part.name) ? `inbox/${part.name}` : undefined;

/** The event for a job in a terminal state; `undefined` for a job still under way. */
export function outcomeEvent(job: JobRecord, source: string, blobEndpoint: string): OutcomeCloudEvent | undefined {
  if (!isTerminal(job.state)) return undefined;
  const state = job.state as OutcomeState;
  const url = (path: string | undefined) => (path ? blobUrl(blobEndpoint, path) : undefined);
  const judged = state === 'published' || state === 'quarantined' ? job.publish : undefined;
  // Free text that may quote a drop's name: shown visibly escaped, as the checklist shows it.
  const reasons = (judged ? judged.reasons : (job.problems ?? (job.error ? [job.error.message] : []))).map(
    terminalSafe,
  );
  const blobs = Object.fromEntries(
    Object.entries({
      image: url(inboxPath(job.inputs.image)),
      mask: url(inboxPath(job.inputs.mask)),
      sidecar: url(inboxPath(job.inputs.sidecar)),
      result: url(judged?.blob),
      // Rejected and failed jobs get their report in rejected/ (see app/steps.ts).
      report: url(judged ? judged.report : `rejected/${dropBlobName(job.drop, '.json')}`),
    }).filter(([, v]) => v !== undefined),
  ) as OutcomeEventData['blobs'];
  return {
    specversion: '1.0',
    id: outcomeEventId(job.id, state),
    source,
    type: `${OUTCOME_EVENT_TYPE_PREFIX}${state}`,
    subject: job.drop.key,
    time: job.updatedAt,
    datacontenttype: 'application/json',
    ...(job.traceparent ? { traceparent: job.traceparent } : {}),
    data: {
      jobId: job.id,
      state,
      drop: job.drop.key,
      ...(judged ? { verdict: judged.verdict } : {}),
      reasons,
      ...(job.error && !judged ? { error: { ...job.error, message: terminalSafe(job.error.message) } } : {}),
      blobs,
    },
  };
}
