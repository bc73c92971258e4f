/**
 * Operations: at a glance, over the last hour or day, how jobs end, where their time goes, each model
 * deployment's latency, 429s, quota use and breaker, the backlog and its age, dead letters, owed outcome
 * events, the top reasons jobs did not publish, and what the model calls cost (today's total too).
 */
import type { OperationsAnswer } from '../shared/app/console/operations.js';
import { fetchOperations } from './api.js';
import { meter, stackedBars } from './charts.js';
import { h, replaceChildren } from './dom.js';
import { type Page, pollingPage } from './page.js';

const POLL_MS = 15_000;
const OUTCOMES = ['published', 'quarantined', 'rejected', 'failed'] as const;

const seconds = (ms: number) => (ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`);
const usd = (v: number) => `$${v.toFixed(v < 1 ? 4 : 2)}`;

function tile(label: string, value: string, tone: 'ok' | 'warn' | 'bad' = 'ok'): HTMLElement {
  return h('div', { class: `tile tone-${tone}` }, h('span', { class: 'tile-value' }, value), h('span', {}, label));
}

function liveTiles(o: OperationsAnswer): HTMLElement {
  const l = o.live;
  const dead = l.deadLetteredEvents + l.deadLetteredOutcomeEvents;
  return h(
    'div',
    { class: 'tiles', 'data-testid': 'live' },
    tile('queued', String(l.queued), l.queued > 0 ? 'warn' : 'ok'),
    tile(
      'oldest queued',
      l.queued ? seconds(l.oldestQueuedSeconds * 1000) : '–',
      l.oldestQueuedSeconds > 1800 ? 'bad' : 'ok',
    ),
    tile('being edited or published', String(l.working)),
    tile('dead letters', String(dead), dead > 0 ? 'bad' : 'ok'),
    tile('outcome events owed', String(l.owedOutcomeEvents), l.owedOutcomeEvents > 0 ? 'warn' : 'ok'),
    tile('model cost today', usd(o.cost.todayUsd)),
  );
}

function outcomesSection(o: OperationsAnswer): HTMLElement[] {
  const per = o.window === 'hour' ? 'minute' : `${Math.round(o.bucketMs / 60_000)} minutes`;
  const summary = OUTCOMES.map((k) => `${o.totals[k]} ${k}`).join(', ');
  return [
    h('h2', {}, 'Jobs by outcome'),
    h('p', { 'data-testid': 'totals' }, summary, h('span', { class: 'muted' }, ` (a bar per ${per})`)),
    h('figure', {}, stackedBars(o.outcomes, OUTCOMES, 'Jobs by outcome', summary), legend()),
  ];
}

function legend(): HTMLElement {
  return h('figcaption', { class: 'legend' }, ...OUTCOMES.map((k) => h('span', { class: `key bar-key-${k}` }, k)));
}

function table(head: string[], rows: (string | Node)[][], testid: string): HTMLElement {
  // Scrolls on its own on a narrow screen rather than widening the page.
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'figures', 'data-testid': testid },
      h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, c))))),
    ),
  );
}

function deployments(o: OperationsAnswer): HTMLElement[] {
  const rows = o.deployments.map((d) => {
    const share = d.rpm > 0 ? d.callsLastMinute / d.rpm : 0;
    const quota = h(
      'span',
      {},
      meter(
        d.callsLastMinute,
        d.rpm,
        share >= 1 ? 'bad' : share >= 0.8 ? 'warn' : 'ok',
        `${d.callsLastMinute} of ${d.rpm}`,
      ),
      ` ${d.callsLastMinute} of ${d.rpm} a minute`,
    );
    const breaker = h('span', { class: `badge breaker-${d.breaker}` }, d.breaker);
    return [
      d.id,
      d.n ? `${seconds(d.p50Ms)} / ${seconds(d.p95Ms)}` : '–',
      String(d.throttled),
      d.maxRetryAfterMs ? seconds(d.maxRetryAfterMs) : '–',
      quota,
      breaker,
    ];
  });
  return [
    h('h2', {}, 'Model deployments'),
    table(
      ['Deployment', 'Latency p50 / p95', '429s', 'Longest Retry-After', 'Quota use', 'Breaker'],
      rows,
      'deployments',
    ),
  ];
}

function stateTimes(o: OperationsAnswer): HTMLElement[] {
  const rows = o.stateTimes.map((s) => [s.state, seconds(s.p50Ms), seconds(s.p95Ms), String(s.n)]);
  return [h('h2', {}, 'Time in each state'), table(['State', 'p50', 'p95', 'Jobs'], rows, 'state-times')];
}

function reasons(o: OperationsAnswer): HTMLElement[] {
  if (!o.topReasons.length) return [h('h2', {}, 'Top reasons'), h('p', { class: 'muted' }, 'Every job published.')];
  const max = o.topReasons[0]!.count;
  const rows = o.topReasons.map((r) => [
    h('span', {}, meter(r.count, max, 'warn', `${r.count} jobs`), ` ${r.count}`),
    r.outcome,
    r.reason,
  ]);
  return [h('h2', {}, 'Top reasons'), table(['Jobs', 'Outcome', 'Reason'], rows, 'reasons')];
}

function render(o: OperationsAnswer, window: string): HTMLElement[] {
  const switcher = h(
    'p',
    { class: 'window' },
    h('a', { href: '#/operations', 'aria-current': window === 'hour' ? 'page' : false }, 'Last hour'),
    ' · ',
    h('a', { href: '#/operations/day', 'aria-current': window === 'day' ? 'page' : false }, 'Last day'),
  );
  const cost = h(
    'p',
    { 'data-testid': 'cost' },
    `Model cost over the ${o.window}: ${usd(o.cost.windowUsd)} for ${o.cost.pricedJobs} priced jobs (list price; see README "What it costs").`,
  );
  const note = o.spansKept
    ? []
    : [
        h(
          'p',
          { class: 'next' },
          'Charts over time come from Application Insights here: open the "Image pipeline: operations" workbook.',
        ),
      ];
  return [
    switcher,
    h('h2', {}, 'Now'),
    liveTiles(o),
    ...note,
    ...outcomesSection(o),
    cost,
    ...stateTimes(o),
    ...deployments(o),
    ...reasons(o),
  ];
}

export function operationsPage(main: HTMLElement, window: 'hour' | 'day'): Page {
  const status = h('p', { class: 'status', role: 'status' });
  const body = h('div', {});
  replaceChildren(main, h('h1', { tabindex: -1 }, 'Operations'), status, body);
  const tick = async () => {
    try {
      replaceChildren(body, ...render(await fetchOperations(window), window));
      status.textContent = '';
    } catch (err) {
      status.textContent = `Could not load the figures: ${(err as Error).message}`;
    }
  };
  return pollingPage(tick, POLL_MS);
}
