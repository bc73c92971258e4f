/** The imaging port (shared/ports/imaging.ts) done with sharp. */
import type { ImageTools } from '../../ports/imaging.js';
import { prepareMask } from './mask.js';
import { prepareModelInputs } from './model-inputs.js';

export const sharpImageTools: ImageTools = { prepareMask, prepareModelInputs };
