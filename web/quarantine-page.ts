/** Quarantine review: every quarantined job, why, and its checklist. */
import type { JobView } from '../shared/app/console/types.js';
import { fetchJob, fetchOverview, fileUrl } from './api.js';
import { h, replaceChildren } from './dom.js';
import type { Page } from './page.js';

/** Reviewing is reading: the newest this many are shown in full. */
const SHOWN = 50;

function review(job: JobView): HTMLElement {
  return h(
    'article',
    { class: 'review' },
    h('h2', {}, h('a', { href: `#/jobs/${job.id}` }, job.drop)),
    job.files.published
      ? h('img', { class: 'thumb', src: fileUrl(job.id, 'published'), alt: `Quarantined edit of ${job.drop}` })
      : null,
    h('ul', { class: 'reasons' }, ...job.reasons.map((r) => h('li', {}, r))),
    job.checklist
      ? h('details', {}, h('summary', {}, 'Provenance checklist'), h('pre', { class: 'checklist' }, job.checklist))
      : null,
  );
}

export function quarantinePage(main: HTMLElement): Page {
  const list = h('div', { class: 'reviews' }, h('p', {}, 'Loading…'));
  replaceChildren(
    main,
    h('h1', { tabindex: -1 }, 'Quarantine review'),
    h('p', {}, 'Edits the provenance gate refused to publish, with the reasons.'),
    list,
  );
  void (async () => {
    try {
      const quarantined = (await fetchOverview()).jobs.filter((j) => j.state === 'quarantined').slice(0, SHOWN);
      const jobs = await Promise.all(quarantined.map((j) => fetchJob(j.id)));
      replaceChildren(list, ...(jobs.length ? jobs.map(review) : [h('p', {}, 'Nothing is in quarantine.')]));
    } catch (err) {
      replaceChildren(list, h('p', { role: 'alert' }, `Could not load the quarantine: ${(err as Error).message}`));
    }
  })();
  return { close: () => undefined };
}
