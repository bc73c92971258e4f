/**
 * The image model: Azure OpenAI images/edits through the `openai` SDK. By default the GA v1 route,
 * `{endpoint}/openai/v1/images/edits` with the `OpenAI` client (the deployment goes in `model`); with
 * AZURE_OPENAI_API_VERSION set, the dated route `{endpoint}/openai/deployments/{d}/images/edits?api-version=…`
 * with `AzureOpenAI`. Entra ID (the app's managed identity) unless an API key is configured, which only the
 * local emulator uses. The SDK's own retries are off (maxRetries 0, explicit timeout): the edit worker
 * decides what a failure means, so a 429 never makes a worker sleep for minutes inside the SDK.
 */
import { Readable } from 'node:stream';
import type { TokenCredential } from '@azure/identity';
import { APIError, AzureOpenAI, OpenAI, toFile } from 'openai';
import type { ImageEditParamsNonStreaming } from 'openai/resources/images';
import type { PipelineConfig } from '../../core/config.js';
import { IMAGE_MIME } from '../../core/image-header.js';
import { JOB_ERROR, serviceErrorCode } from '../../core/job-errors.js';
import { findModel } from '../../core/model-catalog.js';
import { azureCredential } from './credential.js';
import { failedBeforeSending, streamingFetch } from './streaming-fetch.js';
import { AnswerProblem, checkedImage, decodeBase64Image } from './streaming-image.js';
import { usageInTail, type TokenUsage } from '../../core/cost.js';
import { standIn } from './streaming-parts.js';
import { type UploadPart } from '../../ports/image-model.js';
import {
  type EditInput,
  type Reply,
  type ModelOutcome,
  type ModelSetting,
  type ModelRoute,
  type ImageModel,
} from '../../ports/image-model.js';

export const COGNITIVE_SERVICES_SCOPE = 'https://cognitiveservices.azure.com/.default';

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

/** Codes Azure answers when the api-version is missing, unknown or retired. */
const API_VERSION_CODES = new Set([
  'MissingApiVersionParameter',
  'InvalidApiVersion',
  'UnsupportedApiVersion',
  'unsupported_api_version',
]);

/**
 * A 404 or an api-version 400 means the settings, not the drop, are wrong: which setting, by the
 * answer and the route (a missing path on the v1 route is an endpoint that is not Azure OpenAI's).
 */
function misconfiguredSetting(
  status: number,
  code: string,
  message: string,
  route: ModelRoute,
): ModelSetting | undefined {
  if (status === 404) {
    if (code === 'DeploymentNotFound') return 'AZURE_OPENAI_DEPLOYMENT';
    return route === 'v1' ? 'AZURE_OPENAI_ENDPOINT' : 'AZURE_OPENAI_API_VERSION';
  }
  if (status === 400 && (API_VERSION_CODES.has(code) || /api[- ]version/i.test(message)))
    return 'AZURE_OPENAI_API_VERSION';
  return undefined;
}

/** Codes for a parameter the deployment's model does not take (OpenAI's and the emulator's). */
const UNSUPPORTED_PARAMETER_CODES = new Set(['unsupported_parameter', 'invalid_input_fidelity_model']);

/**
 * A 400 for a parameter the model does not take is the app's configuration (IMAGE_MODEL against the
 * deployment's model, or a catalog entry), not the drop: named with the parameter and model.
 */
function unsupportedParameter(code: string, param: string | undefined, message: string, model: string) {
  if (!UNSUPPORTED_PARAMETER_CODES.has(code) && !/^unsupported parameter/i.test(message)) return undefined;
  const name = param ?? /'([a-z_]+)'/.exec(message)?.[1] ?? 'a parameter';
  return `${name} is not accepted by the deployment of ${model} (HTTP 400 ${code}: ${message})`;
}

/** Azure's answer while it blocks the resource for content-policy reasons (HTTP 403, every request). */
const BLOCKED = /temporarily blocked/i;

type NetworkError = NodeJS.ErrnoException & { address?: string; port?: number; errors?: unknown[] };

/**
 * The network error under the SDK's bare "Connection error.": its code, system call and address
 * (`ECONNREFUSED connect 127.0.0.1:8011`), which say whether the endpoint, DNS or the network is at fault.
 */
