/**
 * The states a job goes through, and where it stops. Apart from ./job.ts (which uses node:crypto) so
 * the console's browser bundle can import them too.
 */
export const JOB_STATES = [
  'queued',
  'editing',
  'edited',
  'publishing',
  'published',
  'quarantined',
  'rejected',
  'failed',
] as const;
export type JobState = (typeof JOB_STATES)[number];
export const TERMINAL_STATES: readonly JobState[] = ['published', 'quarantined', 'rejected', 'failed'];

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state);
}
