/** What a mask may be for the configured model: the byte limit of the catalog and MAX_IMAGE_DIMENSION. */
import type { PipelineConfig } from './config.js';

export interface MaskLimits {
  /** The service refuses masks of this many bytes or more (model catalog). */
  maxBytesExclusive: number;
  maxDimension: number;
  modelName: string;
}

/** The limits of the configured model and MAX_IMAGE_DIMENSION. */
export function maskLimits(drop: PipelineConfig['drop']): MaskLimits {
  return {
    maxBytesExclusive: drop.model.mask.maxBytesExclusive,
    maxDimension: drop.maxImageDimension,
    modelName: drop.model.name,
  };
}
