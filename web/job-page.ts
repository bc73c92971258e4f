/**
 * One job: input with its mask as an overlay, the published (or quarantined) copy and the model's own
 * output side by side, each zoomable; the request; the timeline; the provenance checklist exactly as
 * `verify` prints it; for rejected and failed jobs the problems and what to do next; downloads.
 */
import type { FilePart, JobView } from '../shared/app/console/types.js';
import { ApiError, fetchJob, fileUrl } from './api.js';
import { dateTime, h, replaceChildren } from './dom.js';
import { isTerminal } from '../shared/core/job-states.js';
import { stateBadge } from './jobs-page.js';
import { type Page, pollingPage } from './page.js';

const POLL_MS = 1500;

function loadImage(src: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`could not load ${src}`));
    img.src = src;
  });
}

/** The input with the mask's area to edit (its transparent pixels) tinted, drawn at the input's size. */
async function inputWithMask(id: string, hasMask: boolean): Promise<HTMLCanvasElement> {
  const input = await loadImage(fileUrl(id, 'input'));
  const canvas = h('canvas', {
    width: input.naturalWidth,
    height: input.naturalHeight,
    role: 'img',
    'aria-label': 'The input, with the area to edit tinted',
  });
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(input, 0, 0);
  if (hasMask) {
    const mask = await loadImage(fileUrl(id, 'mask'));
    const layer = document.createElement('canvas');
    [layer.width, layer.height] = [canvas.width, canvas.height];
    const lctx = layer.getContext('2d')!;
    lctx.fillStyle = 'rgb(255, 0, 128)';
    lctx.fillRect(0, 0, layer.width, layer.height);
    // Keep the tint only where the mask is transparent: the area the model may change.
    lctx.globalCompositeOperation = 'destination-out';
    lctx.drawImage(mask, 0, 0, layer.width, layer.height);
    ctx.globalAlpha = 0.45;
    ctx.drawImage(layer, 0, 0);
  }
  return canvas;
}

function zoomable(title: string, picture: HTMLElement): HTMLElement {
  const frame = h('div', { class: 'frame' }, picture);
  const button = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Zoom to full size');
  button.addEventListener('click', () => {
    const zoomed = frame.classList.toggle('zoomed');
    button.setAttribute('aria-pressed', String(zoomed));
  });
  return h('figure', { class: 'picture' }, frame, h('figcaption', {}, title, ' ', button));
}

const PART_LABELS: Record<FilePart, string> = {
  input: 'Input',
  mask: 'Mask',
  output: 'Model output',
  published: 'Result',
  report: 'Report',
};

function pictures(job: JobView): HTMLElement {
  const row = h('div', { class: 'pictures' });
  if (job.files.input) {
    const slot = h('div', { class: 'slot' }, 'Loading the input…');
    row.append(slot);
    inputWithMask(job.id, !!job.files.mask).then(
      (canvas) => slot.replaceWith(zoomable(job.files.mask ? 'Input, area to edit tinted' : 'Input', canvas)),
      () => slot.replaceWith(h('p', {}, 'The input is no longer in inbox/.')),
    );
  }
  if (job.files.published) {
    const where = job.verdict === 'publish' ? 'Published edit' : 'Quarantined edit';
    row.append(zoomable(where, h('img', { src: fileUrl(job.id, 'published'), alt: `${where} of ${job.drop}` })));
  }
  if (job.files.output)
    row.append(
      zoomable('Model output', h('img', { src: fileUrl(job.id, 'output'), alt: `The model's output for ${job.drop}` })),
    );
  return row;
}

/** The job's cost, and its trace: the spans kept here, or the id to search in Application Insights. */
function traceAndCost(job: JobView): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (job.cost) {
    const price = job.cost.usd === null ? 'no list price in the catalog for this model' : usd(job.cost.usd);
    const tokens = `${job.cost.inputTokens} input and ${job.cost.outputTokens} output tokens`;
    out.push(h('h2', {}, 'Cost'), h('p', { 'data-testid': 'cost' }, `${price} (${tokens})`));
  }
  if (!job.trace) return out;
  out.push(h('h2', {}, 'Trace'), h('p', {}, 'Trace id ', h('code', { 'data-testid': 'trace-id' }, job.trace.traceId)));
  if (!job.trace.spans) {
    out.push(h('p', { class: 'muted' }, 'Search this id in Application Insights (Transaction search) for every step.'));
    return out;
  }
  out.push(
    h(
      'ol',
      { class: 'trace', 'data-testid': 'trace' },
      ...job.trace.spans.map((s) =>
        h(
          'li',
          { class: s.failed ? 'failed' : '' },
          h('strong', {}, s.name),
          ` +${(s.offsetMs / 1000).toFixed(2)} s, ${(s.durationMs / 1000).toFixed(2)} s`,
          s.details ? h('span', { class: 'muted' }, ` ${s.details}`) : '',
        ),
      ),
    ),
  );
  return out;
}

