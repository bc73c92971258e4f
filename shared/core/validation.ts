/**
 * Everything that can be checked about a drop before spending model quota, from the parts' sizes, first
 * and last bytes, sidecar and metadata, against the limits of the configured model (`config.model`, from
 * the model catalog). Every problem found is reported, in plain words. Pure.
 */
import type { ImageQuality, ImageSize, OutputFormat, PipelineConfig } from './config.js';
import {
  describeSize,
  displayedSize,
  FORMAT_NAMES,
  type ImageHeader,
  type Orientation,
  readImageHeader,
  truncationProblem,
} from './image-header.js';
import { parseSidecar, type Sidecar } from './sidecar.js';

export interface PartSample {
  name: string;
  /** Size of the whole blob. */
  bytes: number;
  /** The first bytes (all of them for small files). */
  head: Uint8Array;
  /** The last bytes. */
  tail: Uint8Array;
}

export interface DropSample {
  image: PartSample;
  mask: PartSample;
  sidecarText: string | undefined;
  /** The image blob's `prompt` metadata value, if any. */
  metadataPrompt: string | undefined;
}

export type PromptSource = 'sidecar' | 'metadata' | 'default';

/**
 * The drop's image as stored and as displayed. The pipeline works on the displayed picture: the model
 * gets it upright, and a full-size result must come back in this orientation.
 */
export interface InputGeometry {
  format: ImageHeader['format'];
  /** EXIF orientation of the dropped image (1: upright as stored). */
  orientation: Orientation;
  stored: { width: number; height: number };
  displayed: { width: number; height: number };
}

export interface EditRequest {
  prompt: string;
  promptSource: PromptSource;
  size: ImageSize;
  quality: ImageQuality;
  outputFormat: OutputFormat;
  outputCompression?: number;
  background?: 'transparent' | 'opaque' | 'auto';
  inputFidelity?: 'high' | 'low';
  /** The sidecar's choice of what to publish; unset: the OUTPUT_MODE setting decides. */
  output?: 'composite' | 'model';
  /** Absent on jobs queued before it was recorded. */
  input?: InputGeometry;
}

export type DropValidation =
  { ok: true; image: ImageHeader; mask: ImageHeader; request: EditRequest } | { ok: false; problems: string[] };