function networkCause(err: unknown): string | undefined {
  for (let e = (err as { cause?: unknown })?.cause; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const { code, syscall, errors } = e as NetworkError;
    if (!code) continue;
    // Connecting to a name with several addresses fails with an AggregateError whose members name them.
    const { address, port } = (errors?.[0] ?? e) as NetworkError;
    const where = address ? (port ? `${address}:${port}` : address) : undefined;
    return [code, syscall ?? (errors?.[0] as NetworkError | undefined)?.syscall, where].filter(Boolean).join(' ');
  }
  return undefined;
}

/** Sorts a failed call into what the worker should do about it. */
export function classifyError(err: unknown, route: ModelRoute = 'v1', model = 'the configured model'): ModelOutcome {
  if (!(err instanceof APIError) || err.status === undefined) {
    const cause = networkCause(err);
    const message = (err instanceof Error ? err.message : String(err)) + (cause ? ` (${cause})` : '');
    const code =
      err instanceof Error && err.constructor.name === 'APIConnectionTimeoutError'
        ? JOB_ERROR.timeout
        : JOB_ERROR.connection;
    return {
      kind: 'transient',
      code,
      message: `${code === JOB_ERROR.timeout ? 'the model call timed out' : 'the connection failed'}: ${message}`,
      ...(failedBeforeSending(err) ? { notSent: true } : { unanswered: true }),
    };
  }
  const reply = replyFrom(err.headers);
  const body = (err.error ?? {}) as {
    code?: string;
    message?: string;
    param?: string;
    inner_error?: { code?: string };
  };
  const code = serviceErrorCode(String(err.code ?? body.code ?? err.status));
  const message = body.message ?? err.message;
  if (err.status === 429) return { ...reply, kind: 'throttled', retryAfterMs: retryAfterMs(err.headers), message };
  if (err.status === 403 && BLOCKED.test(message)) return { ...reply, kind: 'blocked', code, message };
  const setting = misconfiguredSetting(err.status, code, message, route);
  if (setting)
    return { ...reply, kind: 'misconfigured', setting, code, message: `HTTP ${err.status} ${code}: ${message}` };
  const unsupported = err.status === 400 ? unsupportedParameter(code, body.param, message, model) : undefined;
  if (unsupported) return { ...reply, kind: 'misconfigured', setting: 'IMAGE_MODEL', code, message: unsupported };
  const filtered =
    ['content_policy_violation', 'contentFilter', 'content_filter'].includes(code) ||
    body.inner_error?.code === 'ResponsibleAIPolicyViolation';
  if (err.status === 400 && filtered) return { ...reply, kind: 'refused', code, message };
  if (err.status === 400 || err.status === 413 || err.status === 422)
    return { ...reply, kind: 'invalid', status: err.status, code, message };
  // 5xx, and 401/403 too: those mean the deployment's access is being set up (role assignments take
  // minutes to apply), which retrying with backoff may outlive; the drop itself is not at fault.
  const unanswered = err.status === 408 || err.status === 504 ? { unanswered: true } : {};
  return { ...reply, kind: 'transient', code, message: `HTTP ${err.status}: ${message}`, ...unanswered };
}

type Auth = { kind: 'key'; key: string } | { kind: 'entra'; token: () => Promise<string> };

/** The client for the configured route; the key (emulator only) travels in `api-key`, as Azure takes it. */
function createClient(config: PipelineConfig['model'], auth: Auth): OpenAI {
  const common = { maxRetries: 0, timeout: config.timeoutMs, organization: null, project: null, fetch: streamingFetch };
  if (config.apiVersion) {
    return new AzureOpenAI({
      ...common,
      endpoint: config.endpoint,
      apiVersion: config.apiVersion,
      deployment: config.deployment,
      ...(auth.kind === 'key' ? { apiKey: auth.key } : { azureADTokenProvider: auth.token }),
    });
  }
  const baseURL = `${config.endpoint}/openai/v1`;
  // openai-node v6 calls an `apiKey` function before each request and sends `Authorization: Bearer <token>`.
  if (auth.kind === 'entra') return new OpenAI({ ...common, baseURL, apiKey: auth.token });
  // A null header removes the SDK's `Authorization: Bearer <key>`.
  return new OpenAI({
    ...common,
    baseURL,
    apiKey: auth.key,
    defaultHeaders: { 'api-key': auth.key, Authorization: null },
  });
}

