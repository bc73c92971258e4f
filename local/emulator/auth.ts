/**
 * Who may call the emulator: the well-known key, or a bearer token the emulator itself issued and that
 * has not expired — the local stand-in for an Entra ID token for https://cognitiveservices.azure.com.
 * Refusals carry Azure OpenAI's 401 bodies.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError } from './requests.js';

/**
 * Like Azurite's well-known account key: public on purpose (printed by `npm start`, shown in the
 * README), so snippets work against the emulator. It opens nothing but the local emulator.
 */
export const WELL_KNOWN_API_KEY = 'imagegen-local-emulator-well-known-key';

/** The audience Azure OpenAI expects in Entra ID tokens. */
export const COGNITIVE_SERVICES_AUDIENCE = 'https://cognitiveservices.azure.com';
const DEFAULT_TOKEN_SECONDS = 3600;

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  /** Seconds since the epoch, as Entra's token endpoint reports it. */
  expires_on: number;
}

const MISSING =
  'Access denied due to missing subscription key or token. Make sure to include subscription key or ' +
  'Authorization: Bearer token when making requests to an API.';
const WRONG_KEY =
  'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key ' +
  'for an active subscription and use a correct regional API endpoint for your resource.';
const BAD_TOKEN = `Unauthorized. Access token is missing, invalid, audience is incorrect (${COGNITIVE_SERVICES_AUDIENCE}), or have expired.`;

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** JWT-shaped tokens (HS256 under a per-process secret): clients treat them as opaque, like Entra's. */
export class TokenIssuer {
  private readonly secret = randomBytes(32);

  constructor(private readonly issuerUrl: () => string) {}

  issue(lifetimeSeconds = DEFAULT_TOKEN_SECONDS, now = Date.now()): IssuedToken {
    const iat = Math.floor(now / 1000);
    const exp = iat + lifetimeSeconds;
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = base64url(
      JSON.stringify({ aud: COGNITIVE_SERVICES_AUDIENCE, iss: this.issuerUrl(), iat, nbf: iat, exp }),
    );
    const token = `${header}.${payload}.${this.signature(`${header}.${payload}`)}`;
    return { access_token: token, token_type: 'Bearer', expires_in: lifetimeSeconds, expires_on: exp };
  }

  /** Whether the token is one this emulator issued, for Azure OpenAI's audience, and still valid. */
  accepts(token: string, now = Date.now()): boolean {
    const [header, payload, signature] = token.split('.');
    if (!header || !payload || !signature) return false;
    const expected = Buffer.from(this.signature(`${header}.${payload}`));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { aud?: string; exp?: number };
      return claims.aud === COGNITIVE_SERVICES_AUDIENCE && typeof claims.exp === 'number' && claims.exp * 1000 > now;
    } catch {
      return false;
    }
  }

  private signature(input: string): string {
    return createHmac('sha256', this.secret).update(input).digest('base64url');
  }
}

function sameKey(given: string, wanted: string): boolean {
  const [a, b] = [Buffer.from(given), Buffer.from(wanted)];
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Throws Azure's 401 unless the request carries the emulator's key or a valid token it issued. On the v1
 * route the key may also come as a bearer token, which is how the `openai` SDK's `OpenAI` client sends
 * its `apiKey` (Microsoft's v1 samples use it that way:
 * https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle).
 */
export function authorize(req: IncomingMessage, apiKey: string, tokens: TokenIssuer, keyAsBearer: boolean): void {
  const key = req.headers['api-key'];
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (typeof key === 'string' && key !== '') {
    if (!sameKey(key, apiKey)) throw new ApiError(401, '401', WRONG_KEY);
    return;
  }
  if (bearer !== undefined) {
    if (keyAsBearer && sameKey(bearer, apiKey)) return;
    if (!tokens.accepts(bearer)) throw new ApiError(401, '401', BAD_TOKEN);
    return;
  }
  throw new ApiError(401, '401', MISSING);
}
