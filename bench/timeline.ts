/**
 * Where a burst's time went, from the jobs' own records: when the uploads ended, when intake queued the
 * jobs, when the calls left and when the last job was published. Completion over the ideal is the sum
 * of these lags; the table says which one to look at.
 */
import type { JobRecord } from '../shared/core/job.js';
import { percentile } from './measure.js';

export interface BurstTimeline {
  uploaded: number;
  queuedFirst: number;
  queuedP50: number;
  queuedLast: number;
  firstCall: number;
  lastCall: number;
  lastPublished: number;
}

/** `callsAt`: when each images/edits request reached the model (epoch ms), from the emulators' logs. */
export function burstTimeline(jobs: JobRecord[], callsAt: number[], start: number, uploaded: number): BurstTimeline {
  const after = (iso: string) => (Date.parse(iso) - start) / 1000;
  const queued = jobs.map((j) => after(j.createdAt)).sort((a, b) => a - b);
  const published = jobs.flatMap((j) => j.history.filter((h) => h.state === 'published').map((h) => after(h.at)));
  return {
    uploaded: (uploaded - start) / 1000,
    queuedFirst: queued[0] ?? NaN,
    queuedP50: percentile(queued, 50),
    queuedLast: queued.at(-1) ?? NaN,
    firstCall: (Math.min(...callsAt) - start) / 1000,
    lastCall: (Math.max(...callsAt) - start) / 1000,
    lastPublished: Math.max(...published),
  };
}

/**
 * One line, e.g. `uploads 3.1 s · queued first / p50 / last 0.4 / 9.0 / 20.2 s · calls 1.9 → 62.3 s ·
 * last published 63.8 s`.
 */
export function formatTimeline(t: BurstTimeline): string {
  const s = (x: number) => x.toFixed(1);
  const queued = [t.queuedFirst, t.queuedP50, t.queuedLast].map(s).join(' / ');
  return (
    `uploads ${s(t.uploaded)} s · queued first / p50 / last ${queued} s · ` +
    `calls ${s(t.firstCall)} → ${s(t.lastCall)} s · last published ${s(t.lastPublished)} s`
  );
}

/** The lines under a bench's table: one timeline per run, each labelled. */
export function timelinesBelow(lines: string[]): string {
  return `\n\nWhere the time went (seconds after the first upload):\n${lines.join('\n')}`;
}
