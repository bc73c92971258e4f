/**
 * The workbook and the alert rules query what the app sends: every span name, attribute and gauge figure
 * they name is one shared/app/telemetry/ emits (a renamed attribute would leave a chart empty and an alert
 * silent). Alerts cover the five conditions, and notify an action group only when an e-mail is given.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(path.join(ROOT, p), 'utf8');
const telemetry = readdirSync(path.join(ROOT, 'shared/app/telemetry'))
  .map((f) => read(`shared/app/telemetry/${f}`))
  .join('\n');
const module = read('infra/modules/operations.bicep');
const workbook = JSON.parse(read('infra/modules/operations-workbook.json')) as {
  items: { content: { query?: string } }[];
};
const queries = [...workbook.items.flatMap((i) => (i.content.query ? [i.content.query] : [])), module];

describe('Azure Monitor operations', () => {
  it('charts and alerts on attributes, spans and figures the app emits', () => {
    const text = queries.join('\n');
    const attributes = new Set([...text.matchAll(/imagegen\.[a-z_.]+[a-z_]/g)].map((m) => m[0]));
    expect(attributes.size).toBeGreaterThan(8);
    for (const name of attributes) {
      // `imagegen.time.<state>_ms` is built from the state's name (telemetry/job-trace.ts).
      const emitted = /^imagegen\.time\.\w+_ms$/.test(name) ? 'imagegen.time.' : name;
      expect(telemetry, name).toContain(emitted);
    }
    for (const figure of text.matchAll(/figure (?:==|in) \(?\\?'([a-z_]+)/g))
      expect(telemetry).toContain(`'${figure[1]}'`);
    for (const span of ['job', 'images/edits']) expect(telemetry).toContain(`'${span}'`);
  });

  it('has the five alert rules, and an action group only with an e-mail', () => {
    for (const rule of ['failed-or-quarantined', 'dead-letters', 'backlog-age', 'breaker-open', 'outcome-events-owed'])
      expect(module).toContain(`name: '${rule}'`);
    expect(module).toMatch(/resource actionGroup '[^']+' = if \(!empty\(alertEmail\)\)/);
    expect(module).toContain('actionGroups: empty(alertEmail) ? [] : [actionGroup.id]');
  });
});
