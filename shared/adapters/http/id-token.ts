/**
 * Checks an Entra ID ID token with `jose`: the tenant's signing keys through `createRemoteJWKSet`
 * (cached, one refresh at a time, at most one refresh per cooldown however many unknown `kid`s arrive,
 * each fetch bounded by a timeout), then `jwtVerify` with the issuer, audience, algorithm and clock
 * tolerance pinned. On top: the tenant id, the session's age and, at sign-in, the nonce.
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload } from 'jose';

export interface EntraSettings {
  tenantId: string;
  clientId: string;
}

/** Clock skew allowed on `exp` and `nbf`. */
const SKEW_S = 300;
/**
 * A token is a session for this long after Entra issued it; then the browser signs in again (silently
 * while its Entra session lasts) and gets a new token with the roles assigned *now*.
 */
export const SESSION_S = 600;
const KEYS = { cacheMaxAge: 60 * 60_000, cooldownDuration: 5 * 60_000, timeoutDuration: 5_000 } as const;

export const authority = (s: EntraSettings) => `https://login.microsoftonline.com/${encodeURIComponent(s.tenantId)}`;

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** One key set per tenant and process, so the cache and the cooldown hold across requests. */
function signingKeys(s: EntraSettings): ReturnType<typeof createRemoteJWKSet> {
  const url = `${authority(s)}/discovery/v2.0/keys`;
  let keys = keySets.get(url);
  if (!keys) keySets.set(url, (keys = createRemoteJWKSet(new URL(url), KEYS)));
  return keys;
}

/** Says what was wrong with the token in words a person signing in can act on. */
function problemOf(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return 'issued by another tenant';
    if (err.claim === 'aud') return 'issued for another application';
    if (err.claim === 'nbf') return 'not valid yet';
    return `the token's ${err.claim} claim is not acceptable`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not match';
  if (err instanceof errors.JWKSNoMatchingKey) return 'signed with a key the tenant does not publish';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'unexpected signing algorithm';
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid)
    return "Entra ID's signing keys could not be read; try again";
  if (err instanceof errors.JOSEError) return 'the token is not readable';
  throw err;
}

export type Checked = { ok: true; claims: JWTPayload } | { ok: false; problem: string };

/** The token's claims when its signature, issuer, audience, lifetime and session age check out. */
export async function verifyIdToken(token: string, s: EntraSettings, now: Date, nonce?: string): Promise<Checked> {
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, signingKeys(s), {
      issuer: `${authority(s)}/v2.0`,
      audience: s.clientId,
      algorithms: ['RS256'],
      clockTolerance: SKEW_S,
      currentDate: now,
      requiredClaims: ['exp', 'iat'],
    }));
  } catch (err) {
    return { ok: false, problem: problemOf(err) };
  }
  // Single-tenant: the issuer names the tenant, and so must `tid`.
  if (claims.tid !== s.tenantId) return { ok: false, problem: 'issued by another tenant' };
  if (now.getTime() / 1000 - claims.iat! > SESSION_S)
    return { ok: false, problem: `the session is more than ${SESSION_S / 60} minutes old` };
  if (nonce !== undefined && claims.nonce !== nonce)
    return { ok: false, problem: "the sign-in answer does not match this browser's request" };
  return { ok: true, claims };
}
