/**
 * New edit: pick or drop a picture, paint the area to edit, write the prompt, submit. The server checks
 * the drop with intake's own code before anything reaches inbox/, and its refusal is shown here word
 * for word.
 */
import type { Overview } from '../shared/app/console/types.js';
import { fetchOverview, submitDrop } from './api.js';
import { h, replaceChildren } from './dom.js';
import { MaskPainter, type Tool } from './mask-painter.js';
import { zoomablePicture } from './picture-zoom.js';
import type { Page } from './page.js';

function select(id: string, values: string[]): HTMLSelectElement {
  return h(
    'select',
    { id, name: id },
    h('option', { value: '' }, 'Default'),
    ...values.map((v) => h('option', { value: v }, v)),
  );
}

/** A 1×1 transparent PNG, sent with a picture the browser cannot show so the server can say why. */
function standInMask(): Promise<Blob> {
  const canvas = h('canvas', { width: 1, height: 1 });
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('no PNG encoder'))), 'image/png'),
  );
}

/** The form's parts and the painter of the picture being edited, if any. */
class NewEditForm {
  private painter: MaskPainter | undefined;
  private file: File | undefined;
  private readonly fileInput = h('input', {
    id: 'image',
    type: 'file',
    accept: 'image/png,image/jpeg,image/webp,image/*',
  });
  private readonly stage = h(
    'div',
    { class: 'stage', 'aria-live': 'polite' },
    h('p', { class: 'drop-hint' }, 'Choose an image, or drop one here.'),
  );
  private readonly problems = h('div', { class: 'problems', role: 'alert', tabindex: -1, id: 'problems' });
  private readonly sizeInput = h('input', { id: 'brush-size', type: 'range', min: 4, max: 200, value: 40 });
  private readonly undoButton = h('button', { type: 'button', id: 'undo', disabled: true }, 'Undo');
  private readonly toolButtons = (['brush', 'eraser', 'rectangle'] as Tool[]).map((t) =>
    h(
      'button',
      { type: 'button', class: 'tool', 'data-tool': t, 'aria-pressed': String(t === 'brush') },
      t[0]!.toUpperCase() + t.slice(1),
    ),
  );
  private readonly prompt = h('textarea', { id: 'prompt', name: 'prompt', rows: 3 });
  private readonly submit = h('button', { type: 'submit', class: 'primary' }, 'Submit edit');
  private readonly optionsRow = h('div', { class: 'options' });
  readonly form: HTMLFormElement;

