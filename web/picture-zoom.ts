/**
 * The picture being masked, fitted to the window by default so that picture and tools show together (a
 * portrait photo used to run far below the fold). Zoom in for detail; the view then scrolls, which pans
 * it. Painting works at any zoom: the painter maps the pointer through the canvas's displayed size.
 */
import { h } from './dom.js';

const STEP = 1.5;
const MAX_ZOOM = 8;
/** The share of the window's height the picture may take when fitted, leaving room for the tools. */
const FIT_HEIGHT = 0.6;

export function zoomablePicture(stack: HTMLElement, picture: HTMLCanvasElement): HTMLElement {
  const viewport = h('div', { class: 'canvas-viewport', id: 'canvas-viewport' }, stack);
  const level = h('span', { class: 'muted', id: 'zoom-level', 'aria-live': 'polite' });
  let zoom: number | 'fit' = 'fit';

  const fitScale = () => {
    const width = viewport.clientWidth || picture.width;
    return Math.min(width / picture.width, (window.innerHeight * FIT_HEIGHT) / picture.height);
  };
  const apply = (next: number | 'fit') => {
    zoom = next;
    const scale = next === 'fit' ? fitScale() : next;
    picture.style.width = `${Math.round(picture.width * scale)}px`;
    viewport.classList.toggle('zoomed', next !== 'fit');
    level.textContent =
      next === 'fit' ? `fitted to the window (${Math.round(scale * 100)}%)` : `${Math.round(scale * 100)}%`;
  };
  // Zooming out past the fitted size shows nothing more: it lands on "fit".
  const by = (factor: number) => {
    const next = (zoom === 'fit' ? fitScale() : zoom) * factor;
    apply(next <= fitScale() ? 'fit' : Math.min(MAX_ZOOM, next));
  };
  const button = (id: string, label: string, onclick: () => void) =>
    h('button', { type: 'button', id, onclick }, label);

  const refit = () => {
    if (!viewport.isConnected) window.removeEventListener('resize', refit);
    else if (zoom === 'fit') apply('fit');
  };
  window.addEventListener('resize', refit);
  requestAnimationFrame(() => apply('fit'));
  return h(
    'div',
    { class: 'zoomable' },
    h(
      'div',
      { class: 'zoom-tools', role: 'group', 'aria-label': 'Zoom' },
      button('zoom-out', 'Zoom out', () => by(1 / STEP)),
      button('zoom-in', 'Zoom in', () => by(STEP)),
      button('zoom-fit', 'Fit', () => apply('fit')),
      button('zoom-actual', '100%', () => apply(1)),
      level,
    ),
    viewport,
  );
}
