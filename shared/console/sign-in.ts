/**
 * Entra ID sign-in for the console on Azure, done by the app itself. Microsoft's Flex Consumption
 * documentation (learn.microsoft.com/azure/azure-functions/flex-consumption-plan, "Considerations")
 * says App Service built-in authentication (EasyAuth) is not supported there and that unauthenticated
 * callers are not blocked when it is enabled, so the console cannot rely on it.
 *
 * The flow is OpenID Connect with an ID token posted back to the app (response_type=id_token,
 * response_mode=form_post; learn.microsoft.com/entra/identity-platform/v2-protocols-oidc): no client
 * secret exists anywhere. The token is kept in an HttpOnly cookie and checked on every call against
 * the tenant's signing keys; its `roles` claim carries the app roles assigned to the person
 * (Console.Submit or Console.View, defined on the app registration).
 */
import { createPublicKey, randomBytes, verify, type JsonWebKey } from 'node:crypto';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { Access } from './access.js';
import type { Viewer } from './types.js';

export const ROLES = { submit: 'Console.Submit', view: 'Console.View' } as const;
const SESSION_COOKIE = 'console_session';
const NONCE_COOKIE = 'console_nonce';
const COOKIE_PATH = '/api/console';
/** Clock skew allowed on `exp` and `nbf`. */
const SKEW_S = 300;
const KEYS_TTL_MS = 60 * 60_000;

export interface EntraSettings {
  tenantId: string;
  clientId: string;
}

export function entraSettings(env: NodeJS.ProcessEnv): EntraSettings | undefined {
  const tenantId = env.CONSOLE_TENANT_ID?.trim();
  const clientId = env.CONSOLE_CLIENT_ID?.trim();
  return tenantId && clientId ? { tenantId, clientId } : undefined;
}

const authority = (s: EntraSettings) => `https://login.microsoftonline.com/${encodeURIComponent(s.tenantId)}`;

let keyCache: { url: string; at: number; keys: (JsonWebKey & { kid?: string })[] } | undefined;

async function signingKeys(s: EntraSettings, now: number, refresh = false): Promise<(JsonWebKey & { kid?: string })[]> {
  const url = `${authority(s)}/discovery/v2.0/keys`;
  if (!refresh && keyCache?.url === url && now - keyCache.at < KEYS_TTL_MS) return keyCache.keys;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`Entra ID signing keys: HTTP ${res.status} from ${url}`);
  keyCache = { url, at: now, keys: ((await res.json()) as { keys: (JsonWebKey & { kid?: string })[] }).keys };
  return keyCache.keys;
}

const decodePart = (part: string) =>
  JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

/** The token's claims when its signature, issuer, audience and lifetime check out; otherwise why not. */
export async function verifyIdToken(
  token: string,
  s: EntraSettings,
  now: Date,
  nonce?: string,
): Promise<{ ok: true; claims: Record<string, unknown> } | { ok: false; problem: string }> {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, problem: 'not a JWT' };
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    [header, claims] = [decodePart(parts[0]!), decodePart(parts[1]!)];
  } catch {
    return { ok: false, problem: 'the token is not readable' };
  }
  if (header.alg !== 'RS256') return { ok: false, problem: `unexpected signing algorithm ${String(header.alg)}` };
  let key = (await signingKeys(s, now.getTime())).find((k) => k.kid === header.kid);
  // Entra rolls its keys; an unknown kid is worth one fresh look.
  key ??= (await signingKeys(s, now.getTime(), true)).find((k) => k.kid === header.kid);
  if (!key) return { ok: false, problem: 'signed with a key the tenant does not publish' };
  const signed = verify(
    'RSA-SHA256',
    Buffer.from(`${parts[0]}.${parts[1]}`),
    createPublicKey({ key, format: 'jwk' }),
    Buffer.from(parts[2]!, 'base64url'),
  );
  if (!signed) return { ok: false, problem: 'the signature does not match' };
  const t = now.getTime() / 1000;
  // Single-tenant: the token must come from the configured tenant's v2.0 issuer.
  if (claims.tid !== s.tenantId || claims.iss !== `${authority(s)}/v2.0`)
    return { ok: false, problem: 'issued by another tenant' };
  if (claims.aud !== s.clientId) return { ok: false, problem: 'issued for another application' };
  if (typeof claims.exp !== 'number' || claims.exp + SKEW_S < t) return { ok: false, problem: 'expired' };
  if (typeof claims.nbf === 'number' && claims.nbf - SKEW_S > t) return { ok: false, problem: 'not valid yet' };
  if (nonce !== undefined && claims.nonce !== nonce)
    return { ok: false, problem: "the sign-in answer does not match this browser's request" };
  return { ok: true, claims };
}

export function viewerFrom(claims: Record<string, unknown>): Viewer | undefined {
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

/** Who is asking, outside the local runtime: a signed-in person with a console role, or nobody. */
export async function resolveAccess(request: HttpRequest, env: NodeJS.ProcessEnv, now: Date): Promise<Access> {
  const s = entraSettings(env);
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
  const maxAge = Math.max(0, Math.floor((checked.claims.exp as number) - now.getTime() / 1000));
  return {
    status: 303,
    headers: {
      location: COOKIE_PATH,
      'set-cookie': `${SESSION_COOKIE}=${token}; Path=${COOKIE_PATH}; Max-Age=${maxAge}; HttpOnly; Secure; SameSite=Lax`,
    },
  };
}
