/**
 * The web console in a real browser (Debian's chromium through playwright-core) against the whole local
 * pipeline: Azurite, Event Grid, the image-model emulator, c2pa-rs and the local Functions host.
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createImageModel } from '../../shared/adapters/azure/openai-model.js';
import { type ImageModel } from '../../shared/ports/image-model.js';
import { loadConfig } from '../../shared/core/config.js';
import { renderChecklist } from '../../shared/core/provenance/checklist.js';
import type { ProvenanceReport } from '../../shared/core/provenance/gate.js';
import { changeOnePixel, gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';
import { CHROMIUM, launchBrowser, screenshot, seriousViolations, tabTo } from './browser.js';

/** Prompts with this word get the model's real output with one pixel changed after signing. */
const TAMPER = 'tampered';

let p: TestPipeline;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let photo: Buffer;
const cspViolations: string[] = [];

/** The emulator-backed model, except that it corrupts signed output for prompts naming TAMPER. */
function tamperingModel(): ImageModel {
  let real: Promise<ImageModel> | undefined;
  return {
    async edit(input) {
      real ??= createImageModel(loadConfig(p.settings).model);
      if (!input.request.prompt.includes(TAMPER)) return (await real).edit(input);
      // Changes the answer's image on its way to storage.
      const output = async (image: AsyncIterable<Buffer>) => {
        const pieces: Buffer[] = [];
        for await (const piece of image) pieces.push(piece);
        const changed = (async function* () {
          yield changeOnePixel(Buffer.concat(pieces));
        })();
        return input.output(changed);
      };
      return (await real).edit({ ...input, output });
    },
  };
}

async function openPage(hash: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  await page.goto(`${p.host.url}/api/console${hash}`);
  await page.locator('h1').first().waitFor();
  return page;
}

async function pickImage(page: Page, name: string, buffer: Buffer, mimeType = 'image/png'): Promise<void> {
  await page.setInputFiles('#image', { name, mimeType, buffer });
  await page.locator('.mask-layer').waitFor();
}

/** The picture's box on screen, scrolled into view so the pointer can reach all of it. */
async function pictureBox(page: Page): Promise<{ x: number; y: number; width: number; height: number }> {
  await page.locator('.mask-layer').evaluate((el) => el.scrollIntoView({ block: 'center' }));
  return (await page.locator('.mask-layer').boundingBox())!;
}

/** Drags the brush across the middle of the picture. */
async function paintStroke(page: Page): Promise<void> {
  const box = await pictureBox(page);
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5, { steps: 8 });
  await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.5, { steps: 8 });
  await page.mouse.up();
}

async function jobIdFromUrl(page: Page): Promise<string> {
  await page.waitForURL(/#\/jobs\/[0-9a-f]{32}$/, { timeout: 20_000 });
  return /([0-9a-f]{32})$/.exec(page.url())![1]!;
}

/** The state badges the job page's heading showed while it was open, sampled until a terminal one. */
async function watchStates(page: Page, terminal: string): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    const state = await page
      .locator('h1 .badge')
      .textContent()
      .catch(() => null);
    if (state && seen.at(-1) !== state) seen.push(state);
    if (state === terminal) return seen;
    await sleep(50);
  }
  throw new Error(`the job page never showed ${terminal}; it showed ${seen.join(' → ')}`);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  p = await startTestPipeline({
    model: tamperingModel(),
    // A model call that takes a moment, so the page can be seen moving through the states.
    emulator: { latency: 1200 },
    settings: { IMAGE_MODEL_RPM: '6000', MAX_IMAGE_DIMENSION: '1024' },
  });
  browser = await launchBrowser();
  photo = await gradientImage(480, 320);
});
afterAll(async () => {
  await browser?.close();
  await p?.close();
});

