import { describe, expect, it } from 'vitest';
import { CORE_BLOCK, coreBlocks, coreRects } from '../../shared/core/composite/core-blocks.js';

describe("a composite region's core blocks", () => {
  it('marks exactly the blocks whose every pixel took the edit alone, clipped at the region edge', () => {
    const region = { width: 40, height: 20 }; // 3 x 2 blocks of 16, the last column and row partial
    const weights = new Uint8Array(region.width * region.height).fill(255);
    weights[5 * region.width + 20] = 254; // one feathered pixel in block (1, 0)
    for (let x = 0; x < 16; x++) weights[18 * region.width + x] = 0; // block (0, 1) reaches outside the mask
    const map = coreBlocks(weights, region);
    expect(map).toMatchObject({ block: CORE_BLOCK, columns: 3, rows: 2 });
    expect(coreRects(map, region)).toEqual([
      { x: 0, y: 0, width: 16, height: 16 },
      { x: 32, y: 0, width: 8, height: 16 },
      { x: 16, y: 16, width: 16, height: 4 },
      { x: 32, y: 16, width: 8, height: 4 },
    ]);
  });
});
