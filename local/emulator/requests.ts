/**
 * Parsing and validating image requests the way Azure OpenAI does, against the deployment's model
 * (../../shared/core/model-catalog.ts), with Azure-shaped error bodies: `{"error":{"code","message","param"?,"type"?}}`.
 */
import sharp from 'sharp';
import { sniffFormat } from '../../shared/core/image-header.js';
import {
  IMAGE_MODELS,
  type ImageModelSpec,
  type ImageQualityValue,
  type InputFormatValue,
} from '../../shared/core/model-catalog.js';
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

/** Largest request body the emulator reads: 16 images and a mask at the largest model's limits. */
export const MAX_BODY_BYTES = 17 * Math.max(...IMAGE_MODELS.map((m) => m.maxImageBytes));
const BACKGROUNDS = ['transparent', 'opaque', 'auto'] as const;
const FIDELITIES = ['high', 'low'] as const;
/** The mimetypes Azure accepts on file parts; anything else (e.g. application/octet-stream) is refused. */
const FILE_MIMETYPES: Record<InputFormatValue, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

/** Every parameter each operation knows; any other is refused as Azure refuses it. */
const KNOWN_FIELDS = {
  edits: [
    ...['prompt', 'image', 'image[]', 'mask', 'model', 'n', 'size', 'quality', 'output_format', 'output_compression'],
    ...['background', 'input_fidelity', 'user'],
  ],
  generations: [
    'prompt',
    'model',
    'n',
    'size',
    'quality',
    'output_format',
    'output_compression',
    'background',
    'moderation',
    'user',
  ],
} as const;

export interface ImageInput {
  bytes: Buffer;
  name: string;
  format: InputFormatValue;
  width: number;
  height: number;
}

export interface ImageRequest {
  kind: 'edits' | 'generations';
  prompt: string;
  n: number;
  size: Size | 'auto';
  quality: ImageQualityValue | 'auto';
  outputFormat: Format;
  outputCompression: number | undefined;
  background: 'transparent' | 'opaque' | 'auto';
  images: ImageInput[];
  mask: ImageInput | undefined;
}

/** Field values as received: strings from multipart forms, anything from JSON. */
type Fields = Record<string, unknown>;

export interface UploadedFile {
  bytes: Buffer;
  name: string;
  /** The part's declared content type. */
  type: string;
}

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
    throw new ApiError(
      400,
      'invalid_value',
      `Invalid '${param}': expected an integer from ${min} to ${max}, got '${String(v)}'.`,
      param,
    );
  }
  return n;
}

function refuseUnknownFields(kind: 'edits' | 'generations', fields: Fields, fileFields: readonly string[]): void {
  const known: readonly string[] = KNOWN_FIELDS[kind];
  const unknown = [...Object.keys(fields), ...fileFields].find((name) => !known.includes(name));
  if (unknown !== undefined) {
    throw new ApiError(400, 'unknown_parameter', `Unknown parameter: '${unknown}'.`, unknown);
  }
}

function checkMimetype(file: UploadedFile, param: string, model: ImageModelSpec): void {
  const allowed = (param === 'mask' ? (['png'] as const) : model.inputFormats).map((f) => FILE_MIMETYPES[f]);
  if (!allowed.includes(file.type)) {
    const list = allowed.map((t) => `'${t}'`);
    const supported = list.length > 1 ? `${list.slice(0, -1).join(', ')}, and ${list.at(-1)}` : list[0];
    throw new ApiError(
      400,
      'unsupported_file_mimetype',
      `Invalid file '${param}': unsupported mimetype ('${file.type || 'application/octet-stream'}'). Supported file formats are ${supported}.`,
      param,
    );
  }
}

/** Images may be up to their limit; masks must stay under theirs (the catalog's `maxBytesExclusive`). */
interface SizeLimit {
  bytes: number;
  inclusive: boolean;
}

async function inspectImage(
  file: UploadedFile,
  param: string,
  limit: SizeLimit,
  model: ImageModelSpec,
): Promise<ImageInput & { hasAlpha: boolean }> {
  checkMimetype(file, param, model);
  const { bytes, name } = file;
  if (limit.inclusive ? bytes.length > limit.bytes : bytes.length >= limit.bytes) {
    const allowed = `${limit.inclusive ? 'at most' : 'under'} ${limit.bytes / (1024 * 1024)} MB`;
    throw new ApiError(
      400,
      'image_too_large',
      `Invalid '${param}': the file is ${bytes.length} bytes; it must be ${allowed}.`,
      param,
    );
  }
  const format = sniffFormat(bytes);
  if (!format || !model.inputFormats.includes(format)) {
    const names = model.inputFormats.map((f) => f.toUpperCase()).join(', ');
    throw new ApiError(
      400,
      'invalid_image_format',
      `Invalid '${param}': unsupported file format. Supported formats are ${names}.`,
      param,
    );
  }
  try {
    const meta = await sharp(bytes).metadata();
    if (!meta.width || !meta.height) throw new Error('no dimensions');
    return { bytes, name, format, width: meta.width, height: meta.height, hasAlpha: meta.hasAlpha === true };
  } catch {
    throw new ApiError(
      400,
      'invalid_image',
      `Invalid '${param}': the ${format.toUpperCase()} file could not be read.`,
      param,
    );
  }
}

