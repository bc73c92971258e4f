/**
 * Who may use the console: the local user on this machine; on Azure, people signed in with Entra ID
 * whose ID token carries a console app role. Entra's key endpoint is the one thing mocked (it cannot
 * run here): tokens are signed with a key made in the test and published through a stubbed fetch.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { HttpRequest } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { handleConsoleApi } from '../../shared/adapters/http/console-api.js';
import { resolveAccess } from '../../shared/adapters/http/sign-in.js';
import type { Runtime } from '../../shared/adapters/azure/runtime.js';
import { loadConfig } from '../../shared/core/config.js';

const TENANT = '11111111-2222-3333-4444-555555555555';
const CLIENT = '99999999-8888-7777-6666-555555555555';
const APP = 'https://imagegen.azurewebsites.net';
const BASE = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:9' };
const ENV = { ...BASE, WEBSITE_SITE_NAME: 'imagegen', CONSOLE_TENANT_ID: TENANT, CONSOLE_CLIENT_ID: CLIENT };
const config = loadConfig(ENV);
const SIGN_IN = config.console.signIn;
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const now = new Date('2026-11-24T12:00:00Z');
const t = now.getTime() / 1000;

function token(claims: Record<string, unknown>, key = privateKey, kid = 'key-1'): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${part({ alg: 'RS256', typ: 'JWT', kid })}.${part({
    iss: `https://login.microsoftonline.com/${TENANT}/v2.0`,
    tid: TENANT,
    aud: CLIENT,
    exp: t + 3600,
    nbf: t - 60,
    iat: t - 60,
    preferred_username: 'editor@contoso.example',
    ...claims,
  })}`;
  return `${body}.${sign('RSA-SHA256', Buffer.from(body), key).toString('base64url')}`;
}

function request(
  path: string,
  init: { method?: string; cookie?: string; origin?: string; body?: string; params?: Record<string, string> } = {},
): HttpRequest {
  return new HttpRequest({
    method: init.method ?? 'GET',
    url: `${APP}${path}`,
    headers: {
      ...(init.cookie ? { cookie: init.cookie } : {}),
      ...(init.origin ? { origin: init.origin } : {}),
      ...(init.body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    params: init.params ?? {},
    ...(init.body ? { body: { string: init.body } } : {}),
  });
}

const rt = { now: () => now, config } as unknown as Runtime;
const session = (roles: string[], extra: Record<string, unknown> = {}) =>
  `console_session=${token({ roles, ...extra })}`;

let keyFetches = 0;

beforeAll(() => {
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'key-1', use: 'sig' };
  vi.stubGlobal('fetch', async (url: string) => {
    keyFetches++;
    expect(url).toBe(`https://login.microsoftonline.com/${TENANT}/discovery/v2.0/keys`);
    return new Response(JSON.stringify({ keys: [jwk] }), { status: 200 });
  });
});
afterAll(() => vi.unstubAllGlobals());

describe('who may use the console', () => {
  it('outside the local runtime, a loopback address proves nothing, and without sign-in settings everyone is refused', async () => {
    // What a LAN peer sends to `func start` (which listens on every interface), or anyone to App Service.
    const spoofed = new HttpRequest({ method: 'GET', url: 'http://127.0.0.1:7071/api/console/api/overview' });
    for (const env of [BASE, { ...BASE, WEBSITE_SITE_NAME: 'imagegen' }]) {
      expect(await resolveAccess(spoofed, loadConfig(env).console.signIn, now)).toMatchObject({
        ok: false,
        status: 403,
        message: expect.stringMatching(/sign-in is not configured.*only `npm start` runs an open local console/),
      });
    }
  });

  it('a signed-in person with Console.Submit may submit; with Console.View only view', async () => {
    expect(
      await resolveAccess(request('/api/console/api/overview', { cookie: session(['Console.Submit']) }), SIGN_IN, now),
    ).toEqual({ ok: true, viewer: { name: 'editor@contoso.example', role: 'submit' } });
    expect(
      await resolveAccess(request('/api/console/api/overview', { cookie: session(['Console.View']) }), SIGN_IN, now),
    ).toEqual({ ok: true, viewer: { name: 'editor@contoso.example', role: 'view' } });
  });

  it("a viewer's submission is refused before anything is read or uploaded", async () => {
    const res = await handleConsoleApi(
      rt,
      request('/api/console/api/drops', {
        method: 'POST',
        cookie: session(['Console.View']),
        origin: APP,
        params: { resource: 'drops' },
      }),
    );
    expect(res.status).toBe(403);
    expect(res.jsonBody).toEqual({
      error: 'editor@contoso.example may view the console but not submit edits (ask for the Submit role)',
    });
    const crossSite = await handleConsoleApi(
      rt,
      request('/api/console/api/drops', {
        method: 'POST',
        cookie: session(['Console.Submit']),
        origin: 'https://evil.example',
        params: { resource: 'drops' },
      }),
    );
    expect(crossSite.status).toBe(403);
  });

  it.each([
    ['no session', undefined, 401, /sign in first/],
    ['no console role', session([]), 403, /neither the Console\.Submit nor the Console\.View role/],
    ["another application's token", session(['Console.Submit'], { aud: 'someone-else' }), 401, /another application/],
    [
      "another tenant's token",
      session(['Console.Submit'], { tid: 'aaaaaaaa-0000-0000-0000-000000000000' }),
      401,
      /another tenant/,
    ],
    ['an expired token', session(['Console.Submit'], { exp: t - 3600 }), 401, /expired/],
    [
      'a token signed with another key',
      `console_session=${token({ roles: ['Console.Submit'] }, other.privateKey)}`,
      401,
      /signature does not match/,
    ],
    [
      'a token with its claims edited',
      `console_session=${token({ roles: ['Console.View'] }).replace(/^([^.]+)\.[^.]+/, (_, h: string) => `${h}.${Buffer.from(JSON.stringify({ roles: ['Console.Submit'] })).toString('base64url')}`)}`,
      401,
      /signature does not match/,
    ],
  ])('%s is refused', async (_, cookie, status, message) => {
    expect(
      await resolveAccess(request('/api/console/api/overview', cookie ? { cookie } : {}), SIGN_IN, now),
    ).toMatchObject({ ok: false, status, message: expect.stringMatching(message) });
  });
});

describe('signing in', () => {
  it('sends the browser to Entra ID for an ID token posted back to the app, with a one-time nonce', async () => {
    const res = await handleConsoleApi(rt, request('/api/console/api/signin', { params: { resource: 'signin' } }));
    expect(res.status).toBe(302);
    const headers = res.headers as Record<string, string>;
    const url = new URL(headers.location!);
    expect(url.origin + url.pathname).toBe(`https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/authorize`);
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      client_id: CLIENT,
      response_type: 'id_token',
      response_mode: 'form_post',
      redirect_uri: `${APP}/api/console/api/signin/callback`,
    });
    const nonce = url.searchParams.get('nonce')!;
    expect(headers['set-cookie']).toContain(`console_nonce=${nonce};`);

    const callback = (idToken: string) =>
      handleConsoleApi(
        rt,
        request('/api/console/api/signin/callback', {
          method: 'POST',
          cookie: `console_nonce=${nonce}`,
          body: `id_token=${idToken}`,
          params: { resource: 'signin', id: 'callback' },
        }),
      );
    const good = await callback(token({ roles: ['Console.View'], nonce }));
    expect(good.status).toBe(303);
    expect((good.headers as Record<string, string>)['set-cookie']).toMatch(
      /^console_session=[\w-]+\.[\w-]+\.[\w-]+; Path=\/api\/console; HttpOnly; Secure; SameSite=Lax$/,
    );
    const replayed = await callback(token({ roles: ['Console.View'], nonce: 'someone-elses' }));
    expect(replayed.status).toBe(401);
    expect(replayed.jsonBody).toEqual({
      error: "sign-in refused: the sign-in answer does not match this browser's request",
    });
  });
});

describe('the session', () => {
  it('a token issued more than 10 minutes ago is no longer a session: a removed role stops working by then', async () => {
    const fresh = session(['Console.Submit'], { iat: t - 9 * 60 });
    const stale = session(['Console.Submit'], { iat: t - 11 * 60 });
    expect(await resolveAccess(request('/api/console/api/overview', { cookie: fresh }), SIGN_IN, now)).toMatchObject({
      ok: true,
    });
    expect(await resolveAccess(request('/api/console/api/overview', { cookie: stale }), SIGN_IN, now)).toEqual({
      ok: false,
      status: 401,
      message: 'sign in again: the session is more than 10 minutes old',
    });
  });

  it('signing out clears the session cookie and ends the Entra ID session; only the console itself may ask', async () => {
    const signOut = (origin: string, method = 'POST') =>
      handleConsoleApi(
        rt,
        request('/api/console/api/signout', {
          method,
          origin,
          cookie: session(['Console.View']),
          params: { resource: 'signout' },
        }),
      );
    const res = await signOut(APP);
    expect(res.status).toBe(200);
    expect((res.headers as Record<string, string>)['set-cookie']).toBe(
      'console_session=; Path=/api/console; Max-Age=0; HttpOnly; Secure; SameSite=Lax',
    );
    const next = new URL((res.jsonBody as { next: string }).next);
    expect(next.origin + next.pathname).toBe(`https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/logout`);
    expect(next.searchParams.get('post_logout_redirect_uri')).toBe(`${APP}/api/console`);
    expect((await signOut('https://evil.example')).status).toBe(403);
    expect((await signOut(APP, 'GET')).status).toBe(405);
  });

  it('a flood of tokens with unknown key ids fetches the tenant keys at most once per cooldown', async () => {
    // A known key first, so the key set is loaded and its cooldown runs from that fetch.
    await resolveAccess(request('/api/console/api/overview', { cookie: session(['Console.View']) }), SIGN_IN, now);
    const before = keyFetches;
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        resolveAccess(
          request('/api/console/api/overview', {
            cookie: `console_session=${token({ roles: ['Console.Submit'] }, other.privateKey, `unknown-${i}`)}`,
          }),
          SIGN_IN,
          now,
        ),
      ),
    );
    expect(keyFetches - before).toBeLessThanOrEqual(1);
    for (const a of answers)
      expect(a).toMatchObject({
        ok: false,
        status: 401,
        message: 'sign in again: signed with a key the tenant does not publish',
      });
  });
});
