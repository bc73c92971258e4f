/**
 * The core of a composite's region: the blocks (CORE_BLOCK px squares from the region's corner) whose
 * every pixel took the edit alone (weight 255), so a verifier holding the edit knows exactly where the
 * composite must show it, without the mask. Packed one bit a block, row by row, most significant first.
 */
export const CORE_BLOCK = 16;

export interface CoreMap {
  block: number;
  columns: number;
  rows: number;
  /** base64 of the packed bits. */
  bits: string;
}

export function coreBlocks(weights: Uint8Array, region: { width: number; height: number }): CoreMap {
  const columns = Math.ceil(region.width / CORE_BLOCK);
  const rows = Math.ceil(region.height / CORE_BLOCK);
  const core = new Uint8Array(columns * rows).fill(1);
  for (let y = 0; y < region.height; y++) {
    const row = Math.floor(y / CORE_BLOCK) * columns;
    for (let x = 0; x < region.width; x++) {
      if (weights[y * region.width + x] !== 255) core[row + Math.floor(x / CORE_BLOCK)] = 0;
    }
  }
  const packed = Buffer.alloc(Math.ceil(core.length / 8));
  core.forEach((on, i) => {
    if (on) packed[i >> 3] = packed[i >> 3]! | (0x80 >> (i & 7));
  });
  return { block: CORE_BLOCK, columns, rows, bits: packed.toString('base64') };
}

/** The blocks a core map marks, as pixel rectangles relative to the region's corner (clipped to it). */
export function coreRects(map: CoreMap, region: { width: number; height: number }) {
  const packed = Buffer.from(map.bits, 'base64');
  const rects: { x: number; y: number; width: number; height: number }[] = [];
  for (let i = 0; i < map.columns * map.rows; i++) {
    if (!(packed[i >> 3]! & (0x80 >> (i & 7)))) continue;
    const x = (i % map.columns) * map.block;
    const y = Math.floor(i / map.columns) * map.block;
    rects.push({ x, y, width: Math.min(map.block, region.width - x), height: Math.min(map.block, region.height - y) });
  }
  return rects;
}
