/**
 * Parsing and validating image requests the way Azure OpenAI does, with Azure-shaped error bodies:
 * `{"error":{"code","message","param"?,"type"?}}`.
 */
import sharp from 'sharp';
import { sniffFormat } from '../../shared/image-header.js';
import { type Format, type Size } from './imaging.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  body(): { error: Record<string, unknown> } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.param ? { param: this.param, type: 'invalid_request_error' } : {}),
        ...this.extra,
      },
    };
  }
}

export const MAX_PROMPT_CHARS = 32_000;
export const MAX_IMAGE_BYTES = 50 * 1024 * 1024;
const SIZES = ['1024x1024', '1024x1536', '1536x1024', 'auto'] as const;
const QUALITIES = ['low', 'medium', 'high', 'auto'] as const;
const FORMATS = ['png', 'jpeg'] as const;
const BACKGROUNDS = ['transparent', 'opaque', 'auto'] as const;
const FIDELITIES = ['high', 'low'] as const;

export interface ImageInput {
  bytes: Buffer;
  name: string;
  format: 'png' | 'jpeg' | 'webp';
  width: number;
  height: number;
}

export interface ImageRequest {
  kind: 'edits' | 'generations';
  prompt: string;
  n: number;
  size: Size | 'auto';
  quality: 'low' | 'medium' | 'high' | 'auto';
  outputFormat: Format;
  outputCompression: number | undefined;
  background: 'transparent' | 'opaque' | 'auto';
  model: string | undefined;
  images: ImageInput[];
  mask: ImageInput | undefined;
}

/** Field values as received: strings from multipart forms, anything from JSON. */
type Fields = Record<string, unknown>;

function invalidValue(param: string, value: unknown, allowed: readonly string[]): ApiError {
  return new ApiError(
    400,
    'invalid_value',
    `Invalid value: '${String(value)}'. Supported values are: ${allowed.map((a) => `'${a}'`).join(', ')}.`,
    param,
  );
}

function pick<T extends string>(fields: Fields, param: string, allowed: readonly T[], fallback: T): T {
  const v = fields[param];
  if (v === undefined || v === null || v === '') return fallback;
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw invalidValue(param, v, allowed);
  return v as T;
}

function integerField(fields: Fields, param: string, min: number, max: number): number | undefined {
  const v = fields[param];
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ApiError(400, 'invalid_value', `Invalid '${param}': expected an integer from ${min} to ${max}, got '${String(v)}'.`, param);
  }
  return n;
}

async function inspectImage(bytes: Buffer, name: string, param: string): Promise<ImageInput & { hasAlpha: boolean }> {
  if (bytes.length > MAX_IMAGE_BYTES) {
    throw new ApiError(400, 'image_too_large', `Invalid '${param}': the file is ${bytes.length} bytes; the limit is 50 MB.`, param);
  }
  const format = sniffFormat(bytes);
  if (!format) {
    throw new ApiError(400, 'invalid_image_format', `Invalid '${param}': unsupported file format. Supported formats are PNG, JPEG and WebP.`, param);
  }
  try {
    const meta = await sharp(bytes).metadata();
    if (!meta.width || !meta.height) throw new Error('no dimensions');
    return { bytes, name, format, width: meta.width, height: meta.height, hasAlpha: meta.hasAlpha === true };
  } catch {
    throw new ApiError(400, 'invalid_image', `Invalid '${param}': the ${format.toUpperCase()} file could not be read.`, param);
  }
}

export interface UploadedFile {
  bytes: Buffer;
  name: string;
}

export async function parseImageRequest(
  kind: 'edits' | 'generations',
  fields: Fields,
  files: { images: UploadedFile[]; mask: UploadedFile | undefined },
): Promise<ImageRequest> {
  const prompt = fields.prompt;
  if (typeof prompt !== 'string' || prompt.trim() === '') {
    throw new ApiError(400, 'invalid_request_error', "Missing required parameter: 'prompt'.", 'prompt');
  }
  if (prompt.length > MAX_PROMPT_CHARS) {
    throw new ApiError(400, 'string_above_max_length', `Invalid 'prompt': string too long. Expected a string with maximum length ${MAX_PROMPT_CHARS}, but got a string with length ${prompt.length} instead.`, 'prompt');
  }
  const n = integerField(fields, 'n', 1, 10) ?? 1;
  const size = pick(fields, 'size', SIZES, 'auto');
  const quality = pick(fields, 'quality', QUALITIES, 'auto');
  const outputFormat = pick(fields, 'output_format', FORMATS, 'png');
  const outputCompression = integerField(fields, 'output_compression', 0, 100);
  const background = pick(fields, 'background', BACKGROUNDS, 'auto');
  pick(fields, 'input_fidelity', FIDELITIES, 'low');
  if (outputCompression !== undefined && outputFormat === 'png') {
    throw new ApiError(400, 'invalid_value', "Invalid 'output_compression': compression applies to 'jpeg' output only.", 'output_compression');
  }
  const model = typeof fields.model === 'string' && fields.model ? fields.model : undefined;

  const images: ImageInput[] = [];
  let mask: ImageInput | undefined;
  if (kind === 'edits') {
    if (files.images.length === 0) throw new ApiError(400, 'invalid_request_error', "Missing required parameter: 'image'.", 'image');
    if (files.images.length > 16) throw new ApiError(400, 'invalid_request_error', "Invalid 'image': at most 16 images.", 'image');
    for (const file of files.images) images.push(await inspectImage(file.bytes, file.name, 'image'));
    if (files.mask) {
      const inspected = await inspectImage(files.mask.bytes, files.mask.name, 'mask');
      if (inspected.format !== 'png') {
        throw new ApiError(400, 'invalid_image_format', "Invalid 'mask': the mask must be a PNG image.", 'mask');
      }
      if (!inspected.hasAlpha) {
        throw new ApiError(400, 'invalid_mask_image_format', "Invalid 'mask': the mask must have an alpha channel; transparent pixels mark the area to edit.", 'mask');
      }
      const first = images[0]!;
      if (inspected.width !== first.width || inspected.height !== first.height) {
        throw new ApiError(400, 'invalid_mask_size', `Invalid 'mask': the mask is ${inspected.width}x${inspected.height} but the image is ${first.width}x${first.height}; they must be the same size.`, 'mask');
      }
      mask = inspected;
    }
  }
  return { kind, prompt, n, size, quality, outputFormat, outputCompression, background, model, images, mask };
}

/** Token counts shaped like gpt-image-1's usage (output tokens per quality and size from its price sheet). */
export function usageFor(request: ImageRequest, outputSize: { width: number; height: number }) {
  const square = outputSize.width === outputSize.height;
  const perImage = { low: square ? 272 : 408, medium: square ? 1056 : 1584, high: square ? 4160 : 6240, auto: square ? 1056 : 1584 }[request.quality];
  const textTokens = Math.ceil(request.prompt.length / 4);
  const imageTokens = request.images.length * 323 + (request.mask ? 65 : 0);
  const inputTokens = textTokens + imageTokens;
  const outputTokens = perImage * request.n;
  return {
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    total_tokens: inputTokens + outputTokens,
    input_tokens_details: { text_tokens: textTokens, image_tokens: imageTokens },
  };
}