const usd = (v: number) => `$${v.toFixed(v < 1 ? 4 : 2)}`;

function details(job: JobView): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (job.request) {
    const r = job.request;
    out.push(
      h('h2', {}, 'Request'),
      h(
        'dl',
        { class: 'request' },
        h('dt', {}, 'Prompt'),
        h('dd', {}, r.prompt, h('span', { class: 'muted' }, ` (from ${r.promptSource})`)),
        h('dt', {}, 'Size'),
        h('dd', {}, r.size),
        h('dt', {}, 'Quality'),
        h('dd', {}, r.quality),
        h('dt', {}, 'Format'),
        h('dd', {}, r.outputFormat),
      ),
    );
  }
  if (job.checklist) {
    out.push(
      h('h2', {}, 'Provenance checklist'),
      h('pre', { class: 'checklist', 'data-testid': 'checklist' }, job.checklist),
    );
  }
  if (job.state === 'quarantined' && job.reasons.length)
    out.push(
      h('h2', {}, 'Why it was quarantined'),
      h('ul', { class: 'reasons' }, ...job.reasons.map((r) => h('li', {}, r))),
    );
  if (job.problems.length && (job.state === 'rejected' || job.state === 'failed')) {
    out.push(
      h('h2', {}, job.state === 'rejected' ? 'Why it was rejected' : 'Why it failed'),
      h('ul', { class: 'problems' }, ...job.problems.map((p) => h('li', {}, p))),
    );
  }
  if (job.next) out.push(h('p', { class: 'next' }, h('strong', {}, 'What to do next: '), job.next));
  out.push(...traceAndCost(job));
  out.push(
    h('h2', {}, 'Timeline'),
    h(
      'ol',
      { class: 'timeline' },
      ...job.history.map((e) =>
        h(
          'li',
          {},
          h('time', { datetime: e.at }, dateTime(e.at)),
          ' ',
          stateBadge(e.state),
          e.note ? ` ${e.note}` : '',
          e.error ? ` ${e.error.code}: ${e.error.message}` : '',
        ),
      ),
    ),
    h('h2', {}, 'Downloads'),
    h(
      'ul',
      { class: 'downloads' },
      ...(Object.keys(job.files) as FilePart[]).map((p) =>
        h(
          'li',
          {},
          h('a', { href: fileUrl(job.id, p, true), download: job.files[p] }, `${PART_LABELS[p]}: ${job.files[p]}`),
        ),
      ),
    ),
  );
  return out;
}

export function jobPage(main: HTMLElement, id: string): Page {
  let shownState = '';
  const status = h('p', { class: 'status', role: 'status' });
  const tick = async () => {
    try {
      const job = await fetchJob(id);
      status.textContent = '';
      // Rebuilt only when the state moves, so pictures are not reloaded on every poll.
      if (job.state !== shownState) {
        shownState = job.state;
        replaceChildren(
          main,
          h('h1', { tabindex: -1 }, job.drop, ' ', stateBadge(job.state)),
          status,
          pictures(job),
          ...details(job),
        );
      }
      if (isTerminal(job.state)) return false;
    } catch (err) {
      // A just-submitted drop has its job id before intake has written the job.
      const waiting = err instanceof ApiError && err.status === 404 && !shownState;
      status.textContent = waiting
        ? 'Uploaded; waiting for intake to accept the drop…'
        : `Could not load job ${id}: ${(err as Error).message}`;
      if (!shownState && !main.contains(status)) replaceChildren(main, h('h1', { tabindex: -1 }, 'Job'), status);
    }
  };
  return pollingPage(tick, POLL_MS);
}
