/**
 * Log lines that carry the job id and the drop, so one job can be followed in Application Insights
 * (`traces | where message has "job=<id>"`). Key=value text, because Functions' Node worker sends
 * messages, not structured properties. Pure.
 */
import { formatDuration } from './config.js';
import { elapsedMs, type JobRecord, type JobState } from './job.js';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const consoleLogger: Logger = {
  info: (m) => console.info(m),
  warn: (m) => console.warn(m),
  error: (m) => console.error(m),
};

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

const quote = (v: string) => (/[\s"]/.test(v) ? JSON.stringify(v) : v);

export function jobTag(job: Pick<JobRecord, 'id' | 'drop'>): string {
  return `job=${job.id} drop=${quote(job.drop.key)}`;
}

/** A logger whose every line starts with the job's id and drop. */
export function jobLogger(base: Logger, job: Pick<JobRecord, 'id' | 'drop'>): Logger {
  const tag = jobTag(job);
  return {
    info: (m) => base.info(`${tag} ${m}`),
    warn: (m) => base.warn(`${tag} ${m}`),
    error: (m) => base.error(`${tag} ${m}`),
  };
}

/** Matches a state line as a job logger writes it (tag first). */
export const STATE_LINE =
  /^job=(\S+) drop=("(?:[^"\\]|\\.)*"|\S+) job\.state from=(\S+) to=(\S+) attempt=(\d+) elapsed=(\S+)(?: note=(.*))?$/;

/**
 * A drop given time for its optional sidecar (or a re-upload's last part) before intake reads it; the local
 * host shows it, so the pause after an upload does not look like a stuck pipeline.
 */
export const SETTLE_LINE = /^drop=(\S+) (waiting up to .*)$/;

export function settleLine(key: string, stem: string, settleMs: number, hasSidecar: boolean): string {
  const seconds = `${Math.ceil(settleMs / 1000)} s`;
  return hasSidecar
    ? `drop=${key} waiting up to ${seconds} for its parts to finish uploading (DROP_SETTLE)`
    : `drop=${key} waiting up to ${seconds} for ${stem}.json, an optional sidecar with the prompt (DROP_SETTLE)`;
}

/** How long a composite took to make, sign and judge; `npm run bench` (b-start) reads it from `start --verbose`. */
export const COMPOSITE_TIMING_LINE = /composite composed=(\d+)ms signed=(\d+)ms judged=(\d+)ms/;

export function compositeTimingLine(took: { composed: number; signed: number; judged: number }): string {
  const r = Math.round;
  return `composite composed=${r(took.composed)}ms signed=${r(took.signed)}ms judged=${r(took.judged)}ms`;
}

/** The one line written for every state change (log it with the job's logger); the local host turns these into its progress display. */
export function stateLine(job: JobRecord, from: JobState | 'new', now: Date): string {
  const last = job.history.at(-1);
  const note = last?.error?.message ?? last?.note;
  return `job.state from=${from} to=${job.state} attempt=${job.attempts} elapsed=${formatDuration(elapsedMs(job, now))}${note ? ` note=${JSON.stringify(note)}` : ''}`;
}
