/**
 * A job: one accepted (or rejected) drop and everything that happened to it. The ledger stores one record
 * per job and advances it only through `transition`, under an ETag condition, so two workers can never
 * both claim or advance the same job. Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import { dropKey, type DropRef } from './drop.js';
import { isTerminal, type JobState } from './job-states.js';
import type { TokenUsage } from './cost.js';
import type { JobErrorCode } from './job-errors.js';
import type { EditRequest } from './validation.js';

export { isTerminal, JOB_STATES, TERMINAL_STATES, type JobState } from './job-states.js';

/** Which states a job may move to from each state. Re-entering `editing` or `publishing` is a takeover. */
const NEXT: Record<JobState, readonly JobState[]> = {
  queued: ['queued', 'editing', 'rejected', 'failed'],
  editing: ['queued', 'editing', 'edited', 'rejected', 'failed'],
  edited: ['publishing', 'rejected'],
  publishing: ['publishing', 'published', 'quarantined', 'rejected'],
  published: [],
  quarantined: [],
  rejected: [],
  failed: [],
};

export type Publisher = 'publish' | 'edit' | 'sweep';

export interface PartRef {
  name: string;
  etag: string;
  bytes: number;
  /** SHA-256 of the content (hex), for telling an identical re-drop from a changed one. */
  sha256?: string;
}

export interface JobError {
  code: JobErrorCode;
  message: string;
}

export interface HistoryEntry {
  at: string;
  state: JobState;
  attempt: number;
  note?: string;
  requestId?: string;
  error?: JobError;
}

export interface EditOutput {
  name: string;
  etag: string;
  sha256: string;
  bytes: number;
  contentType: string;
}

export interface JobRecord {
  id: string;
  drop: DropRef & { key: string };
  inputs: { image?: PartRef; mask?: PartRef; sidecar?: PartRef };
  request?: EditRequest;
  state: JobState;
  createdAt: string;
  updatedAt: string;
  /** Model attempts that count towards IMAGE_MODEL_MAX_ATTEMPTS (429s do not). */
  attempts: number;
  /** Every request sent to the model for this job, 429s included. */
  modelCalls: number;
  throttled: number;
  /** Bumped whenever the job is (re)queued; a queue message carrying an older ticket is stale. */
  ticket: number;
  /** The job's reserved model slot or retry time. */
  notBefore?: string;
  /** The schedule epoch its slot was reserved in (a later epoch means the slot is void). */
  slotEpoch?: number;
  /** The pool member (IMAGE_MODEL_POOL) whose schedule holds the slot, and which the edit goes to. */
  deployment?: string;
  /** Who holds an `editing` or `publishing` job, and until when. */
  lease?: { owner: string; until: string };
  /**
   * The latest model call; `firstStartedAt` is the first attempt's start, since an earlier attempt's
   * output may be the one kept (see the edit worker).
   */
  edit?: {
    startedAt: string;
    firstStartedAt?: string;
    endedAt?: string;
    requestId?: string;
    clientRequestId?: string;
    /** The pool member that made (or was making) this call. */
    deployment?: string;
    output?: EditOutput;
  };
  /**
   * Set by publish when the output's BlobCreated event arrives while the edit worker still holds the job:
   * the event is spent, so the worker that records `edited` publishes in its place (see app/handoff.ts).
   */
  outputEvent?: { etag: string; at: string };
  /** `by`: the function that published the job (`publish` on the event, `edit` after a hand-off, `sweep`). */
  publish?: {
    verdict: 'publish' | 'quarantine';
    blob: string;
    report: string;
    reasons: string[];
    sourceEtag: string;
    by?: Publisher;
  };
  error?: JobError;
  /** A changed re-drop: the job whose result this one replaces (the earlier result stays as a blob version). */
  replaces?: { jobId: string; result: string };
  /** Why a job was rejected, in plain words (one line per problem). */
  problems?: string[];
  /** The job's W3C trace context: every step's span joins this trace (see telemetry/trace.ts). */
  traceparent?: string;
  /** Tokens the model's answers reported, summed over the job's answered calls. */
  usage?: TokenUsage;
  /** Their cost in US dollars at the catalog's list price; absent when the model has no price there. */
  costUsd?: number;
  history: HistoryEntry[];
}

const normalizeEtag = (etag: string) => etag.replace(/^W\//, '').replace(/"/g, '');

/** Whether two ETags name the same blob version: Event Grid reports them unquoted, Blob Storage quoted. */
export function sameEtag(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && normalizeEtag(a) === normalizeEtag(b);
}

/** Job identity from the inputs' content versions: a duplicate event is the same job, a changed upload a new one. */
export function jobIdFor(drop: DropRef, inputs: JobRecord['inputs'] | { name: string; etag: string }[]): string {
  const parts = Array.isArray(inputs)
    ? inputs
    : [inputs.image, inputs.mask, inputs.sidecar].filter((p): p is PartRef => p !== undefined);
  const hash = createHash('sha256').update(dropKey(drop));
  for (const p of parts) hash.update(`\n${p.name}\n${normalizeEtag(p.etag)}`);
  return hash.digest('hex').slice(0, 32);
}

export function newJob(
  id: string,
  drop: DropRef,
  inputs: JobRecord['inputs'],
  init:
    | { state: 'queued'; request: EditRequest; slot?: { at: number; epoch: number; deployment?: string } }
    | { state: 'rejected'; problems: string[]; error: JobError },
  now: Date,
): JobRecord {
  const at = now.toISOString();
  return {
    id,
    drop: { ...drop, key: dropKey(drop) },
    inputs,
    ...(init.state === 'queued'
      ? {
          request: init.request,
          ...(init.slot ? { notBefore: new Date(init.slot.at).toISOString(), slotEpoch: init.slot.epoch } : {}),
          ...(init.slot?.deployment ? { deployment: init.slot.deployment } : {}),
        }
      : { problems: init.problems, error: init.error }),
    state: init.state,
    createdAt: at,
    updatedAt: at,
    attempts: 0,
    modelCalls: 0,
    throttled: 0,
    ticket: 0,
    history: [{ at, state: init.state, attempt: 0, ...(init.state === 'rejected' ? { error: init.error } : {}) }],
  };
}

export class TransitionError extends Error {}

export interface TransitionDetails {
  note?: string;
  requestId?: string;
  error?: JobError;
}

/** A copy of `job` in state `to`, with `changes` applied and the step recorded in its history. */
export function transition(
  job: JobRecord,
  to: JobState,
  now: Date,
  details: TransitionDetails = {},
  changes: Partial<JobRecord> = {},
): JobRecord {
  if (!NEXT[job.state].includes(to)) throw new TransitionError(`job ${job.id} cannot go from ${job.state} to ${to}`);
  const at = now.toISOString();
  const next: JobRecord = { ...job, ...changes, state: to, updatedAt: at };
  if (details.error) next.error = details.error;
  if (isTerminal(to) || to === 'edited' || to === 'queued') delete next.lease;
  // A new attempt writes a new output, which raises its own event.
  if (to === 'queued') delete next.outputEvent;
  next.history = [...job.history, { at, state: to, attempt: next.attempts, ...details }];
  return next;
}

export function leaseExpired(job: JobRecord, now: Date): boolean {
  return !job.lease || Date.parse(job.lease.until) <= now.getTime();
}

/** Milliseconds from the job's creation to now, for progress lines. */
export function elapsedMs(job: JobRecord, now: Date): number {
  return now.getTime() - Date.parse(job.createdAt);
}