/** The emulator's key, or an Entra ID token provider (`@azure/identity` is loaded only then). */
async function authFor(config: PipelineConfig['model'], credential: TokenCredential | undefined): Promise<Auth> {
  if (config.apiKey) return { kind: 'key', key: config.apiKey };
  const { getBearerTokenProvider } = await import('@azure/identity');
  const tokenCredential = credential ?? (await azureCredential(config.clientId));
  return { kind: 'entra', token: getBearerTokenProvider(tokenCredential, COGNITIVE_SERVICES_SCOPE) };
}

/**
 * The model client. `credential` replaces the app's Entra ID credential (tests stub the token endpoint
 * with it); it is not used when an API key is configured.
 */
export async function createImageModel(
  config: PipelineConfig['model'],
  credential?: TokenCredential,
): Promise<ImageModel> {
  const route: ModelRoute = config.apiVersion ? 'deployment' : 'v1';
  const client = createClient(config, await authFor(config, credential));
  const acceptsInputFidelity = findModel(config.imageModel)?.inputFidelity === true;

  return {
    async edit(input) {
      const { request } = input;
      const releases: (() => void)[] = [];
      // The service rejects application/octet-stream, which is what the SDK sends for fs streams.
      const file = async (part: Blob | UploadPart, name: string, type: string) => {
        if (part instanceof Blob) return toFile(part, name, { type });
        const { file, release } = standIn({ ...part, name, type });
        releases.push(release);
        return file;
      };
      let response: Response;
      try {
        response = await client.images
          .edit(
            {
              model: config.deployment,
              image: await file(input.image, input.imageName, input.image.type),
              mask: await file(input.mask, 'mask.png', 'image/png'),
              prompt: request.prompt,
              n: 1,
              // gpt-image-2 takes any WIDTHxHEIGHT the catalog allows; the SDK's types list only the named sizes.
              size: request.size as ImageEditParamsNonStreaming['size'],
              quality: request.quality,
              output_format: request.outputFormat,
              ...(request.outputCompression !== undefined ? { output_compression: request.outputCompression } : {}),
              ...(request.background ? { background: request.background } : {}),
              // Only where Azure documents it as accepted (./model-catalog.ts): OpenAI answers 400 otherwise.
              ...(request.inputFidelity && acceptsInputFidelity ? { input_fidelity: request.inputFidelity } : {}),
            },
            { timeout: config.timeoutMs, maxRetries: 0, headers: { 'x-ms-client-request-id': input.clientRequestId } },
          )
          // The raw answer: the image is decoded from it as it arrives rather than parsed as one JSON text.
          .asResponse();
      } catch (err) {
        return classifyError(err, route, config.imageModel);
      } finally {
        for (const release of releases) release();
      }
      return receiveImage(response, { ...input, model: config.imageModel }, route);
    },
  };
}

/**
 * Streams the answer's image into storage through the edit step's `output`, checked on the way. A body
 * that breaks off or carries no usable image is the model's failure (a transient outcome, nothing
 * committed); a storage failure is thrown, as any storage failure of the edit step is.
 */
async function receiveImage(
  response: Response,
  input: EditInput & { model: string },
  route: ModelRoute,
): Promise<ModelOutcome> {
  const reply = replyFrom(response.headers);
  const format = input.request.outputFormat;
  let answerFailed: { err: unknown } | undefined;
  let usage: TokenUsage | undefined;
  async function* answer(): AsyncGenerator<Buffer> {
    try {
      const body = response.body ? (Readable.fromWeb(response.body as never) as AsyncIterable<Uint8Array>) : [];
      yield* checkedImage(
        decodeBase64Image(body, (tail) => (usage = usageInTail(tail))),
        format,
      );
    } catch (err) {
      answerFailed = { err };
      throw err;
    }
  }
  try {
    const output = await input.output(answer());
    return { ...reply, kind: 'ok', output, contentType: IMAGE_MIME[format], usage };
  } catch (err) {
    if (!answerFailed) throw err;
    const failure = answerFailed.err;
    if (failure instanceof AnswerProblem) {
      return { ...reply, kind: 'transient', code: failure.code, message: failure.message };
    }
    return { ...reply, ...classifyError(failure, route, input.model) };
  }
}
