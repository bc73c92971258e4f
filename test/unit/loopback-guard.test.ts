/** Which requests the local servers' one gate lets through (the servers themselves: local-security.test.ts). */
import { describe, expect, it } from 'vitest';
import { loopbackRefusal } from '../../local/loopback-guard.js';

const PORT = 10000;
const status = (headers: Record<string, string>, method = 'GET') => loopbackRefusal({ headers, method }, PORT)?.status;

describe('the loopback gate', () => {
  it.each(['127.0.0.1:10000', 'localhost:10000', 'LOCALHOST:10000', '[::1]:10000'])('answers Host %s', (host) =>
    expect(status({ host })).toBeUndefined(),
  );

  it.each([
    'rebind.example:10000',
    'rebind.example',
    '127.0.0.1',
    '127.0.0.1:10001',
    'localhost.:10000',
    '127.0.0.2:10000',
    '0.0.0.0:10000',
    '2130706433:10000',
    '[::ffff:127.0.0.1]:10000',
    'user@127.0.0.1:10000',
    '127.0.0.1:10000/x',
    '',
  ])('refuses Host %j with 421', (host) => expect(status({ host })).toBe(421));

  it('refuses a state-changing request from any origin but its own, and lets reads and Origin-less tools through', () => {
    const host = '127.0.0.1:10000';
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'MERGE']) {
      expect(status({ host }, method)).toBeUndefined();
      expect(status({ host, origin: 'http://127.0.0.1:10000' }, method)).toBeUndefined();
      expect(status({ host, origin: 'http://localhost:10000' }, method)).toBeUndefined();
      for (const origin of ['http://rebind.example', 'null', 'http://127.0.0.1:7071', 'https://127.0.0.1:10000']) {
        expect(status({ host, origin }, method)).toBe(403);
      }
    }
    expect(status({ host, origin: 'http://rebind.example' }, 'GET')).toBeUndefined();
  });
});
