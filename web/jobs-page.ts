/** Jobs: the live list (polled), counters per state, the pacer's schedule and, when present, outcome events. */
import { JOB_STATES, type JobState } from '../shared/core/job-states.js';
import type { DeadLetterRow, EventsView, JobRow, Overview } from '../shared/app/console/types.js';
import { fetchEvents, fetchOverview } from './api.js';
import { age, dateTime, h, replaceChildren } from './dom.js';
import type { Page } from './page.js';

const POLL_MS = 1500;

export function stateBadge(state: JobState): HTMLElement {
  return h('span', { class: `badge state-${state}` }, state);
}

function matches(job: JobRow, state: string, text: string): boolean {
  return (state === '' || job.state === state) && (text === '' || `${job.drop} ${job.id}`.toLowerCase().includes(text));
}

function jobRow(j: JobRow): HTMLElement {
  return h(
    'tr',
    { 'data-job': j.id },
    h('td', {}, h('a', { href: `#/jobs/${j.id}` }, j.drop || j.id)),
    h('td', {}, stateBadge(j.state)),
    h('td', {}, h('time', { datetime: j.updatedAt, title: dateTime(j.updatedAt) }, age(j.updatedAt))),
  );
}

/** The row shown instead of jobs when none is shown: none matches, or there are none yet. */
function noJobsRow(anyJobs: boolean): HTMLElement {
  return h(
    'tr',
    {},
    h(
      'td',
      { colspan: 3 },
      anyJobs ? 'No job matches the filters.' : 'No jobs yet: submit a New edit or drop files in the drop folder.',
    ),
  );
}

function counterItems(o: Overview): HTMLElement[] {
  return JOB_STATES.map((s) =>
    h(
      'li',
      { class: `count state-${s}`, title: `${o.countsLast24h[s] ?? 0} in the last 24 hours` },
      h('span', { class: 'n' }, o.counts[s] ?? 0),
      ` ${s}`,
    ),
  );
}

function pacerText(p: Overview['pacer']): string[] {
  return [
    `Pacer (${p.deployment}): ${p.slotsAhead} slot${p.slotsAhead === 1 ? '' : 's'} ahead · ${p.currentRpm} of ${p.configuredRpm} requests/min · `,
    p.last429At ? `last 429 ${age(p.last429At)} (rate cut ${p.cuts} time${p.cuts === 1 ? '' : 's'})` : 'no 429s',
  ];
}

function eventsContent(feed: EventsView): HTMLElement[] {
  return [
    h('h2', { id: 'events-title' }, 'Outcome events'),
    feed.events.length
      ? h(
          'ol',
          { class: 'event-list' },
          ...feed.events.map((e) =>
            h('li', {}, h('code', {}, e.type), ` ${e.subject} `, h('span', { class: 'muted' }, age(e.time))),
          ),
        )
      : h('p', {}, 'No events yet.'),
    ...deadLetters(feed.deadLettered),
  ];
}

function jobsTable(rows: HTMLElement): HTMLElement {
  return h(
    'table',
    { class: 'jobs' },
    h('caption', { class: 'visually-hidden' }, 'Jobs, newest first'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Drop'),
        h('th', { scope: 'col' }, 'State'),
        h('th', { scope: 'col' }, 'Updated'),
      ),
    ),
    rows,
  );
}

export function jobsPage(main: HTMLElement): Page {
  const stateFilter = h(
    'select',
    { id: 'state-filter' },
    h('option', { value: '' }, 'All states'),
    ...JOB_STATES.map((s) => h('option', { value: s }, s)),
  );
  const textFilter = h('input', {
    id: 'text-filter',
    type: 'search',
    placeholder: 'drop name or job id',
    autocomplete: 'off',
  });
  const counters = h('ul', { class: 'counters', 'aria-label': 'Jobs per state' });
  const pacer = h('p', { class: 'pacer', id: 'pacer' });
  const indexing = h('p', { class: 'indexing', id: 'indexing', role: 'status', hidden: true });
  const rows = h('tbody');
  const status = h('p', { class: 'status', role: 'status' });
  const events = h('section', { class: 'events', 'aria-labelledby': 'events-title', hidden: true });
  let latest: Overview | undefined;

  const renderRows = () => {
    if (!latest) return;
    const text = textFilter.value.trim().toLowerCase();
    const shown = latest.jobs.filter((j) => matches(j, stateFilter.value, text));
    replaceChildren(rows, ...shown.map(jobRow));
    if (!shown.length) rows.append(noJobsRow(latest.jobs.length > 0));
  };

  const tick = async () => {
    try {
      latest = await fetchOverview();
      replaceChildren(counters, ...counterItems(latest));
      renderIndexing(indexing, latest.indexing);
      replaceChildren(pacer, ...pacerText(latest.pacer));
      renderRows();
      status.textContent = '';
    } catch (err) {
      status.textContent = `Could not refresh: ${(err as Error).message}`;
    }
    const feed = await fetchEvents(10).catch(() => undefined);
    events.hidden = !feed;
    if (feed) replaceChildren(events, ...eventsContent(feed));
  };

  stateFilter.addEventListener('change', renderRows);
  textFilter.addEventListener('input', renderRows);
  const filters = h(
    'div',
    { class: 'filters' },
    h('label', { for: 'state-filter' }, 'State'),
    stateFilter,
    h('label', { for: 'text-filter' }, 'Search'),
    textFilter,
  );
  const title = h('h1', { tabindex: -1 }, 'Jobs');
  replaceChildren(main, title, counters, indexing, pacer, filters, status, jobsTable(rows), events);
  void tick();
  const timer = setInterval(() => void tick(), POLL_MS);
  return { close: () => clearInterval(timer) };
}

/** While older jobs are being indexed (a state written before the index): how far, and what is missing. */
function renderIndexing(el: HTMLElement, indexing: Overview['indexing']): void {
  el.hidden = !indexing;
  if (!indexing) return;
  const n = indexing.indexed.toLocaleString('en');
  const of = indexing.total === null ? '' : ` of ${Math.max(indexing.total, indexing.indexed).toLocaleString('en')}`;
  el.textContent =
    `Indexing older jobs: ${n}${of} so far. New jobs show as they come; the list and counts miss the older ` +
    'jobs not reached yet.';
}

/** Events the topic refused for good: kept in the ledger (outbox-dead/), shown until a person acts. */
function deadLetters(rows: DeadLetterRow[]): HTMLElement[] {
  if (!rows.length) return [];
  return [
    h('h3', { id: 'dead-letters-title' }, `Refused by the topic (${rows.length})`),
    h(
      'ul',
      { class: 'dead-letters', 'aria-labelledby': 'dead-letters-title' },
      ...rows.map((d) =>
        h(
          'li',
          { 'data-job': d.jobId },
          h('code', {}, d.type),
          ' ',
          h('a', { href: `#/jobs/${d.jobId}` }, d.subject),
          ` · refused ${d.refusals} times, last: ${d.lastError} `,
          h('span', { class: 'muted' }, age(d.deadLetteredAt)),
        ),
      ),
    ),
  ];
}
