/** The console's entry point: a hash router over the five pages. */
import { fetchOverview, signOut } from './api.js';
import { jobPage } from './job-page.js';
import { jobsPage } from './jobs-page.js';
import { newEditPage } from './new-edit-page.js';
import { operationsPage } from './operations-page.js';
import type { Page } from './page.js';
import { quarantinePage } from './quarantine-page.js';

const main = document.getElementById('main')!;
let current: Page | undefined;

function route(): void {
  current?.close();
  const hash = location.hash.replace(/^#\/?/, '');
  const job = /^jobs\/([0-9a-f]{32})$/.exec(hash);
  const operations = /^operations(\/day)?$/.exec(hash);
  current = job
    ? jobPage(main, job[1]!)
    : operations
      ? operationsPage(main, operations[1] ? 'day' : 'hour')
      : hash === 'new'
        ? newEditPage(main)
        : hash === 'quarantine'
          ? quarantinePage(main)
          : jobsPage(main);
  for (const link of document.querySelectorAll<HTMLAnchorElement>('nav a')) {
    const active = link.hash === `#/${hash.split('/')[0] || 'jobs'}`;
    if (active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  // Move focus to the new page's heading, so screen-reader and keyboard users start at the top.
  (main.querySelector('h1') ?? main).focus();
}

window.addEventListener('hashchange', route);
route();
fetchOverview().then(
  (o) => {
    document.getElementById('viewer')!.textContent =
      `${o.viewer.name} · ${o.viewer.role === 'submit' ? 'may submit' : 'view only'}`;
    // Only a signed-in person has a session to end; the local user has none.
    const button = document.getElementById('signout')!;
    button.hidden = o.viewer.name === 'local';
    button.addEventListener('click', () => void signOut());
  },
  () => undefined,
);