// Generous: these run beside the other integration test files on a shared machine.
describe('the web console', { timeout: 120_000 }, () => {
  it('paint a mask on a photo and submit: the job appears, moves through its states live, and shows the published edit and its checklist', async () => {
    const jobs = await openPage('#/jobs');
    await jobs.evaluate(() => ((window as unknown as { marker: string }).marker = 'no reload'));
    const page = await openPage('#/new');
    await pickImage(page, 'harbour.png', photo);
    await paintStroke(page);
    await page.click('button[data-tool="rectangle"]');
    const box = await pictureBox(page);
    await page.mouse.move(box.x + box.width * 0.05, box.y + box.height * 0.05);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.15, box.y + box.height * 0.15, { steps: 4 });
    await page.mouse.up();
    await page.fill('#prompt', 'a small sailing boat');
    await screenshot(page, 'new-edit');
    await page.click('button[type="submit"]');
    const id = await jobIdFromUrl(page);

    const states = await watchStates(page, 'published');
    expect(states.length).toBeGreaterThan(1); // seen in at least one state before published, without a reload
    await page.locator('img[alt^="Published edit"]').waitFor();
    await page.locator('[data-testid="checklist"]').waitFor();

    const job = (await p.jobs()).find((j) => j.id === id)!;
    expect(job.state).toBe('published');
    expect(job.request?.prompt).toBe('a small sailing boat');
    const report = JSON.parse(
      (
        await p.runtime.containers.published
          .getBlobClient(job.publish!.report.slice('published/'.length))
          .downloadToBuffer()
      ).toString(),
    ) as ProvenanceReport;
    expect(await page.locator('[data-testid="checklist"]').textContent()).toBe(renderChecklist(report));

    // The mask: a PNG with alpha of the photo's size, transparent where painted, opaque elsewhere.
    const maskBytes = await p.runtime.containers.inbox.getBlobClient(job.inputs.mask!.name).downloadToBuffer();
    const { data, info } = await sharp(maskBytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([480, 320]);
    const alphaAt = (x: number, y: number) => data[(y * info.width + x) * info.channels + 3];
    expect(alphaAt(240, 160)).toBe(0); // the brush stroke
    expect(alphaAt(48, 32)).toBe(0); // the rectangle
    expect(alphaAt(470, 310)).toBe(255);

    // The jobs page, open all along, shows the job without a reload.
    await jobs.locator(`tr[data-job="${id}"] .badge`, { hasText: 'published' }).waitFor();
    expect(await jobs.evaluate(() => (window as unknown as { marker?: string }).marker)).toBe('no reload');
    expect(await jobs.locator('.count.state-published .n').textContent()).toBe('1');
    await jobs.fill('#text-filter', 'nothing-matches-this');
    await jobs.getByText('No job matches the filters.').waitFor();
    await jobs.fill('#text-filter', 'harbour');
    await jobs.selectOption('#state-filter', 'published');
    await jobs.locator(`tr[data-job="${id}"]`).waitFor();
    await screenshot(jobs, 'jobs');
    await screenshot(page, 'job-published');
    await jobs.close();
    await page.close();
  });

  it('a quarantined job shows its reasons on its page and in the quarantine review', async () => {
    const page = await openPage('#/new');
    await pickImage(page, 'pier.png', photo);
    await paintStroke(page);
    await page.fill('#prompt', `a gull, ${TAMPER}`);
    await page.click('button[type="submit"]');
    const id = await jobIdFromUrl(page);
    await watchStates(page, 'quarantined');
    const job = (await p.jobs()).find((j) => j.id === id)!;
    expect(job.publish?.reasons.length).toBeGreaterThan(0);
    for (const reason of job.publish!.reasons) await page.locator('ul.reasons li', { hasText: reason }).waitFor();
    await page.getByText('What to do next:').waitFor();
    await screenshot(page, 'job-quarantined');

    await page.goto(`${p.host.url}/api/console#/quarantine`);
    const review = page.locator('article.review', { hasText: job.drop.key });
    await review.waitFor();
    expect(await review.locator('ul.reasons li').allTextContents()).toEqual(job.publish!.reasons);
    await screenshot(page, 'quarantine');
    await page.close();
  });

  it("a drop intake would refuse is refused in the form with intake's own message, and nothing is uploaded", async () => {
    const wide = await gradientImage(1100, 100);
    // What intake says about the same picture dropped in the drop folder.
    await p.upload('refused/wide.png', wide);
    await p.upload('refused/wide.mask.png', await rectMask(1100, 100, { x: 0, y: 0, width: 10, height: 10 }));
    const intake = await p.settled('refused/wide');
    expect(intake.state).toBe('rejected');

    const before = (await p.blobNames('inbox')).length;
    const page = await openPage('#/new');
    await pickImage(page, 'wide.png', wide);
    await page.click('#invert');
    await page.click('button[type="submit"]');
    // The form posts to the server's check and shows its answer when it comes: wait for it, then read it.
    await page.locator('#problems li').first().waitFor();
    const shown = await page.locator('#problems li').allTextContents();
    // The same words; only the file's name differs (the console names each drop uniquely).
    const withoutName = (lines: string[]) => lines.map((l) => l.replace(/^\S+\.png/, '<file>'));
    expect(withoutName(shown)).toEqual(withoutName(intake.problems!));
    expect(shown[0]).toMatch(/declares 1100x100 pixels; the limit is 1024 on either side/);
    expect((await p.blobNames('inbox')).length).toBe(before);
    await screenshot(page, 'new-edit-refused');

    // A file the browser cannot even show (a cut-off PNG) is refused with intake's words too.
    const cut = photo.subarray(0, 600);
    await p.upload('refused/cut.png', cut);
    await p.upload('refused/cut.mask.png', await rectMask(480, 320, { x: 0, y: 0, width: 10, height: 10 }));
    const intakeCut = await p.settled('refused/cut');
    await page.setInputFiles('#image', { name: 'cut.png', mimeType: 'image/png', buffer: cut });
    await page.getByText('cannot be shown in the browser').waitFor();
    await page.click('button[type="submit"]');
    await page.locator('#problems li').first().waitFor();
    expect(withoutName(await page.locator('#problems li').allTextContents())).toEqual(withoutName(intakeCut.problems!));
    expect((await p.blobNames('inbox')).length).toBe(before + 2); // only the two parts uploaded here for intake
    await page.close();
  });

  it('works from the keyboard alone: pick, select the whole picture, prompt, submit', async () => {
    const page = await openPage('#/new');
    // Listen first: Playwright turns on the browser's file-chooser interception without waiting for it, so a
    // listener added with the key press could miss the chooser (a 30 s timeout once in nine full runs).
    const chooserOpened = page.waitForEvent('filechooser');
    await tabTo(page, '#image');
    await page.keyboard.press('Space');
    const chooser = await chooserOpened;
    await chooser.setFiles({ name: 'keyboard.png', mimeType: 'image/png', buffer: photo });
    await page.locator('.mask-layer').waitFor();
    await tabTo(page, '#invert');
    await page.keyboard.press('Enter');
    await tabTo(page, '#prompt');
    await page.keyboard.type('a lighthouse on the hill');
    await tabTo(page, 'button[type="submit"]');
    await page.keyboard.press('Enter');
    const id = await jobIdFromUrl(page);
    await watchStates(page, 'published');
    expect((await p.jobs()).find((j) => j.id === id)?.request?.prompt).toBe('a lighthouse on the hill');
    await page.close();
  });

  it('mask tools: the eraser takes paint away, Undo brings it back, Clear and Invert act on the whole mask', async () => {
    const page = await openPage('#/new');
    await pickImage(page, 'tools.png', photo);
    // Alpha of the mask layer at a point given as fractions of the picture (the stroke runs through 0.5, 0.5).
    const paintAt = (fx: number, fy: number) =>
      page.evaluate(
        ([x, y]) => {
          const c = document.querySelector<HTMLCanvasElement>('.mask-layer')!;
          return c.getContext('2d')!.getImageData(Math.round(c.width * x!), Math.round(c.height * y!), 1, 1).data[3];
        },
        [fx, fy],
      );
    await page.fill('#brush-size', '60');
    await paintStroke(page);
    expect(await paintAt(0.5, 0.5)).toBe(255);
    await page.click('button[data-tool="eraser"]');
    await paintStroke(page);
    expect(await paintAt(0.5, 0.5)).toBe(0);
    await page.click('#undo');
    expect(await paintAt(0.5, 0.5)).toBe(255);
    await page.click('#clear');
    expect(await paintAt(0.5, 0.5)).toBe(0);
    await page.click('#invert');
    expect([await paintAt(0.5, 0.5), await paintAt(0.05, 0.95)]).toEqual([255, 255]);
    await page.click('#undo');
    await page.click('#undo');
    expect(await paintAt(0.5, 0.5)).toBe(255);
    await page.close();
  });

  it('shows a photo at its size as displayed: EXIF orientation applied, as the mask must be', async () => {
    const rotated = await sharp(await gradientImage(300, 200, 'jpeg'))
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    const page = await openPage('#/new');
    await pickImage(page, 'rotated.jpg', rotated, 'image/jpeg');
    expect(await page.locator('#picture-size').textContent()).toContain('200×300 as displayed');
    await page.close();
  });

  it('fits a portrait photo and the mask tools in the window; zoom in pans, painting still lands, Fit returns', async () => {
    const page = await openPage('#/new');
    await pickImage(page, 'portrait.png', await gradientImage(500, 1000));
    await page.locator('#zoom-level', { hasText: 'fitted to the window' }).waitFor();
    const inner = await page.evaluate(() => window.innerHeight);
    const picture = (await page.locator('.mask-layer').boundingBox())!;
    const tools = (await page.locator('fieldset.tools').boundingBox())!;
    expect(picture.height).toBeLessThanOrEqual(inner * 0.6 + 1);
    expect(picture.height + tools.height).toBeLessThan(inner);
    expect(picture.width / picture.height).toBeCloseTo(0.5, 2);

    await page.click('#zoom-in');
    await page.click('#zoom-in');
    const zoomed = (await page.locator('.mask-layer').boundingBox())!;
    expect(zoomed.width).toBeGreaterThan(picture.width * 2);
    const view = page.locator('#canvas-viewport');
    expect(await view.evaluate((v) => v.scrollHeight > v.clientHeight)).toBe(true);
    // Panned to the bottom, a stroke there paints the bottom of the mask.
    await view.evaluate((v) => (v.scrollTop = v.scrollHeight));
    const shown = (await view.boundingBox())!;
    await page.mouse.move(shown.x + shown.width * 0.3, shown.y + shown.height - 30);
    await page.mouse.down();
    await page.mouse.move(shown.x + shown.width * 0.6, shown.y + shown.height - 30, { steps: 6 });
    await page.mouse.up();
    const paintedRows = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>('.mask-layer')!;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const rows: number[] = [];
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) rows.push(Math.floor((i - 3) / 4 / c.width));
      return [Math.min(...rows), Math.max(...rows)];
    });
    expect(paintedRows[0]).toBeGreaterThan(800);

    await page.click('#zoom-fit');
    expect((await page.locator('.mask-layer').boundingBox())!.height).toBeCloseTo(picture.height, 0);
    await page.close();
  });

  it('dates every timeline entry, shows the signer plainly in the checklist, and has an icon (no 404s)', async () => {
    const notFound: string[] = [];
    await p.upload('dates/photo.png', photo);
    await p.upload('dates/photo.mask.png', await rectMask(480, 320, { x: 100, y: 100, width: 80, height: 60 }));
    const { id } = await p.settled('dates/photo');
    const page = await browser.context.newPage();
    page.on('response', (r) => {
      if (r.status() === 404) notFound.push(r.url());
    });
    await page.goto(`${p.host.url}/api/console#/jobs/${id}`);
    await page.locator('[data-testid="checklist"]').waitFor();
    const year = String(new Date().getFullYear());
    const times = await page.locator('.timeline time').allTextContents();
    expect(times.length).toBeGreaterThan(2);
    for (const t of times) expect(t).toContain(year);
    const checklist = (await page.locator('[data-testid="checklist"]').textContent())!;
    expect(checklist).toMatch(/Signed by: +.+, trusted/);
    expect(checklist).not.toMatch(/\), trusted/);
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toMatch(/^data:image\/svg\+xml,/);
    await page.goto(`${p.host.url}/api/console#/new`);
    await page.locator('h1', { hasText: 'New edit' }).waitFor();
    await sleep(300);
    expect(notFound).toEqual([]);
    await page.close();
  });

  it("shows the outcome events, and those the topic refused for good, through the console's own API", async () => {
    await p.upload('events/photo.png', photo);
    await p.upload('events/photo.mask.png', await rectMask(480, 320, { x: 100, y: 100, width: 80, height: 60 }));
    const job = await p.settled('events/photo');
    // An event the topic refused OUTCOME_EVENT_MAX_ATTEMPTS times, as the outbox keeps it.
    const deadId = 'd'.repeat(32);
    const dead = {
      jobId: deadId,
      recordedAt: new Date().toISOString(),
      attempts: 10,
      refusals: 10,
      lastError: 'HTTP 403: the identity may not send to this topic',
      deadLetteredAt: new Date().toISOString(),
      event: { id: `${deadId}.rejected`, type: 'com.imagegen-pipeline.job.rejected', subject: 'events/refused' },
    };
    await p.runtime.ledger.store.write(`outbox-dead/${deadId}.json`, JSON.stringify(dead), {});
    const page = await openPage('#/jobs');
    await page
      .locator('section.events li', { hasText: `com.imagegen-pipeline.job.${job.state} events/photo` })
      .waitFor();
    await page
      .locator('.dead-letters li', { hasText: 'events/refused · refused 10 times, last: HTTP 403: the identity' })
      .waitFor();
    await page.close();
  });

  it("a job page shows the job's trace and cost; the operations view how jobs end, the deployments and the backlog", async () => {
    await p.upload('ops/photo.png', photo);
    await p.upload('ops/photo.mask.png', await rectMask(480, 320, { x: 10, y: 10, width: 80, height: 60 }));
    const { id } = await p.settled('ops/photo');
    const job = (await p.jobs()).find((j) => j.id === id)!;
    expect(job.state).toBe('published');

    const page = await openPage(`#/jobs/${id}`);
    const traceId = job.traceparent!.split('-')[1]!;
    expect(await page.locator('[data-testid="trace-id"]').textContent()).toBe(traceId);
    const trace = await page.locator('[data-testid="trace"]').textContent();
    for (const step of ['intake', 'edit', 'images/edits', 'gate', 'job']) expect(trace).toContain(step);
    expect(trace).toContain('model.outcome=ok');
    // The emulator reports gpt-image-2 token counts; the catalog prices them.
    expect(job.costUsd).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="cost"]').textContent()).toMatch(
      /^\$0\.\d{4} \(\d+ input and \d+ output tokens\)$/,
    );
    await screenshot(page, 'job-trace');

    await page.goto(`${p.host.url}/api/console#/operations`);
    await page.locator('[data-testid="totals"]').waitFor();
    expect(await page.locator('[data-testid="totals"]').textContent()).toMatch(/[1-9]\d* published/);
    expect(await page.locator('svg.chart title').textContent()).toBe('Jobs by outcome');
    const deployments = await page.locator('[data-testid="deployments"] tbody tr').allTextContents();
    expect(deployments.length).toBeGreaterThan(0);
    expect(deployments.join('\n')).toMatch(/closed/);
    expect(await page.locator('[data-testid="live"]').textContent()).toContain('dead letters');
    await page.click('a[href="#/operations/day"]');
    await page.locator('a[href="#/operations/day"][aria-current="page"]').waitFor();
    await screenshot(page, 'operations');
    await page.close();
  });

  it('has no serious accessibility violations, no CSP violations, and fits a narrow screen', async () => {
    // A job of its own, so this test also runs alone.
    await p.upload('a11y/photo.png', photo);
    await p.upload('a11y/photo.mask.png', await rectMask(480, 320, { x: 100, y: 100, width: 80, height: 60 }));
    const { id } = await p.settled('a11y/photo');
    for (const hash of ['#/jobs', '#/new', `#/jobs/${id}`, '#/quarantine', '#/operations', '#/operations/day']) {
      const page = await openPage(hash);
      await sleep(500); // let the page's first poll render
      expect(await seriousViolations(page), hash).toEqual([]);
      await page.setViewportSize({ width: 375, height: 800 });
      await sleep(100);
      expect(
        await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
        `${hash} scrolls sideways at 375 px`,
      ).toBe(true);
      if (hash === '#/jobs') await screenshot(page, 'jobs-narrow');
      await page.close();
    }
    expect(cspViolations).toEqual([]);
  });
});
