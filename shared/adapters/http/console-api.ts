/** The console's API: one handler per resource, each behind the access check. */
import { operations } from '../../app/console/operations.js';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { Runtime } from '../azure/runtime.js';
import { canSubmit, isLocalRequest, localViewer, type Access } from './access.js';
import { finishSignIn, resolveAccess, signOut, startSignIn } from './sign-in.js';
import { planDrop, readSubmission, uploadDrop } from '../../app/console/submit.js';
import { readDeadLetters } from '../../app/dead-letters.js';
import { readOutcomeFeed } from '../../app/outbox.js';
import type { EventsView, FilePart, SubmitAnswer } from '../../app/console/types.js';
import { jobView, overview, partLocation } from '../../app/console/views.js';
import { SECURITY_HEADERS } from './console-page.js';
import { CONTAINERS } from '../../core/containers.js';
import { attachmentDisposition } from '../../core/download-name.js';
import { busy, openDownload, submissionSizeProblem, withSubmitSlot } from './transfers.js';

const JOB_ID = /^[0-9a-f]{32}$/;
const FILE_PARTS: readonly FilePart[] = ['input', 'mask', 'output', 'published', 'report'];
const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  json: 'application/json',
};

const json = (status: number, body: unknown): HttpResponseInit => ({
  status,
  jsonBody: body,
  headers: { ...SECURITY_HEADERS },
});
const error = (status: number, message: string) => json(status, { error: message });

/** A POST from another site's page carries its own Origin; only this origin may submit. */
function sameOrigin(request: HttpRequest): boolean {
  const origin = request.headers.get('origin');
  return origin === null || origin === new URL(request.url).origin;
}

async function jobFile(rt: Runtime, id: string, request: HttpRequest): Promise<HttpResponseInit> {
  const part = request.query.get('part') as FilePart | null;
  if (!part || !FILE_PARTS.includes(part)) return error(400, `part must be one of ${FILE_PARTS.join(', ')}`);
  const job = (await rt.ledger.get(id))?.value;
  if (!job) return error(404, `no job ${id}`);
  const at = partLocation(job, part);
  if (!at) return error(404, `job ${id} has no ${part} yet`);
  const opened = await openDownload(rt, at);
  if (opened === 'busy') return busy('downloads', SECURITY_HEADERS);
  if (opened === 'gone') return error(404, `${CONTAINERS[at.container]}/${at.name} is gone`);
  const file = at.name.slice(at.name.lastIndexOf('/') + 1);
  const extension = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
  const disposition = request.query.get('download') === '1' ? attachmentDisposition(at.name) : 'inline';
  // Sent by the function after the access check: no container is public, no SAS reaches the page.
  return {
    status: 200,
    body: opened.body,
    headers: {
      ...SECURITY_HEADERS,
      'content-length': String(opened.bytes),
      'content-type': CONTENT_TYPES[extension] ?? 'application/octet-stream',
      'content-disposition': disposition,
    },
  };
}

async function submit(rt: Runtime, request: HttpRequest): Promise<HttpResponseInit> {
  const tooLarge = submissionSizeProblem(request, rt.config.drop);
  if (tooLarge) return error(tooLarge.status, tooLarge.message);
  return (await withSubmitSlot(rt, () => submitDrop(rt, request))) ?? busy('submissions', SECURITY_HEADERS);
}

async function submitDrop(rt: Runtime, request: HttpRequest): Promise<HttpResponseInit> {
  let form: FormData;
  try {
    form = (await request.formData()) as unknown as FormData;
  } catch (err) {
    return error(400, `the request must be multipart/form-data with image and mask files: ${(err as Error).message}`);
  }
  const submitted = await readSubmission(form);
  if ('problems' in submitted) return json(422, { ok: false, problems: submitted.problems } satisfies SubmitAnswer);
  const planned = await planDrop(rt, submitted);
  if (!planned.ok) return json(422, { ok: false, problems: planned.problems } satisfies SubmitAnswer);
  return json(202, await uploadDrop(rt, planned.plan));
}

const MAX_EVENTS = 100;

/** The events panel, read under the console's own access check (no function key in the browser). */
async function events(rt: Runtime, request: HttpRequest): Promise<HttpResponseInit> {
  if (!rt.config.events)
    return error(404, 'outcome events are not configured (OUTCOME_EVENTS_TOPIC_ENDPOINT is empty)');
  const raw = request.query.get('limit') ?? '10';
  const limit = Number(raw);
  if (!/^\d+$/.test(raw) || limit < 1 || limit > MAX_EVENTS)
    return error(400, `limit must be a whole number from 1 to ${MAX_EVENTS}`);
  const [feed, dead] = await Promise.all([readOutcomeFeed(rt, limit), readDeadLetters(rt, MAX_EVENTS)]);
  const view: EventsView = {
    events: feed.map((e) => ({ id: e.id, type: e.type, subject: e.subject, time: e.time })),
    deadLettered: dead.map((d) => ({
      jobId: d.jobId,
      eventId: d.event.id,
      type: d.event.type,
      subject: d.event.subject,
      refusals: d.refusals,
      lastError: d.lastError,
      deadLetteredAt: d.deadLetteredAt,
    })),
  };
  return json(200, view);
}

export async function handleConsoleApi(rt: Runtime, request: HttpRequest): Promise<HttpResponseInit> {
  if (request.params.resource === 'signin') {
    const entra = rt.config.console.signIn;
    if (!entra) return error(404, 'sign-in is not configured here');
    if (request.params.id === 'callback' && request.method === 'POST') return finishSignIn(request, entra, rt.now());
    return request.method === 'GET' && !request.params.id
      ? startSignIn(request, entra)
      : error(404, 'no such sign-in step');
  }
  if (request.params.resource === 'signout') {
    const entra = rt.config.console.signIn;
    if (!entra) return error(404, 'sign-in is not configured here');
    if (request.method !== 'POST') return error(405, 'sign out with POST');
    if (!sameOrigin(request)) return error(403, 'sign-out is accepted only from the console itself');
    const answer = signOut(request, entra);
    return { ...answer, headers: { ...SECURITY_HEADERS, ...answer.headers } };
  }
  const access: Access = isLocalRequest(request, rt.localSecret)
    ? { ok: true, viewer: localViewer() }
    : await resolveAccess(request, rt.config.console.signIn, rt.now());
  if (!access.ok) return error(access.status, access.message);
  const { viewer } = access;
  const { resource, id } = request.params;
  if (request.method === 'POST') {
    if (resource !== 'drops') return error(405, `POST is not allowed on ${resource}`);
    if (!sameOrigin(request)) return error(403, 'submissions are accepted only from the console itself');
    if (!canSubmit(viewer))
      return error(403, `${viewer.name} may view the console but not submit edits (ask for the Submit role)`);
    return submit(rt, request);
  }
  switch (resource) {
    case 'overview':
      return json(200, await overview(rt, viewer));
    case 'jobs': {
      if (!id || !JOB_ID.test(id)) return error(400, 'a job id is 32 hex characters');
      const job = (await rt.ledger.get(id))?.value;
      return job ? json(200, await jobView(rt, job)) : error(404, `no job ${id}`);
    }
    case 'events':
      return events(rt, request);
    case 'operations':
      return json(200, await operations(rt, request.query.get('window')));
    case 'file':
      if (!id || !JOB_ID.test(id)) return error(400, 'a job id is 32 hex characters');
      return jobFile(rt, id, request);
    default:
      return error(404, `the console has no ${resource}`);
  }
}
