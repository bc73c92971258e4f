/**
 * "Local" is declared by the local runtime, never inferred from what a caller sends: the console's access
 * check and the local host together. A LAN peer of `func start` sends `Host: 127.0.0.1:7071`; a caller of the
 * local host may send the local header itself. Neither makes a request the machine's own user.
 */
import http from 'node:http';
import { HttpRequest } from '@azure/functions';
import { afterEach, describe, expect, it } from 'vitest';
import { definition as consoleApi } from '../../functions/console-api.js';
import { startHost, type FunctionHost } from '../../local/host/host.js';
import { defineFunction } from '../../shared/adapters/azure/functions-app.js';
import { isLocalRequest, LOCAL_USER_HEADER } from '../../shared/adapters/http/access.js';
import type { Runtime } from '../../shared/adapters/azure/runtime.js';

const SECRET = 'a-per-process-secret-for-this-test';

function apiRequest(headers: Record<string, string>): HttpRequest {
  return new HttpRequest({ method: 'GET', url: 'http://127.0.0.1:7071/api/console/api/overview', headers });
}

describe('isLocalRequest', () => {
  it('is false for a loopback URL when the runtime declared nothing, whatever the header says', () => {
    expect(isLocalRequest(apiRequest({}), undefined)).toBe(false);
    expect(isLocalRequest(apiRequest({ [LOCAL_USER_HEADER]: SECRET }), undefined)).toBe(false);
  });

  it('is true only with the declared secret', () => {
    expect(isLocalRequest(apiRequest({}), SECRET)).toBe(false);
    expect(isLocalRequest(apiRequest({ [LOCAL_USER_HEADER]: 'guess' }), SECRET)).toBe(false);
    expect(isLocalRequest(apiRequest({ [LOCAL_USER_HEADER]: `${SECRET}x` }), SECRET)).toBe(false);
    expect(isLocalRequest(apiRequest({ [LOCAL_USER_HEADER]: SECRET }), SECRET)).toBe(true);
  });
});

describe('the local host and the console', () => {
  let host: FunctionHost | undefined;
  afterEach(async () => {
    await host?.close();
    host = undefined;
  });

  async function startWith(localSecret: string | undefined): Promise<FunctionHost> {
    // The console answers these requests from the access check and the id alone: no storage is touched.
    const runtime = {
      now: () => new Date(),
      config: { console: { signIn: undefined } },
      ...(localSecret ? { localSecret } : {}),
    } as unknown as Runtime;
    host = await startHost({
      runtime,
      functions: [consoleApi],
      queueSettings: {} as never,
      settings: {},
      timers: false,
    });
    return host;
  }

  /** GET …/api/jobs/not-an-id as a LAN peer would: the loopback Host, and the local header guessed. */
  function get(h: FunctionHost, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: h.port, path: '/api/console/api/jobs/not-an-id', headers },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('a runtime not declared local (like `func start`) refuses the console to a loopback caller with a forged header', async () => {
    const h = await startWith(undefined);
    const answer = await get(h, { host: `127.0.0.1:${h.port}`, [LOCAL_USER_HEADER]: 'anything' });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).error).toMatch(/sign-in is not configured/);
  });

  it("a runtime declared local lets its own host vouch for the user (a caller's own copy of the header is replaced)", async () => {
    const h = await startWith(SECRET);
    // Past the access check: the console reads the id and answers 400.
    expect((await get(h, { host: `127.0.0.1:${h.port}` })).status).toBe(400);
    expect((await get(h, { host: `localhost:${h.port}`, [LOCAL_USER_HEADER]: 'wrong' })).status).toBe(400);
  });

  it("drops a caller's own copy of the local header before a function sees the request", async () => {
    const seen: (string | null)[] = [];
    const echo = defineFunction({
      name: 'echo',
      trigger: { type: 'http', route: 'echo', methods: ['GET'], authLevel: 'anonymous' },
      handle: async (_rt, request: HttpRequest) => {
        seen.push(request.headers.get(LOCAL_USER_HEADER));
        return { status: 204 };
      },
    });
    for (const localSecret of [undefined, SECRET]) {
      const runtime = { ...(localSecret ? { localSecret } : {}) } as unknown as Runtime;
      host = await startHost({ runtime, functions: [echo], queueSettings: {} as never, settings: {}, timers: false });
      const res = await fetch(`${host.url}/api/echo`, { headers: { [LOCAL_USER_HEADER]: 'forged' } });
      expect(res.status).toBe(204);
      await host.close();
      host = undefined;
    }
    expect(seen).toEqual([null, SECRET]);
  });
});
