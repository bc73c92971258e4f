/** A full-size composite as it is made and recorded: where the edit went and how it was blended. */
import { type CoreMap } from './core-blocks.js';

export type PhotoFormat = 'png' | 'jpeg' | 'webp';

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** How the edit was blended in: what a verifier needs to redo it (recorded in the publisher's manifest). */
export interface BlendParameters {
  resize: { kernel: 'lanczos3'; fit: 'fill'; from: { width: number; height: number } };
  feather: { method: 'gaussian blur of the mask, clamped to the mask (inward only)'; sigma: number };
  /** The photo's EXIF orientation, applied before blending (the result carries none). */
  orientation: number;
  /**
   * The photo's colour space, kept: the edit (sRGB) was converted into the photo's ICC profile (its
   * hash; null: none, sRGB) before blending, at the photo's bits per channel. Absent before 2026-12-07.
   */
  colour?: Colour;
  encoding: { format: PhotoFormat; quality: number | null; chromaSubsampling: '4:4:4' | '4:2:0' | null };
}

export interface ComposeOptions {
  /** Remove the photo's GPS position from the result's EXIF (STRIP_GPS). */
  stripGps: boolean;
}

export interface CompositeImage {
  bytes: Buffer;
  format: PhotoFormat;
  mime: `image/${PhotoFormat}`;
  width: number;
  height: number;
  /** The photo's EXIF orientation that was applied (1 when there was none). */
  orientation: number;
  /** The bounding box of the mask's transparent area, in the result's pixels. */
  region: Region;
  blend: BlendParameters;
  /** The blocks of the region that are the edit's pixels alone (no feathering, no photo). */
  core: CoreMap;
}

export interface Colour {
  /** The photo's ICC profile, kept (its SHA-256); null: none kept, the result is sRGB. */
  profile: { sha256: string } | null;
  /** How the edit, sRGB, was converted into that profile. */
  intent: 'perceptual';
  bitsPerChannel: 8 | 16;
}
