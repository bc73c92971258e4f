import { describe, expect, it } from 'vitest';
import { parseNcrontab } from '../../local/host/ncrontab.js';

const at = (iso: string) => new Date(iso);

describe('NCRONTAB', () => {
  it.each([
    ['0 */1 * * * *', '2026-11-21T10:00:30Z', '2026-11-21T10:01:00.000Z'],
    ['*/15 * * * * *', '2026-11-21T10:00:31Z', '2026-11-21T10:00:45.000Z'],
    ['0 30 9 * * 1-5', '2026-11-21T10:00:00Z', '2026-11-23T09:30:00.000Z'], // Saturday → Monday
    ['0 0 0 1 1 *', '2026-11-21T10:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['5,10 0 12 * * *', '2026-11-21T12:00:05Z', '2026-11-21T12:00:10.000Z'],
  ])('%s after %s fires at %s', (expr, after, next) => {
    expect(parseNcrontab(expr).next(at(after)).toISOString()).toBe(next);
  });

  it('refuses five-field cron and unsupported syntax', () => {
    expect(() => parseNcrontab('*/5 * * * *')).toThrow(/six fields/);
    expect(() => parseNcrontab('0 0 * * * MON')).toThrow(/not supported/);
    expect(() => parseNcrontab('0 61 * * * *')).toThrow(/out of range/);
  });
});
