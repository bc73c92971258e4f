/** Calls to the console's API (same origin, cookies included); a 401 sends the browser to sign in. */
import type { OperationsAnswer } from '../shared/app/console/operations.js';
import type { EventsView, JobView, Overview, SubmitAnswer } from '../shared/app/console/types.js';

export const BASE = '/api/console/api';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${BASE}/${path}`, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401) {
    location.assign(`${BASE}/signin`);
    throw new ApiError(401, 'signing in…');
  }
  const body = (await res.json().catch(() => ({}))) as T & { error?: string };
  if (!res.ok) throw new ApiError(res.status, body.error ?? `HTTP ${res.status}`);
  return body;
}

export const fetchOverview = () => getJson<Overview>('overview');
export const fetchJob = (id: string) => getJson<JobView>(`jobs/${id}`);
export const fetchOperations = (window: 'hour' | 'day') => getJson<OperationsAnswer>(`operations?window=${window}`);
export const fileUrl = (id: string, part: string, download = false) =>
  `${BASE}/file/${id}?part=${part}${download ? '&download=1' : ''}`;

export async function submitDrop(form: FormData): Promise<SubmitAnswer> {
  const res = await fetch(`${BASE}/drops`, { method: 'POST', body: form, credentials: 'same-origin' });
  const body = (await res.json().catch(() => ({}))) as SubmitAnswer & { error?: string };
  if (res.status === 202 || res.status === 422) return body;
  return { ok: false, problems: [body.error ?? `the upload failed: HTTP ${res.status}`] };
}

/** Ends the session, then Entra ID's (the server answers where to go). */
export async function signOut(): Promise<void> {
  const res = await fetch(`${BASE}/signout`, { method: 'POST', credentials: 'same-origin' });
  const body = (await res.json().catch(() => ({}))) as { next?: string };
  location.assign(body.next ?? '/api/console');
}

/** The events panel, when this app publishes events; `undefined` when it does not (404). */
export async function fetchEvents(limit: number): Promise<EventsView | undefined> {
  try {
    return await getJson<EventsView>(`events?limit=${limit}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}
