/**
 * Re-drops: a drop uploaded again under the same name after it produced a result. Identical content
 * (image, mask and sidecar by SHA-256, and the same request: a prompt from metadata or a changed default
 * counts) is not edited again: the drop ends as a `redrop` job with a note
 * beside the earlier result, `<stem>.redrop.json`, saying where it is. Changed content is a new job that
 * names the job it replaces; its result goes over the earlier one, which blob versioning keeps.
 */
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { FoundResult } from '../ports/blob-store.js';
import { dropBlobName, dropKey, type DropRef } from '../core/drop.js';
import { announceOutcome, expectOutcomeEvent } from './outbox.js';
import { newJob, type JobRecord, type PartRef } from '../core/job.js';
import { JOB_ERROR } from '../core/job-errors.js';
import { jobLogger, stateLine, type Logger } from '../core/log.js';
import type { JobContext } from './job-context.js';
import { recordJobEnd } from './telemetry/job-trace.js';
import { traceOfStep } from './telemetry/trace.js';
import type { EditRequest } from '../core/validation.js';

/** The drop's earlier result and the job that made it. */
export interface EarlierResult {
  earlier: JobRecord;
  result: FoundResult;
}

export type RedropCheck = { kind: 'first' } | ({ kind: 'identical' | 'changed' } & EarlierResult);

const PART_KINDS = ['image', 'mask', 'sidecar'] as const;

/** A part's whole content as read under its ETag during intake, by `readKey`: hashed without reading it again. */
export type PartsRead = ReadonlyMap<string, Buffer>;

export function readKey(part: Pick<PartRef, 'name' | 'etag'>): string {
  return `${part.name}\n${part.etag}`;
}

/**
 * The inputs with each part's content hash: from the bytes intake already read whole under the same ETag
 * (the mask, the sidecar), from a hash `streaming` already (by `readKey`), else streamed (412 if a part
 * changed since it was listed).
 */
export async function withContentHashes(
  rt: JobContext,
  inputs: JobRecord['inputs'],
  read: PartsRead = new Map(),
  streaming: ReadonlyMap<string, Promise<string>> = new Map(),
): Promise<JobRecord['inputs']> {
  const hashed = await Promise.all(
    PART_KINDS.map(async (kind): Promise<[string, PartRef] | undefined> => {
      const part = inputs[kind];
      if (!part) return undefined;
      const bytes = read.get(readKey(part));
      const sha256 = bytes
        ? createHash('sha256').update(bytes).digest('hex')
        : await (streaming.get(readKey(part)) ?? rt.blobs.hashPart(part));
      return [kind, { ...part, sha256 }];
    }),
  );
  return Object.fromEntries(hashed.filter((e) => e !== undefined));
}

function sameContent(a: JobRecord['inputs'], b: JobRecord['inputs']): boolean {
  return PART_KINDS.every((kind) => {
    const [x, y] = [a[kind], b[kind]];
    return x === undefined ? y === undefined : y !== undefined && x.sha256 !== undefined && x.sha256 === y.sha256;
  });
}

/**
 * The drop's newest result, the job that made it, and whether this is the same content and request. `found`:
 * the drop's results, if the caller has already asked for them.
 */
export async function checkRedrop(
  rt: JobContext,
  drop: DropRef,
  inputs: JobRecord['inputs'],
  request: EditRequest,
  found: Promise<FoundResult[]> = rt.blobs.findResults(drop),
): Promise<RedropCheck> {
  for (const result of await found) {
    const jobId = result.metadata.jobid;
    const earlier = jobId ? (await rt.ledger.get(jobId))?.value : undefined;
    if (!earlier) continue;
    const identical = sameContent(inputs, earlier.inputs) && isDeepStrictEqual(request, earlier.request);
    return { kind: identical ? 'identical' : 'changed', earlier, result };
  }
  return { kind: 'first' };
}

export function resultPath(result: FoundResult): string {
  return `${result.container}/${result.name}`;
}

/** Ends an identical re-drop without a model call: a `redrop` job, and the note beside the earlier result. */
export async function recordIdenticalRedrop(
  rt: JobContext,
  drop: DropRef,
  id: string,
  inputs: JobRecord['inputs'],
  check: EarlierResult,
  baseLog: Logger,
): Promise<void> {
  const verb = check.result.container === 'published' ? 'published' : 'quarantined';
  const problem =
    `the same image, mask, sidecar and prompt were already ${verb} as ${resultPath(check.result)} ` +
    `(job ${check.earlier.id}, ${check.earlier.updatedAt}); nothing was sent to the model`;
  const error = { code: JOB_ERROR.redrop, message: problem };
  const job = {
    ...newJob(id, drop, inputs, { state: 'rejected', problems: [problem], error }, rt.now()),
    ...traceOfStep(),
  };
  const log = jobLogger(baseLog, job);
  const note = {
    drop: job.drop.key,
    jobId: job.id,
    at: job.createdAt,
    note: `already ${verb} as ${resultPath(check.result)}`,
    earlierJob: check.earlier.id,
    report: `${check.result.container}/${dropBlobName(drop, '.provenance.json')}`,
    next: 'Change the image, mask or sidecar (the prompt) and upload again for a new edit.',
  };
  const written = await rt.blobs.writeReport(check.result.container, dropBlobName(drop, '.redrop.json'), note, {
    key: job.drop.key,
    stamp: job.createdAt,
  });
  if (!written.written) log.warn(`could not write the re-drop note beside ${resultPath(check.result)}`);
  log.info(`identical re-drop: ${note.note} (job ${check.earlier.id})`);
  // A re-drop ends its job like any other: owed an outcome event before the terminal write.
  await expectOutcomeEvent(rt, job.id);
  if (await rt.ledger.create(job)) {
    log.info(stateLine(job, 'new', rt.now()));
    recordJobEnd(job);
    await announceOutcome(rt, job, log);
  }
  await rt.ledger.removePending(dropKey(drop));
}
