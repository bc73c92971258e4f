/**
 * Entra ID sign-in for the console on Azure, done by the app itself. Microsoft's Flex Consumption
 * documentation (learn.microsoft.com/azure/azure-functions/flex-consumption-plan, "Considerations")
 * says App Service built-in authentication (EasyAuth) is not supported there and that unauthenticated
 * callers are not blocked when it is enabled, so the console cannot rely on it.
 *
 * The flow is OpenID Connect with an ID token posted back to the app (response_type=id_token,
 * response_mode=form_post; learn.microsoft.com/entra/identity-platform/v2-protocols-oidc): no client
 * secret exists anywhere. The token is kept in an HttpOnly browser-session cookie and checked on every
 * call (./id-token.ts); its `roles` claim carries the app roles assigned to the person (Console.Submit or
 * Console.View, defined on the app registration). A token serves as a session for SESSION_S after it
 * was issued: then the console signs in again and the new token carries the roles assigned now, so a
 * removed role stops working within that time. POST …/api/signout ends the session.
 */
import { randomBytes } from 'node:crypto';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { Access } from './access.js';
import { authority, verifyIdToken, type EntraSettings } from './id-token.js';
import type { Viewer } from '../../app/console/types.js';

export type { EntraSettings } from './id-token.js';

export const ROLES = { submit: 'Console.Submit', view: 'Console.View' } as const;
const SESSION_COOKIE = 'console_session';
const NONCE_COOKIE = 'console_nonce';
const COOKIE_PATH = '/api/console';

export function viewerFrom(claims: { roles?: unknown; [claim: string]: unknown }): Viewer | undefined {
  const roles = Array.isArray(claims.roles) ? claims.roles : [];
  const name = String(claims.preferred_username ?? claims.name ?? claims.oid ?? 'signed-in user');
  if (roles.includes(ROLES.submit)) return { name, role: 'submit' };
  if (roles.includes(ROLES.view)) return { name, role: 'view' };
  return undefined;
}

function cookie(request: HttpRequest, name: string): string | undefined {
  for (const pair of (request.headers.get('cookie') ?? '').split(';')) {
    const [k, ...v] = pair.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/**
 * Who is asking, outside the local runtime: a signed-in person with a console role, or nobody. `s` is the
 * configured sign-in (`config.console.signIn`); without it everyone is refused.
 */
export async function resolveAccess(request: HttpRequest, s: EntraSettings | undefined, now: Date): Promise<Access> {
  if (!s)
    return {
      ok: false,
      status: 403,
      message:
        "the console's sign-in is not configured (CONSOLE_TENANT_ID, CONSOLE_CLIENT_ID); only `npm start` runs an open local console",
    };
  const token = cookie(request, SESSION_COOKIE);
  if (!token) return { ok: false, status: 401, message: 'sign in first' };
  const checked = await verifyIdToken(token, s, now);
  if (!checked.ok) return { ok: false, status: 401, message: `sign in again: ${checked.problem}` };
  const viewer = viewerFrom(checked.claims);
  if (!viewer)
    return {
      ok: false,
      status: 403,
      message: `you are signed in but have neither the ${ROLES.submit} nor the ${ROLES.view} role`,
    };
  return { ok: true, viewer };
}

const callbackUrl = (request: HttpRequest) => `${new URL(request.url).origin}${COOKIE_PATH}/api/signin/callback`;

/** GET …/api/signin: off to Entra ID, with a one-time nonce this browser must bring back. */
export function startSignIn(request: HttpRequest, s: EntraSettings): HttpResponseInit {
  const nonce = randomBytes(16).toString('base64url');
  const url = new URL(`${authority(s)}/oauth2/v2.0/authorize`);
  url.search = new URLSearchParams({
    client_id: s.clientId,
    response_type: 'id_token',
    response_mode: 'form_post',
    redirect_uri: callbackUrl(request),
    scope: 'openid profile',
    nonce,
  }).toString();
  // SameSite=None: the answer comes back as a cross-site POST from login.microsoftonline.com.
  return {
    status: 302,
    headers: {
      location: url.toString(),
      'set-cookie': `${NONCE_COOKIE}=${nonce}; Path=${COOKIE_PATH}; Max-Age=600; HttpOnly; Secure; SameSite=None`,
    },
  };
}

/** POST …/api/signin/callback: Entra ID's answer; a valid token becomes the session cookie. */
export async function finishSignIn(request: HttpRequest, s: EntraSettings, now: Date): Promise<HttpResponseInit> {
  const form = new URLSearchParams(await request.text());
  const token = form.get('id_token');
  if (!token)
    return {
      status: 400,
      jsonBody: { error: `sign-in failed: ${form.get('error_description') ?? form.get('error') ?? 'no id_token'}` },
    };
  const nonce = cookie(request, NONCE_COOKIE);
  if (!nonce) return { status: 400, jsonBody: { error: 'sign-in took too long or cookies are blocked; try again' } };
  const checked = await verifyIdToken(token, s, now, nonce);
  if (!checked.ok) return { status: 401, jsonBody: { error: `sign-in refused: ${checked.problem}` } };
  // A browser-session cookie: it goes when the browser closes, and the token inside stops being a
  // session SESSION_S after Entra issued it (see ./id-token.ts), well before the token itself expires.
  return {
    status: 303,
    headers: {
      location: COOKIE_PATH,
      'set-cookie': `${SESSION_COOKIE}=${token}; Path=${COOKIE_PATH}; HttpOnly; Secure; SameSite=Lax`,
    },
  };
}

/**
 * POST …/api/signout: clears the session, and answers where to end the Entra ID session too (otherwise
 * the next sign-in lets the same person straight back in). The page navigates there itself: the
 * console's `form-action 'self'` policy would block a form's redirect to another site.
 */
export function signOut(request: HttpRequest, s: EntraSettings): HttpResponseInit {
  const url = new URL(`${authority(s)}/oauth2/v2.0/logout`);
  url.searchParams.set('post_logout_redirect_uri', `${new URL(request.url).origin}${COOKIE_PATH}`);
  return {
    status: 200,
    jsonBody: { next: url.toString() },
    headers: { 'set-cookie': `${SESSION_COOKIE}=; Path=${COOKIE_PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Lax` },
  };
}
