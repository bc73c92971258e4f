/**
 * Who may use the console. On this machine (`npm start`) the local host listens on 127.0.0.1 only and
 * whoever reaches it may submit. Anywhere else the console refuses every request unless Entra ID sign-in
 * is configured (see `entra.ts`), so deploying it never exposes an open submit form.
 */
import type { HttpRequest } from '@azure/functions';
import type { ConsoleRole, Viewer } from './types.js';

export type Access = { ok: true; viewer: Viewer } | { ok: false; status: 401 | 403; message: string };

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** True when the request came to a loopback address and the code is not running in App Service. */
export function isLocalRequest(request: HttpRequest, env: NodeJS.ProcessEnv): boolean {
  // App Service sets WEBSITE_SITE_NAME on every instance; a loopback Host header there proves nothing.
  return !env.WEBSITE_SITE_NAME && LOOPBACK.has(new URL(request.url).hostname);
}

export function canSubmit(viewer: Viewer): boolean {
  return viewer.role === 'submit';
}

export function localViewer(): Viewer {
  return { name: 'local', role: 'submit' satisfies ConsoleRole };
}