async function inspectMask(file: UploadedFile, first: ImageInput, model: ImageModelSpec): Promise<ImageInput> {
  const mask = await inspectImage(file, 'mask', { bytes: model.mask.maxBytesExclusive, inclusive: false }, model);
  if (mask.format !== 'png')
    throw new ApiError(400, 'invalid_image_format', "Invalid 'mask': the mask must be a PNG image.", 'mask');
  if (!mask.hasAlpha) {
    throw new ApiError(
      400,
      'invalid_mask_image_format',
      "Invalid 'mask': the mask must have an alpha channel; transparent pixels mark the area to edit.",
      'mask',
    );
  }
  if (mask.width !== first.width || mask.height !== first.height) {
    const sizes = `the mask is ${mask.width}x${mask.height} but the image is ${first.width}x${first.height}`;
    throw new ApiError(400, 'invalid_mask_size', `Invalid 'mask': ${sizes}; they must be the same size.`, 'mask');
  }
  return mask;
}

function parseOptions(fields: Fields, model: ImageModelSpec) {
  const n = integerField(fields, 'n', 1, 10) ?? 1;
  const size = pick(fields, 'size', model.sizes, 'auto') as Size | 'auto';
  const quality = pick(fields, 'quality', [...model.qualities, 'auto'], 'auto');
  const outputFormat = pick(fields, 'output_format', model.outputFormats, 'png');
  const outputCompression = integerField(fields, 'output_compression', 0, 100);
  const background = pick(fields, 'background', BACKGROUNDS, 'auto');
  if (outputCompression !== undefined && outputFormat === 'png') {
    throw new ApiError(
      400,
      'invalid_value',
      "Invalid 'output_compression': compression applies to 'jpeg' output only.",
      'output_compression',
    );
  }
  if (background === 'transparent' && outputFormat === 'jpeg') {
    throw new ApiError(
      400,
      'invalid_value',
      "Invalid value: 'transparent'. A transparent background needs output_format 'png'; 'jpeg' has no alpha channel.",
      'background',
    );
  }
  if (fields.input_fidelity !== undefined && fields.input_fidelity !== '') {
    if (!model.inputFidelity) {
      throw new ApiError(
        400,
        'unsupported_parameter',
        `Unsupported parameter: 'input_fidelity' is not supported with model ${model.name}.`,
        'input_fidelity',
      );
    }
    pick(fields, 'input_fidelity', FIDELITIES, 'low');
  }
  return { n, size, quality, outputFormat, outputCompression, background };
}

/** Validates a request against the deployment's model, in the order Azure reports problems. */
export async function parseImageRequest(
  kind: 'edits' | 'generations',
  fields: Fields,
  files: { images: UploadedFile[]; mask: UploadedFile | undefined; fileFields: string[] },
  model: ImageModelSpec,
): Promise<ImageRequest> {
  refuseUnknownFields(kind, fields, files.fileFields);
  const prompt = fields.prompt;
  if (typeof prompt !== 'string' || prompt.trim() === '') {
    throw new ApiError(400, 'invalid_request_error', "Missing required parameter: 'prompt'.", 'prompt');
  }
  if (prompt.length > model.maxPromptChars) {
    const message =
      `Invalid 'prompt': string too long. Expected a string with maximum length ${model.maxPromptChars}, ` +
      `but got a string with length ${prompt.length} instead.`;
    throw new ApiError(400, 'string_above_max_length', message, 'prompt');
  }
  const options = parseOptions(fields, model);
  const images: ImageInput[] = [];
  let mask: ImageInput | undefined;
  if (kind === 'edits') {
    if (files.images.length === 0)
      throw new ApiError(400, 'invalid_request_error', "Missing required parameter: 'image'.", 'image');
    if (files.images.length > model.maxInputImages) {
      throw new ApiError(
        400,
        'invalid_request_error',
        `Invalid 'image': at most ${model.maxInputImages} images.`,
        'image',
      );
    }
    for (const file of files.images)
      images.push(await inspectImage(file, 'image', { bytes: model.maxImageBytes, inclusive: true }, model));
    if (files.mask) mask = await inspectMask(files.mask, images[0]!, model);
  }
  return { kind, prompt, ...options, images, mask };
}

/** Token counts shaped like the gpt-image models' usage (output tokens per quality and size from its price sheet). */
export function usageFor(request: ImageRequest, outputSize: { width: number; height: number }) {
  const square = outputSize.width === outputSize.height;
  const perImage = {
    low: square ? 272 : 408,
    medium: square ? 1056 : 1584,
    high: square ? 4160 : 6240,
    auto: square ? 1056 : 1584,
  }[request.quality];
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
