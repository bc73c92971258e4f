import { describe, expect, it } from 'vitest';
import { isTerminal, jobIdFor, newJob, transition, TransitionError } from '../../shared/core/job.js';
import { editRequest } from '../helpers/edit-request.js';

const drop = { path: 'a', stem: 'cat' };
const inputs = {
  image: { name: 'a/cat.png', etag: '"0x1"', bytes: 10 },
  mask: { name: 'a/cat.mask.png', etag: '"0x2"', bytes: 5 },
};
const t0 = new Date('2026-11-21T10:00:00Z');

describe('job identity', () => {
  it('is the same for the same content versions and new for a changed upload', () => {
    const id = jobIdFor(drop, inputs);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(jobIdFor(drop, { ...inputs, image: { ...inputs.image, etag: '0x1' } })).toBe(id); // quotes are not content
    expect(jobIdFor(drop, { ...inputs, image: { ...inputs.image, etag: '"0x3"' } })).not.toBe(id);
    expect(jobIdFor(drop, { ...inputs, sidecar: { name: 'a/cat.json', etag: '"0x4"', bytes: 2 } })).not.toBe(id);
    expect(jobIdFor({ path: 'b', stem: 'cat' }, inputs)).not.toBe(id);
  });
});

describe('state machine', () => {
  const queued = newJob('j', drop, inputs, { state: 'queued', request: editRequest }, t0);

  it('walks the happy path and records each step', () => {
    let job = transition(queued, 'editing', t0, {}, { attempts: 1 });
    job = transition(job, 'edited', t0, { requestId: 'r1' });
    job = transition(job, 'publishing', t0);
    job = transition(job, 'published', t0, { note: 'published/a/cat.png' });
    expect(job.history.map((h) => h.state)).toEqual(['queued', 'editing', 'edited', 'publishing', 'published']);
    expect(job.history[2]).toMatchObject({ requestId: 'r1', attempt: 1 });
    expect(isTerminal(job.state)).toBe(true);
  });

  it('refuses moves a job cannot make', () => {
    expect(() => transition(queued, 'published', t0)).toThrow(TransitionError);
    const done = transition(transition(queued, 'editing', t0), 'failed', t0);
    expect(() => transition(done, 'queued', t0)).toThrow(/cannot go from failed to queued/);
  });

  it('drops the lease when a job leaves a working state', () => {
    const editing = transition(queued, 'editing', t0, {}, { lease: { owner: 'w', until: t0.toISOString() } });
    expect(editing.lease).toBeDefined();
    expect(transition(editing, 'queued', t0).lease).toBeUndefined();
  });
});
