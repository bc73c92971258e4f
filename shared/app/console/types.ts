/**
 * What the console's API answers, shared by the server (`shared/console/*`) and the browser bundle
 * (`web/*`, type imports only). Pure types.
 */
import type { JobCost, JobTrace } from './operations.js';
import type { HistoryEntry, JobState } from '../../core/job.js';
import type { EditRequest } from '../../core/validation.js';

export type ConsoleRole = 'submit' | 'view';

export interface Viewer {
  /** Who is signed in, as a person reads it ("local" on this machine). */
  name: string;
  role: ConsoleRole;
}

export interface JobRow {
  id: string;
  state: JobState;
  drop: string;
  updatedAt: string;
}

export interface PacerView {
  deployment: string;
  /** Requests per minute the schedule allows now (the configured rate, cut after 429s). */
  currentRpm: number;
  configuredRpm: number;
  /** Model-call slots already reserved ahead of now. */
  slotsAhead: number;
  /** When the service last answered 429 (the schedule was cut), if ever. */
  last429At: string | null;
  /** How many times 429s have cut the schedule. */
  cuts: number;
}

export interface Overview {
  viewer: Viewer;
  jobs: JobRow[];
  /** Every job by state, all time (exact, from the jobs index). */
  counts: Partial<Record<JobState, number>>;
  /** Jobs whose last change was in the last 24 hours, by state. */
  countsLast24h: Partial<Record<JobState, number>>;
  pacer: PacerView;
  /**
   * While a ledger written before the jobs index is being indexed: records walked so far and how many there were
   * (`null`: not counted). The list and counts then miss the older jobs not reached yet; new jobs are in them.
   */
  indexing?: { indexed: number; total: number | null } | null;
  /** The drop limits the form checks before upload, from the configured model. */
  limits: { model: string; maxPromptChars: number; sizes: string[]; qualities: string[]; outputFormats: string[] };
}

/** A picture of the job the browser may fetch from `/api/console/api/file/<id>?part=…`. */
export type FilePart = 'input' | 'mask' | 'output' | 'published' | 'report';

export interface JobView {
  id: string;
  state: JobState;
  drop: string;
  createdAt: string;
  updatedAt: string;
  request: EditRequest | null;
  history: HistoryEntry[];
  /** Which parts exist, each with its download name. */
  files: Partial<Record<FilePart, string>>;
  /** The provenance checklist exactly as `imagegen-pipeline verify` prints it. */
  checklist: string | null;
  verdict: 'publish' | 'quarantine' | null;
  reasons: string[];
  /** Why a rejected or failed job ended, and what to do next. */
  problems: string[];
  next: string | null;
  /** The job's trace (W3C trace id) and, locally, its spans. */
  trace: JobTrace | null;
  /** What its model calls cost, when the answers reported their tokens. */
  cost: JobCost | null;
}

export type SubmitAnswer = { ok: true; drop: string; jobId: string } | { ok: false; problems: string[] };

/** An outcome event the topic kept refusing, as the console lists it. */
export interface DeadLetterRow {
  jobId: string;
  eventId: string;
  type: string;
  subject: string;
  refusals: number;
  /** The topic's last answer. */
  lastError: string;
  deadLetteredAt: string;
}

/** The events panel: the newest events the topic accepted, and the ones it refused for good. */
export interface EventsView {
  events: { id: string; type: string; subject: string; time: string }[];
  deadLettered: DeadLetterRow[];
}
