/**
 * What the console shows, read from the ledger and the storage port: the jobs overview (list, counters,
 * the pacer's schedule), one job in full, and where each of a job's pictures lives.
 */
import { jobCost, jobTrace } from './operations.js';
import type { JobContext } from '../job-context.js';
import type { IndexedJob, JobsIndex } from '../jobs-index.js';
import { upgradeStatus } from '../index-upgrade.js';
import type { ContainerName } from '../../core/containers.js';
import { dropBlobName } from '../../core/drop.js';
import type { HistoryEntry, JobRecord, JobState } from '../../core/job.js';
import { type PacerState, rateFactor, slotIntervalMs } from '../../core/pacing.js';
import { renderChecklist } from '../../core/provenance/checklist.js';
import type { ProvenanceReport } from '../../core/provenance/gate.js';
import { terminalSafe } from '../../core/provenance/terminal-text.js';
import { isServableDropPart, staysInContainer } from '../../core/blob-names.js';
import type { FilePart, JobRow, JobView, Overview, PacerView, Viewer } from './types.js';

/** The overview lists this many jobs, newest change first; the counters cover every job. */
const MAX_LISTED = 500;
const DAY_MS = 86_400_000;

/** Where one of a job's pictures is stored: a container and a blob name in it. */
export interface PartLocation {
  container: ContainerName;
  name: string;
}

export async function pacerView(rt: JobContext): Promise<PacerView> {
  const { deployment, rpm } = rt.config.model;
  const state = await rt.blobs.readJson<PacerState>('jobs', `pacer/${deployment}.json`);
  const now = rt.now().getTime();
  const factor = rateFactor(state, now);
  const interval = slotIntervalMs(rpm) / factor;
  return {
    deployment,
    configuredRpm: rpm,
    currentRpm: Math.round(rpm * factor * 10) / 10,
    slotsAhead: state && state.nextAt > now ? Math.ceil((state.nextAt - now) / interval) : 0,
    last429At: state?.rate ? new Date(state.rate.cutAt).toISOString() : null,
    cuts: state?.epoch ?? 0,
  };
}

/**
 * Jobs changed in the last day by state: from the listed page when it reaches back past the day (or holds every
 * job), which saves a second range read; else counted in the index.
 */
async function lastDayCounts(index: JobsIndex, page: { jobs: IndexedJob[]; continuationToken?: string }, since: Date) {
  const sinceIso = since.toISOString();
  const last = page.jobs.at(-1);
  if (page.continuationToken && (!last || last.updatedAt >= sinceIso)) return index.countsSince(since);
  const counts: Partial<Record<JobState, number>> = {};
  for (const j of page.jobs) if (j.updatedAt >= sinceIso) counts[j.state] = (counts[j.state] ?? 0) + 1;
  return counts;
}

export async function overview(rt: JobContext, viewer: Viewer): Promise<Overview> {
  const index = rt.ledger.index;
  if (!index) throw new Error('the console needs the jobs index');
  const since = new Date(rt.now().getTime() - DAY_MS);
  const [page, counts, pacer, upgrade] = await Promise.all([
    index.list({ limit: MAX_LISTED }),
    index.counts(),
    pacerView(rt),
    upgradeStatus(index),
  ]);
  const jobs: JobRow[] = page.jobs.map(({ id, state, drop, updatedAt }) => ({ id, state, drop, updatedAt }));
  const countsLast24h = await lastDayCounts(index, page, since);
  const model = rt.config.drop.model;
  return {
    viewer,
    jobs,
    counts,
    countsLast24h,
    pacer,
    indexing: upgrade && !upgrade.done ? { indexed: upgrade.indexed, total: upgrade.total } : null,
    limits: {
      model: model.name,
      maxPromptChars: model.maxPromptChars,
      sizes: ['auto', ...model.sizes.filter((s) => s !== 'auto')],
      qualities: [...model.qualities],
      outputFormats: [...model.outputFormats],
    },
  };
}

/**
 * Where a job's part is stored: container and blob name, or nothing when the job has no such part yet or
 * its recorded name could reach outside its container (see core/blob-names.ts).
 */
export function partLocation(job: JobRecord, part: FilePart): PartLocation | undefined {
  const at = (container: ContainerName, name: string | undefined) =>
    name !== undefined && staysInContainer(name) ? { container, name } : undefined;
  const inContainer = (path: string | undefined) => {
    if (!path) return undefined;
    const slash = path.indexOf('/');
    return at(path.slice(0, slash) === 'published' ? 'published' : 'quarantine', path.slice(slash + 1));
  };
  const dropPart = (ref: { name: string } | undefined) =>
    ref && isServableDropPart(ref.name) ? at('inbox', ref.name) : undefined;
  switch (part) {
    case 'input':
      return dropPart(job.inputs.image);
    case 'mask':
      return dropPart(job.inputs.mask);
    case 'output':
      return at('edited', job.edit?.output?.name);
    case 'published':
      return inContainer(job.publish?.blob);
    case 'report':
      if (job.publish) return inContainer(job.publish.report);
      return job.state === 'rejected' || job.state === 'failed'
        ? at('rejected', dropBlobName(job.drop, '.json'))
        : undefined;
  }
}

const baseName = (name: string) => name.slice(name.lastIndexOf('/') + 1);

const NEXT_STEP: Partial<Record<JobState, string>> = {
  rejected: 'Fix the problems above and submit the drop again; a changed upload starts a new job.',
  failed:
    'The model could not make the edit (see the last error). Check the deployment and its quota, then submit the drop again; ' +
    'a new upload starts a new job.',
  quarantined:
    'Nothing was published. The checklist says which check failed; if the image came from somewhere other than the ' +
    'configured Azure OpenAI deployment, it stays in quarantine/ for review.',
};

/** A history entry with its free text (which may quote a drop's name) made visible like the checklist's. */
function safeHistoryEntry(entry: HistoryEntry): HistoryEntry {
  return {
    ...entry,
    ...(entry.note !== undefined ? { note: terminalSafe(entry.note) } : {}),
    ...(entry.error ? { error: { ...entry.error, message: terminalSafe(entry.error.message) } } : {}),
  };
}

export async function jobView(rt: JobContext, job: JobRecord): Promise<JobView> {
  const parts: FilePart[] = ['input', 'mask', 'output', 'published', 'report'];
  const files: JobView['files'] = {};
  for (const p of parts) {
    const at = partLocation(job, p);
    if (at) files[p] = baseName(at.name);
  }
  const reportAt = job.publish ? partLocation(job, 'report') : undefined;
  const report = reportAt ? await rt.blobs.readJson<ProvenanceReport>(reportAt.container, reportAt.name) : undefined;
  return {
    id: job.id,
    state: job.state,
    drop: terminalSafe(job.drop.key),
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    request: job.request ? { ...job.request, prompt: terminalSafe(job.request.prompt) } : null,
    history: job.history.map(safeHistoryEntry),
    files,
    checklist: report ? renderChecklist(report) : null,
    verdict: job.publish?.verdict ?? null,
    reasons: (job.publish?.reasons ?? []).map(terminalSafe),
    problems: (job.problems ?? (job.error ? [job.error.message] : [])).map(terminalSafe),
    next: NEXT_STEP[job.state] ?? null,
    trace: jobTrace(rt, job),
    cost: jobCost(job),
  };
}
