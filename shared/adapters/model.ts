/**
 * The image model: Azure OpenAI images/edits through the `openai` SDK's `AzureOpenAI` client.
 * Entra ID (the app's managed identity) unless an API key is configured, which only the local emulator
 * uses. The SDK's own retries are off (maxRetries 0, explicit timeout): the edit worker decides what a
 * failure means, so a 429 never makes a worker sleep for minutes inside the SDK.
 */
import { APIError, AzureOpenAI, toFile } from 'openai';
import type { PipelineConfig } from '../config.js';
import type { ImageFormat } from '../image-header.js';
import type { EditRequest } from '../validation.js';
import { azureCredential } from './credential.js';

export const COGNITIVE_SERVICES_SCOPE = 'https://cognitiveservices.azure.com/.default';

export interface EditInput {
  /** The image, typed with its real content type (the service rejects application/octet-stream). */
  image: Blob;
  imageName: string;
  /** The mask, a PNG. */
  mask: Blob;
  request: EditRequest;
  /** Sent as `x-ms-client-request-id`, so a call can be traced from the job and back. */
  clientRequestId: string;
}

interface Reply {
  requestId?: string | undefined;
  /** `x-ratelimit-remaining-requests`, when the service sent it. */
  remaining?: number | undefined;
}

export type ModelOutcome =
  | (Reply & { kind: 'ok'; bytes: Buffer; contentType: string })
  | (Reply & { kind: 'throttled'; retryAfterMs: number; message: string })
  | (Reply & { kind: 'refused'; code: string; message: string })
  | (Reply & { kind: 'invalid'; status: number; code: string; message: string })
  | (Reply & { kind: 'transient'; code: string; message: string });

export interface ImageModel {
  edit(input: EditInput): Promise<ModelOutcome>;
}

export const IMAGE_MIME: Record<ImageFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };
const DEFAULT_RETRY_AFTER_MS = 10_000;

function header(headers: Headers | undefined, name: string): string | undefined {
  return headers?.get(name) ?? undefined;
}

function replyFrom(headers: Headers | undefined): Reply {
  const remaining = header(headers, 'x-ratelimit-remaining-requests');
  return {
    requestId: header(headers, 'apim-request-id') ?? header(headers, 'x-request-id'),
    remaining: remaining !== undefined && /^\d+$/.test(remaining) ? Number(remaining) : undefined,
  };
}

export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number {
  const ms = header(headers, 'retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const after = header(headers, 'retry-after');
  if (after) {
    if (/^\d+(\.\d+)?$/.test(after)) return Number(after) * 1000;
    const date = Date.parse(after);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  return DEFAULT_RETRY_AFTER_MS;
}

/** Sorts a failed call into what the worker should do about it. */
export function classifyError(err: unknown): ModelOutcome {
  if (!(err instanceof APIError) || err.status === undefined) {
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof Error && err.constructor.name === 'APIConnectionTimeoutError' ? 'timeout' : 'connection';
    return { kind: 'transient', code, message: `${code === 'timeout' ? 'the model call timed out' : 'the connection failed'}: ${message}` };
  }
  const reply = replyFrom(err.headers);
  const body = (err.error ?? {}) as { code?: string; message?: string; inner_error?: { code?: string } };
  const code = String(err.code ?? body.code ?? err.status);
  const message = body.message ?? err.message;
  if (err.status === 429) return { ...reply, kind: 'throttled', retryAfterMs: retryAfterMs(err.headers), message };
  const filtered = ['content_policy_violation', 'contentFilter', 'content_filter'].includes(code) || body.inner_error?.code === 'ResponsibleAIPolicyViolation';
  if (err.status === 400 && filtered) return { ...reply, kind: 'refused', code, message };
  if (err.status === 400 || err.status === 413 || err.status === 422) return { ...reply, kind: 'invalid', status: err.status, code, message };
  // 5xx, and 401/403/404 too: those mean the deployment or its access is being set up or is misconfigured,
  // which retrying with backoff may outlive; the drop itself is not at fault.
  return { ...reply, kind: 'transient', code, message: `HTTP ${err.status}: ${message}` };
}

export async function createImageModel(config: PipelineConfig['model']): Promise<ImageModel> {
  const auth = config.apiKey
    ? { apiKey: config.apiKey }
    : {
        azureADTokenProvider: (await import('@azure/identity')).getBearerTokenProvider(await azureCredential(config.clientId), COGNITIVE_SERVICES_SCOPE),
      };
  const client = new AzureOpenAI({
    endpoint: config.endpoint,
    apiVersion: config.apiVersion,
    deployment: config.deployment,
    maxRetries: 0,
    timeout: config.timeoutMs,
    ...auth,
  });

  return {
    async edit(input) {
      const { request } = input;
      try {
        const { data, response } = await client.images
          .edit(
            {
              model: config.deployment,
              // The service rejects application/octet-stream, which is what the SDK sends for fs streams.
              image: await toFile(input.image, input.imageName, { type: input.image.type }),
              mask: await toFile(input.mask, 'mask.png', { type: 'image/png' }),
              prompt: request.prompt,
              n: 1,
              size: request.size,
              quality: request.quality,
              output_format: request.outputFormat,
              ...(request.outputCompression !== undefined ? { output_compression: request.outputCompression } : {}),
              ...(request.background ? { background: request.background } : {}),
              ...(request.inputFidelity ? { input_fidelity: request.inputFidelity } : {}),
            },
            { timeout: config.timeoutMs, maxRetries: 0, headers: { 'x-ms-client-request-id': input.clientRequestId } },
          )
          .withResponse();
        const reply = replyFrom(response.headers);
        const b64 = data.data?.[0]?.b64_json;
        if (!b64) return { ...reply, kind: 'transient', code: 'empty_response', message: 'the model answered without an image' };
        return { ...reply, kind: 'ok', bytes: Buffer.from(b64, 'base64'), contentType: request.outputFormat === 'jpeg' ? 'image/jpeg' : 'image/png' };
      } catch (err) {
        return classifyError(err);
      }
    },
  };
}
