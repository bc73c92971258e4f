/**
 * Keeps the console's memory bounded per instance: at most CONSOLE_MAX_TRANSFERS downloads and as many
 * submissions at once (more are answered 503 with Retry-After), file answers streamed from storage as they
 * are read, and submissions refused by their Content-Length before any of the body is parsed.
 */
import type { Readable } from 'node:stream';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { PipelineConfig } from '../../core/config.js';
import type { ContainerName } from '../../core/containers.js';
import type { Runtime } from '../azure/runtime.js';
import { Semaphore } from '../../core/concurrency/semaphore.js';

/** How long a refused browser waits before it tries again. */
const RETRY_AFTER_S = 5;
/** Room for the form's boundaries, part headers and sidecar fields beside the two files. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;

const gates = new WeakMap<Runtime, { download: Semaphore; submit: Semaphore }>();

function gatesOf(rt: Runtime): { download: Semaphore; submit: Semaphore } {
  let g = gates.get(rt);
  if (!g) {
    const n = rt.config.console.maxTransfers;
    gates.set(rt, (g = { download: new Semaphore(n), submit: new Semaphore(n) }));
  }
  return g;
}

export const busy = (what: string, headers: Record<string, string>): HttpResponseInit => ({
  status: 503,
  jsonBody: { error: `too many ${what} at once on this instance; try again in ${RETRY_AFTER_S} seconds` },
  headers: { ...headers, 'retry-after': String(RETRY_AFTER_S) },
});

/** The largest submission the form can make: the largest image, the largest mask, and the form around them. */
export function maxSubmissionBytes(drop: PipelineConfig['drop']): number {
  return drop.maxImageBytes + drop.model.mask.maxBytesExclusive + FORM_OVERHEAD_BYTES;
}

/** Why the submission is refused before its body is read (411 or 413), or `undefined`. */
export function submissionSizeProblem(
  request: HttpRequest,
  drop: PipelineConfig['drop'],
): { status: 411 | 413; message: string } | undefined {
  const header = request.headers.get('content-length');
  if (header === null || !/^\d+$/.test(header))
    return { status: 411, message: 'a submission must state its size (Content-Length)' };
  const limit = maxSubmissionBytes(drop);
  if (Number(header) > limit)
    return {
      status: 413,
      message: `a submission may be at most ${limit} bytes (an image and its mask); this one is ${header}`,
    };
  return undefined;
}

/** Runs a submission in one of the instance's slots, or `undefined` when all are taken. */
export async function withSubmitSlot<T>(rt: Runtime, work: () => Promise<T>): Promise<T | undefined> {
  const release = gatesOf(rt).submit.tryAcquire();
  if (!release) return undefined;
  try {
    return await work();
  } finally {
    release();
  }
}

export type StreamedBlob = { body: Readable; bytes: number } | 'busy' | 'gone';

/**
 * Opens the blob as a stream in one of the instance's download slots; the slot is given back when the
 * stream ends, fails or is dropped by a client that went away.
 */
export async function openDownload(rt: Runtime, at: { container: ContainerName; name: string }): Promise<StreamedBlob> {
  const release = gatesOf(rt).download.tryAcquire();
  if (!release) return 'busy';
  try {
    const { body, bytes } = await rt.blobs.downloadBlob(at.container, at.name);
    for (const event of ['end', 'error', 'close']) body.once(event, release);
    return { body, bytes };
  } catch {
    release();
    return 'gone';
  }
}
