/**
 * Who may use the console. The local runtime (`npm start`, `host`) declares its user: its composition root
 * gives the runtime a per-process secret (`Runtime.localSecret`) and its host adds that secret to every
 * HTTP request it hands a function, after dropping any copy a caller sent. Nothing a remote caller can
 * send makes a request local: not a loopback Host header, not a missing WEBSITE_SITE_NAME. Every other
 * runtime (Azure, `func start`) needs Entra ID sign-in and refuses everyone when it is not configured
 * (see `sign-in.ts`), so running the app anywhere else never exposes an open submit form.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { HttpRequest } from '@azure/functions';
import type { ConsoleRole, Viewer } from '../../app/console/types.js';

export type Access = { ok: true; viewer: Viewer } | { ok: false; status: 401 | 403; message: string };

/** The header the local host sets to the runtime's local secret. */
export const LOCAL_USER_HEADER = 'x-imagegen-local-user';

/** A fresh secret for a local runtime's composition root to declare its user with (`createRuntime`'s `localSecret`). */
export function newLocalSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** True only when the runtime was declared local and the request carries its secret (added by the local host). */
export function isLocalRequest(request: HttpRequest, localSecret: string | undefined): boolean {
  const sent = request.headers.get(LOCAL_USER_HEADER);
  if (!localSecret || sent === null) return false;
  const [a, b] = [Buffer.from(sent), Buffer.from(localSecret)];
  return a.length === b.length && timingSafeEqual(a, b);
}

export function canSubmit(viewer: Viewer): boolean {
  return viewer.role === 'submit';
}

export function localViewer(): Viewer {
  return { name: 'local', role: 'submit' satisfies ConsoleRole };
}