const EXTENSION_FORMAT: Record<string, ImageHeader['format']> = { png: 'png', jpg: 'jpeg', jpeg: 'jpeg', webp: 'webp' };

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function fileName(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

function checkPart(
  part: PartSample,
  role: 'image' | 'mask',
  limits: PipelineConfig['drop'],
  problems: string[],
): ImageHeader | undefined {
  const file = fileName(part.name);
  if (part.bytes === 0) {
    problems.push(`${file} is empty (0 bytes)`);
    return undefined;
  }
  if (part.bytes > limits.maxImageBytes) {
    problems.push(`${file} is ${megabytes(part.bytes)}; the limit is ${megabytes(limits.maxImageBytes)}`);
    return undefined;
  }
  const result = readImageHeader({ head: part.head, tail: part.tail, totalBytes: part.bytes });
  if (!result.ok) {
    problems.push(`${file}: ${result.problem}`);
    return undefined;
  }
  const { header } = result;
  const extension = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
  const claimed = EXTENSION_FORMAT[extension];
  if (claimed && claimed !== header.format) {
    problems.push(
      `${file} holds ${FORMAT_NAMES[header.format]} data, not ${FORMAT_NAMES[claimed]}: rename it or re-export it as ${FORMAT_NAMES[claimed]}`,
    );
    return undefined;
  }
  if (header.width > limits.maxImageDimension || header.height > limits.maxImageDimension) {
    problems.push(
      `${file} declares ${header.width}x${header.height} pixels; the limit is ${limits.maxImageDimension} on either side`,
    );
    return undefined;
  }
  const truncated = truncationProblem(header.format, part.head, part.tail, part.bytes);
  if (truncated) {
    problems.push(`${file}: ${truncated}`);
    return undefined;
  }
  const { model } = limits;
  if (role === 'image' && !(model.inputFormats as readonly string[]).includes(header.format)) {
    problems.push(`${file}: ${model.name} does not accept ${FORMAT_NAMES[header.format]} images`);
  }
  if (role === 'image' && part.bytes >= model.maxImageBytes) {
    problems.push(
      `${file} is ${megabytes(part.bytes)}; ${model.name} takes images under ${megabytes(model.maxImageBytes)}`,
    );
  }
  if (header.animated) {
    const kind = header.format === 'png' ? 'an animated PNG (APNG)' : 'an animated WebP';
    problems.push(`${file} is ${kind}: the model edits one still picture; export the frame you want as a still image`);
  }
  if (role === 'image' && header.format === 'webp' && header.hasAlpha) {
    problems.push(
      `${file} is a WebP with transparency, which the service flattens: save it as a PNG with alpha to keep its transparency`,
    );
  }
  // A mask of 4 MB or more is not refused here: intake re-encodes it to fit, or refuses it (./imaging/mask.ts).
  if (role === 'mask') {
    if (header.format !== 'png') problems.push(`${file}: the mask must be a PNG`);
    else if (!header.hasAlpha)
      problems.push(`${file} has no alpha channel: the mask's transparent pixels (alpha 0) mark the area to edit`);
  }
  return header;
}

export function validateDrop(sample: DropSample, config: PipelineConfig['drop']): DropValidation {
  const problems: string[] = [];
  const image = checkPart(sample.image, 'image', config, problems);
  const mask = checkPart(sample.mask, 'mask', config, problems);
  if (image && mask) {
    const mismatch = sizeMismatch(fileName(sample.image.name), image, fileName(sample.mask.name), mask);
    if (mismatch) problems.push(mismatch);
  }

  let sidecar: Sidecar = {};
  if (sample.sidecarText !== undefined) {
    const parsed = parseSidecar(sample.sidecarText, config.model);
    if (parsed.ok) sidecar = parsed.sidecar;
    else problems.push(...parsed.problems.map((p) => `sidecar: ${p}`));
  }
  let prompt: string;
  let promptSource: PromptSource;
  if (sidecar.prompt !== undefined) [prompt, promptSource] = [sidecar.prompt, 'sidecar'];
  else if (sample.metadataPrompt !== undefined) [prompt, promptSource] = [sample.metadataPrompt, 'metadata'];
  else [prompt, promptSource] = [config.defaultPrompt, 'default'];
  if (promptSource === 'metadata') {
    if (prompt.trim() === '') problems.push('the image\'s "prompt" metadata is empty');
    else if (prompt.length > config.model.maxPromptChars) {
      problems.push(
        `the image's "prompt" metadata is ${prompt.length} characters; the limit is ${config.model.maxPromptChars}`,
      );
    }
  }
  const outputFormat = sidecar.output_format ?? config.defaultOutputFormat;
  if (sidecar.output_compression !== undefined && outputFormat !== 'jpeg') {
    problems.push('sidecar: "output_compression" applies only to JPEG output ("output_format": "jpeg")');
  }
  if (sidecar.background === 'transparent' && outputFormat === 'jpeg') {
    problems.push(
      'sidecar: "background": "transparent" needs PNG output; JPEG has no transparency (set "output_format": "png")',
    );
  }
  if (problems.length || !image || !mask) return { ok: false, problems };
  return {
    ok: true,
    image,
    mask,
    request: {
      prompt,
      promptSource,
      size: sidecar.size ?? config.defaultSize,
      quality: sidecar.quality ?? config.defaultQuality,
      outputFormat,
      ...(sidecar.output_compression !== undefined ? { outputCompression: sidecar.output_compression } : {}),
      ...(sidecar.background ? { background: sidecar.background } : {}),
      ...(sidecar.input_fidelity ? { inputFidelity: sidecar.input_fidelity } : {}),
      ...(sidecar.output ? { output: sidecar.output } : {}),
      input: {
        format: image.format,
        orientation: image.orientation,
        stored: { width: image.width, height: image.height },
        displayed: displayedSize(image),
      },
    },
  };
}

/**
 * Masks are painted on the picture as it is displayed, so image and mask are compared with their EXIF
 * orientations applied; the report says which orientation each size is in.
 */
function sizeMismatch(imageFile: string, image: ImageHeader, maskFile: string, mask: ImageHeader): string | undefined {
  const shown = displayedSize(image);
  const maskShown = displayedSize(mask);
  if (shown.width === maskShown.width && shown.height === maskShown.height) return undefined;
  const paintedOnStored =
    image.orientation !== 1 && maskShown.width === image.width && maskShown.height === image.height;
  return (
    `${maskFile} is ${describeSize(mask)} but ${imageFile} is ${describeSize(image)}: ` +
    'the mask must match the image as it is displayed' +
    (paintedOnStored
      ? '; this mask matches the stored pixels, so paint it on the upright picture (as viewers show it) instead'
      : '')
  );
}