  constructor() {
    this.listenForPictures();
    this.listenToTools();
    this.form = this.build();
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.send();
    });
  }

  readonly refreshTools = (): void => {
    this.undoButton.disabled = !this.painter?.canUndo();
    for (const b of this.toolButtons) b.setAttribute('aria-pressed', String(this.painter?.tool === b.dataset.tool));
  };

  readonly showProblems = (list: string[]): void => {
    replaceChildren(
      this.problems,
      list.length ? h('p', {}, 'This drop would be refused:') : null,
      list.length ? h('ul', {}, ...list.map((p) => h('li', {}, p))) : null,
    );
    if (list.length) this.problems.focus();
  };

  /** The size, quality and format choices the server offers, and whether this viewer may submit. */
  readonly renderLimits = (o: Overview): void => {
    replaceChildren(
      this.optionsRow,
      h('div', { class: 'field' }, h('label', { for: 'size' }, 'Size'), select('size', o.limits.sizes)),
      h('div', { class: 'field' }, h('label', { for: 'quality' }, 'Quality'), select('quality', o.limits.qualities)),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'output_format' }, 'Output format'),
        select('output_format', o.limits.outputFormats),
      ),
    );
    if (o.viewer.role !== 'submit') {
      this.submit.disabled = true;
      this.showProblems([`${o.viewer.name} may view the console but not submit edits (ask for the Submit role)`]);
    }
  };

  private async load(picked: File): Promise<void> {
    this.showProblems([]);
    let bitmap: ImageBitmap;
    try {
      // createImageBitmap applies the EXIF orientation: the mask gets the picture's size as displayed.
      bitmap = await createImageBitmap(picked);
    } catch {
      // Not decodable here; the server still says why, in intake's words, when it is submitted.
      this.file = picked;
      this.painter = undefined;
      replaceChildren(this.stage, h('p', {}, `${picked.name} cannot be shown in the browser; submit it to see why.`));
      return;
    }
    this.file = picked;
    const painter = new MaskPainter(bitmap, this.refreshTools);
    this.painter = painter;
    painter.size = Number(this.sizeInput.value);
    painter.mask.classList.add('mask-layer');
    painter.mask.setAttribute('aria-label', 'Mask: paint the area the model may change');
    painter.mask.setAttribute('role', 'img');
    replaceChildren(
      this.stage,
      zoomablePicture(h('div', { class: 'canvas-stack' }, painter.picture, painter.mask), painter.picture),
      h('p', { class: 'muted', id: 'picture-size' }, `${picked.name}: ${bitmap.width}×${bitmap.height} as displayed`),
    );
    this.refreshTools();
  }

  /** A picture chosen with the file input or dropped on the stage. */
  private listenForPictures(): void {
    const { fileInput, stage } = this;
    fileInput.addEventListener('change', () => {
      const picked = fileInput.files?.[0];
      if (picked) void this.load(picked);
    });
    stage.addEventListener('dragover', (e) => {
      e.preventDefault();
      stage.classList.add('dragging');
    });
    stage.addEventListener('dragleave', () => stage.classList.remove('dragging'));
    stage.addEventListener('drop', (e) => {
      e.preventDefault();
      stage.classList.remove('dragging');
      const picked = e.dataTransfer?.files[0];
      if (picked) void this.load(picked);
    });
  }

  private listenToTools(): void {
    this.sizeInput.addEventListener('input', () => this.painter && (this.painter.size = Number(this.sizeInput.value)));
    for (const b of this.toolButtons) {
      b.addEventListener('click', () => {
        if (this.painter) this.painter.tool = b.dataset.tool as Tool;
        this.refreshTools();
      });
    }
    this.undoButton.addEventListener('click', () => this.painter?.undo());
  }

  private build(): HTMLFormElement {
    return h(
      'form',
      { class: 'new-edit', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: 'image' }, 'Image (PNG, JPEG or WebP)'), this.fileInput),
      this.stage,
      h(
        'fieldset',
        { class: 'tools' },
        h('legend', {}, 'Mask tools'),
        ...this.toolButtons,
        h('label', { for: 'brush-size' }, 'Brush size'),
        this.sizeInput,
        h('button', { type: 'button', id: 'invert', onclick: () => this.painter?.invert() }, 'Invert'),
        h('button', { type: 'button', id: 'clear', onclick: () => this.painter?.clear() }, 'Clear'),
        this.undoButton,
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'prompt' }, 'Prompt: what to put in the painted area'),
        this.prompt,
      ),
      this.optionsRow,
      this.problems,
      this.submit,
    );
  }

  private async send(): Promise<void> {
    const { file, painter, submit } = this;
    if (!file) return this.showProblems(['choose an image']);
    if (painter && !painter.hasArea())
      return this.showProblems(['paint the area to edit (or press Invert to edit the whole image)']);
    submit.disabled = true;
    submit.textContent = 'Submitting…';
    const data = new FormData(this.form);
    data.set('image', file, file.name);
    // A picture the browser cannot decode still goes to the server's check, which refuses it in intake's
    // words; the stand-in mask is never uploaded (a valid picture with it fails the size check).
    data.set('mask', painter ? await painter.exportPng() : await standInMask(), 'mask.png');
    const answer = await submitDrop(data).catch((err: Error) => ({ ok: false as const, problems: [err.message] }));
    submit.disabled = false;
    submit.textContent = 'Submit edit';
    if (!answer.ok) return this.showProblems(answer.problems);
    location.hash = `#/jobs/${answer.jobId}`;
  }
}

export function newEditPage(main: HTMLElement): Page {
  const edit = new NewEditForm();
  replaceChildren(
    main,
    h('h1', { tabindex: -1 }, 'New edit'),
    h('p', {}, 'Paint over the part of the picture the model may change; the rest stays as it is.'),
    edit.form,
  );
  fetchOverview().then(edit.renderLimits, (err: Error) => edit.showProblems([err.message]));
  return { close: () => undefined };
}
