/**
 * Painting a mask over a picture. The mask canvas has the picture's size as displayed (a bitmap from
 * `createImageBitmap`, which applies EXIF orientation); painted pixels mark the area to edit. The
 * export is what the drop contract wants: a PNG of that size, opaque where the picture stays and
 * transparent (alpha 0) where the model may change it.
 */
export type Tool = 'brush' | 'eraser' | 'rectangle';

const TINT = 'rgb(255, 0, 128)';
const MAX_UNDO = 30;

export class MaskPainter {
  readonly picture: HTMLCanvasElement;
  readonly mask: HTMLCanvasElement;
  tool: Tool = 'brush';
  /** Brush and eraser diameter, in displayed (CSS) pixels. */
  size = 40;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly undoStack: ImageData[] = [];
  private stroke: { from: { x: number; y: number }; before: ImageData } | undefined;

  constructor(
    bitmap: ImageBitmap,
    private readonly onChange: () => void,
  ) {
    this.picture = document.createElement('canvas');
    this.mask = document.createElement('canvas');
    for (const c of [this.picture, this.mask]) [c.width, c.height] = [bitmap.width, bitmap.height];
    this.picture.getContext('2d')!.drawImage(bitmap, 0, 0);
    this.ctx = this.mask.getContext('2d', { willReadFrequently: true })!;
    this.mask.addEventListener('pointerdown', (e) => this.down(e));
    this.mask.addEventListener('pointermove', (e) => this.move(e));
    this.mask.addEventListener('pointerup', (e) => this.up(e));
    this.mask.addEventListener('pointercancel', () => (this.stroke = undefined));
  }

  get width(): number {
    return this.mask.width;
  }

  get height(): number {
    return this.mask.height;
  }

  /** Canvas pixels per CSS pixel: the brush keeps its on-screen size however the picture is scaled. */
  private scale(): number {
    const box = this.mask.getBoundingClientRect();
    return box.width ? this.mask.width / box.width : 1;
  }

  private point(e: PointerEvent): { x: number; y: number } {
    const box = this.mask.getBoundingClientRect();
    const s = this.scale();
    return { x: (e.clientX - box.left) * s, y: (e.clientY - box.top) * s };
  }

  private snapshot(): ImageData {
    return this.ctx.getImageData(0, 0, this.width, this.height);
  }

  private remember(state = this.snapshot()): void {
    this.undoStack.push(state);
    if (this.undoStack.length > MAX_UNDO) this.undoStack.shift();
  }

  private line(a: { x: number; y: number }, b: { x: number; y: number }): void {
    const c = this.ctx;
    c.save();
    c.globalCompositeOperation = this.tool === 'eraser' ? 'destination-out' : 'source-over';
    c.strokeStyle = TINT;
    c.lineWidth = this.size * this.scale();
    c.lineCap = 'round';
    c.lineJoin = 'round';
    c.beginPath();
    c.moveTo(a.x, a.y);
    c.lineTo(b.x + 0.01, b.y);
    c.stroke();
    c.restore();
  }

  private down(e: PointerEvent): void {
    this.mask.setPointerCapture(e.pointerId);
    const p = this.point(e);
    this.stroke = { from: p, before: this.snapshot() };
    if (this.tool !== 'rectangle') this.line(p, p);
  }

  private move(e: PointerEvent): void {
    if (!this.stroke) return;
    const p = this.point(e);
    if (this.tool === 'rectangle') {
      this.ctx.putImageData(this.stroke.before, 0, 0);
      this.rect(this.stroke.from, p);
    } else {
      this.line(this.stroke.from, p);
      this.stroke.from = p;
    }
  }

  private up(e: PointerEvent): void {
    if (!this.stroke) return;
    this.move(e);
    this.remember(this.stroke.before);
    this.stroke = undefined;
    this.onChange();
  }

  private rect(a: { x: number; y: number }, b: { x: number; y: number }): void {
    this.ctx.fillStyle = TINT;
    this.ctx.fillRect(Math.min(a.x, b.x), Math.min(a.y, b.y), Math.abs(b.x - a.x), Math.abs(b.y - a.y));
  }

  /** Paints a rectangle given in picture pixels (what keyboard users and tests can do without a pointer). */
  paintRect(x: number, y: number, width: number, height: number): void {
    this.remember();
    this.rect({ x, y }, { x: x + width, y: y + height });
    this.onChange();
  }

  invert(): void {
    this.remember();
    this.ctx.save();
    this.ctx.globalCompositeOperation = 'xor';
    this.ctx.fillStyle = TINT;
    this.ctx.fillRect(0, 0, this.width, this.height);
    this.ctx.restore();
    this.onChange();
  }

  clear(): void {
    this.remember();
    this.ctx.clearRect(0, 0, this.width, this.height);
    this.onChange();
  }

  undo(): boolean {
    const previous = this.undoStack.pop();
    if (!previous) return false;
    this.ctx.putImageData(previous, 0, 0);
    this.onChange();
    return true;
  }

  canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  /** Whether any pixel is marked for editing. */
  hasArea(): boolean {
    const data = this.snapshot().data;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) return true;
    return false;
  }

  /** The mask PNG: opaque black where the picture stays, alpha 0 where it is painted. */
  exportPng(): Promise<Blob> {
    const out = document.createElement('canvas');
    [out.width, out.height] = [this.width, this.height];
    const c = out.getContext('2d')!;
    c.fillStyle = '#000';
    c.fillRect(0, 0, out.width, out.height);
    c.globalCompositeOperation = 'destination-out';
    c.drawImage(this.mask, 0, 0);
    return new Promise((resolve, reject) =>
      out.toBlob((b) => (b ? resolve(b) : reject(new Error('the mask could not be encoded'))), 'image/png'),
    );
  }
}
