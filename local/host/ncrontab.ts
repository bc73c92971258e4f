/**
 * NCRONTAB, the six-field cron dialect of Azure Functions timers: `second minute hour day month weekday`.
 * Evaluated in UTC, like Functions on Azure by default. Supports `*`, numbers, ranges `a-b`, steps `*\/n` and `a-b/n`, and lists; names (MON, JAN) are not.
 */

type Field = Set<number>;

const RANGES: [number, number][] = [
  [0, 59], // second
  [0, 59], // minute
  [0, 23], // hour
  [1, 31], // day of month
  [1, 12], // month
  [0, 6], // day of week (0 = Sunday; 7 is accepted as Sunday too)
];

function parseField(text: string, [min, max]: [number, number], index: number): Field {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`NCRONTAB field ${index + 1} "${text}" is not supported (use *, N, A-B, */N or lists)`);
    const from = m[1] === '*' ? min : Number(m[2]);
    const to = m[1] === '*' ? max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : from;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    const upper = index === 5 ? 7 : max;
    if (from < min || to > upper || from > to || step < 1)
      throw new Error(`NCRONTAB field ${index + 1} "${text}" is out of range ${min}-${max}`);
    for (let v = from; v <= to; v += step) values.add(index === 5 && v === 7 ? 0 : v);
  }
  return values;
}

export interface Schedule {
  next(after: Date): Date;
}

export function parseNcrontab(expression: string): Schedule {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 6)
    throw new Error(`NCRONTAB needs six fields (second minute hour day month weekday), got "${expression}"`);
  const [seconds, minutes, hours, days, months, weekdays] = parts.map((p, i) => parseField(p, RANGES[i]!, i)) as [
    Field,
    Field,
    Field,
    Field,
    Field,
    Field,
  ];
  const anyDay = parts[3] === '*';
  const anyWeekday = parts[5] === '*';
  const dayMatches = (d: Date) => {
    // As in cron: when both day fields are restricted, either may match.
    const dom = days.has(d.getUTCDate());
    const dow = weekdays.has(d.getUTCDay());
    if (anyDay && anyWeekday) return true;
    if (anyDay) return dow;
    if (anyWeekday) return dom;
    return dom || dow;
  };
  return {
    next(after) {
      const t = new Date(after.getTime());
      t.setUTCMilliseconds(0);
      t.setUTCSeconds(t.getUTCSeconds() + 1);
      const limit = after.getTime() + 5 * 366 * 86_400_000;
      while (t.getTime() <= limit) {
        if (!months.has(t.getUTCMonth() + 1)) {
          t.setUTCMonth(t.getUTCMonth() + 1, 1);
          t.setUTCHours(0, 0, 0);
        } else if (!dayMatches(t)) {
          t.setUTCDate(t.getUTCDate() + 1);
          t.setUTCHours(0, 0, 0);
        } else if (!hours.has(t.getUTCHours())) {
          t.setUTCHours(t.getUTCHours() + 1, 0, 0);
        } else if (!minutes.has(t.getUTCMinutes())) {
          t.setUTCMinutes(t.getUTCMinutes() + 1, 0);
        } else if (!seconds.has(t.getUTCSeconds())) {
          t.setUTCSeconds(t.getUTCSeconds() + 1);
        } else {
          return t;
        }
      }
      throw new Error(`NCRONTAB "${expression}" never fires`);
    },
  };
}
