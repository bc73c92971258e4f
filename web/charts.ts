/**
 * Plain SVG charts for the operations view: built with DOM calls (no markup strings) and coloured by
 * classes from console.css, so the console's CSP (no inline styles) holds. Each chart has a text
 * equivalent: a title and description for screen readers, and the figures beside it.
 */
const NS = 'http://www.w3.org/2000/svg';

function el<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function titled(svg: SVGSVGElement, title: string, description: string): SVGSVGElement {
  const t = el('title', {});
  t.textContent = title;
  const d = el('desc', {});
  d.textContent = description;
  svg.prepend(t, d);
  svg.setAttribute('role', 'img');
  return svg;
}

/** Stacked bars, one per bucket; `series` names the keys in stacking order, each drawn with class `bar-<key>`. */
export function stackedBars(
  buckets: Record<string, number>[],
  series: readonly string[],
  title: string,
  description: string,
): SVGSVGElement {
  const width = 600;
  const height = 140;
  const max = Math.max(1, ...buckets.map((b) => series.reduce((sum, k) => sum + (b[k] ?? 0), 0)));
  const step = width / Math.max(1, buckets.length);
  const svg = el('svg', { viewBox: `0 0 ${width} ${height + 16}`, class: 'chart' });
  svg.append(el('line', { x1: 0, y1: height, x2: width, y2: height, class: 'axis' }));
  buckets.forEach((bucket, i) => {
    let y = height;
    for (const key of series) {
      const h = ((bucket[key] ?? 0) / max) * (height - 4);
      if (h <= 0) continue;
      y -= h;
      svg.append(el('rect', { x: i * step + 1, y, width: Math.max(1, step - 2), height: h, class: `bar-${key}` }));
    }
  });
  const label = el('text', { x: 0, y: height + 14, class: 'chart-label' });
  label.textContent = `peak ${max} per bar`;
  svg.append(label);
  return titled(svg, title, description);
}

/** One horizontal bar: `value` of `max`, with class `meter-<tone>`. */
export function meter(value: number, max: number, tone: 'ok' | 'warn' | 'bad', label: string): SVGSVGElement {
  const width = 160;
  const svg = el('svg', { viewBox: `0 0 ${width} 12`, class: 'meter' });
  svg.append(el('rect', { x: 0, y: 0, width, height: 12, class: 'meter-track' }));
  svg.append(
    el('rect', {
      x: 0,
      y: 0,
      width: Math.min(1, max > 0 ? value / max : 0) * width,
      height: 12,
      class: `meter-${tone}`,
    }),
  );
  return titled(svg, label, label);
}
