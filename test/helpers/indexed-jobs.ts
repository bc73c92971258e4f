/** Job records at chosen times and states, for the jobs-index tests and bench (h). */
import { createHash } from 'node:crypto';
import { newJob, type JobRecord, type JobState } from '../../shared/core/job.js';
import { editRequest } from './edit-request.js';

export const jobIdOf = (n: number) => createHash('sha256').update(`job ${n}`).digest('hex').slice(0, 32);

/** Job `n`, created at `createdAt`, last changed `ageMs` later to `state` (a one-step history). */
export function jobAt(
  n: number,
  options: { state: JobState; createdAt: Date; changedAfterMs?: number; deployment?: string; dropPath?: string },
): JobRecord {
  const drop = { path: options.dropPath ?? 'bench', stem: `photo-${n}` };
  const job = newJob(jobIdOf(n), drop, {}, { state: 'queued', request: editRequest }, options.createdAt);
  const at = new Date(options.createdAt.getTime() + (options.changedAfterMs ?? 0)).toISOString();
  return {
    ...job,
    state: options.state,
    updatedAt: at,
    ...(options.deployment ? { deployment: options.deployment } : {}),
    history: options.state === 'queued' ? job.history : [...job.history, { at, state: options.state, attempt: 1 }],
  };
}
