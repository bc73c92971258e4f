/**
 * A gpt-image-1 emulator speaking Azure OpenAI's images API, the way Azurite speaks Storage's: any client
 * written for the service (the `openai` SDK, curl, the docs' Python quickstart) works against it.
 */
import { createHash, randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { drawFault, drawLatency, type FaultKind, type FaultRates, type Latency, validateFaultRates } from './faults.js';
import { DEFAULT_CA_DIR, loadOrCreateIdentity } from './identity.js';
import { renderEdit, renderGeneration, resolveSize } from './imaging.js';
import { ApiError, type ImageRequest, MAX_IMAGE_BYTES, parseImageRequest, type UploadedFile, usageFor } from './requests.js';
import { RequestQuota } from './quota.js';
import { signImage } from './sign.js';

export const DEFAULT_DEPLOYMENTS = ['gpt-image-1', 'gpt-image-1-mini', 'gpt-image-1.5', 'gpt-image-2'];

export interface EmulatorOptions {
  port?: number;
  host?: string;
  /** When set, an `api-key` header must carry exactly this key (bearer tokens are accepted as Entra ID stand-ins). */
  apiKey?: string | undefined;
  rpm?: number;
  latency?: Latency;
  faults?: FaultRates;
  /** Prompts containing one of these words (case-insensitive) are refused by the content filter. */
  blockWords?: string[];
  deployments?: string[];
  /** Where the emulator's CA lives; generated on first start. */
  caDir?: string;
}

export type Outcome = 'ok' | 'throttled' | 'invalid' | 'filtered' | 'unauthorized' | 'not-found' | `fault:${FaultKind}`;

export interface RequestRecord {
  at: string;
  method: string;
  path: string;
  deployment: string | undefined;
  status: number;
  outcome: Outcome;
  /** The caller's `x-ms-client-request-id`, for correlating calls with jobs. */
  clientRequestId: string | undefined;
  requestId: string;
  durationMs: number;
  /** SHA-256 of each image returned, so tests can prove the pipeline stored the model's bytes untouched. */
  outputSha256: string[];
}

export interface Emulator {
  url: string;
  port: number;
  caPem: string;
  setLatency(latency: Latency): void;
  setFaults(rates: FaultRates): void;
  setRpm(rpm: number): void;
  requests(): RequestRecord[];
  clearRequests(): void;
  close(): Promise<void>;
}

const ROUTE_DEPLOYMENT = /^\/openai\/deployments\/([^/]+)\/images\/(edits|generations)$/;
const ROUTE_V1 = /^\/openai\/v1\/images\/(edits|generations)$/;
const MAX_BODY_BYTES = 17 * MAX_IMAGE_BYTES;

class Exchange {
  readonly started = performance.now();
  readonly requestId = randomUUID();
  deployment: string | undefined;
  outcome: Outcome = 'ok';
  readonly outputSha256: string[] = [];
  readonly headers: Record<string, string> = {};

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {}

  send(status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    this.res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
      'content-length': Buffer.byteLength(text),
      'apim-request-id': this.requestId,
      'x-request-id': this.requestId,
      'x-ms-region': 'local-emulator',
      ...this.headers,
      ...headers,
    });
    this.res.end(text);
  }

  fail(error: ApiError, headers: Record<string, string> = {}): void {
    this.send(error.status, error.body(), headers);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new ApiError(413, 'request_too_large', 'The request body is too large.');
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_BODY_BYTES) throw new ApiError(413, 'request_too_large', 'The request body is too large.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

interface ParsedBody {
  fields: Record<string, unknown>;
  images: UploadedFile[];
  mask: UploadedFile | undefined;
}

async function parseBody(req: IncomingMessage, body: Buffer, kind: 'edits' | 'generations'): Promise<ParsedBody> {
  const type = req.headers['content-type'] ?? '';
  if (kind === 'generations') {
    if (!type.includes('application/json')) throw new ApiError(400, 'invalid_request_error', 'Expected a JSON body (content-type: application/json).');
    try {
      const fields = JSON.parse(body.toString('utf8')) as unknown;
      if (!fields || typeof fields !== 'object' || Array.isArray(fields)) throw new Error('not an object');
      return { fields: fields as Record<string, unknown>, images: [], mask: undefined };
    } catch {
      throw new ApiError(400, 'invalid_request_error', 'The request body is not valid JSON.');
    }
  }
  if (!type.includes('multipart/form-data')) {
    throw new ApiError(400, 'invalid_request_error', 'Expected a multipart/form-data body for images/edits.');
  }
  let form: FormData;
  try {
    form = await new Request('http://emulator/', { method: 'POST', headers: { 'content-type': type }, body: body as Uint8Array<ArrayBuffer> }).formData();
  } catch {
    throw new ApiError(400, 'invalid_request_error', 'The multipart/form-data body could not be parsed.');
  }
  const fields: Record<string, unknown> = {};
  const images: UploadedFile[] = [];
  let mask: UploadedFile | undefined;
  for (const [key, value] of form.entries()) {
    if (typeof value === 'string') fields[key] = value;
    else {
      const file = { bytes: Buffer.from(await value.arrayBuffer()), name: value.name };
      if (key === 'image' || key === 'image[]') images.push(file);
      else if (key === 'mask') mask = file;
    }
  }
  return { fields, images, mask };
}

function contentFilterError(word: string): ApiError {
  const safe = { filtered: false, severity: 'safe' };
  return new ApiError(
    400,
    'content_policy_violation',
    'Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.',
    'prompt',
    {
      inner_error: {
        code: 'ResponsibleAIPolicyViolation',
        content_filter_results: {
          hate: safe,
          jailbreak: { filtered: false, detected: false },
          self_harm: safe,
          sexual: safe,
          violence: { filtered: true, severity: 'medium' },
          custom_blocklists: { filtered: true, details: [{ filtered: true, id: `emulator-block-word:${word}` }] },
        },
      },
    },
  );
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const identity = await loadOrCreateIdentity(options.caDir ?? DEFAULT_CA_DIR);
  const deployments = new Set(options.deployments ?? DEFAULT_DEPLOYMENTS);
  let rpm = options.rpm ?? 9;
  let latency: Latency = options.latency ?? 0;
  let faults: FaultRates = options.faults ?? {};
  validateFaultRates(faults);
  const blockWords = (options.blockWords ?? []).map((w) => ({ word: w, re: new RegExp(`\\b${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'i') }));
  const quotas = new Map<string, RequestQuota>();
  const quotaFor = (deployment: string) => {
    let q = quotas.get(deployment);
    if (!q || q.rpm !== rpm) quotas.set(deployment, (q = new RequestQuota(rpm)));
    return q;
  };
  const records: RequestRecord[] = [];
  const sockets = new Set<Socket>();

  async function handleImages(ex: Exchange, kind: 'edits' | 'generations', urlDeployment: string | undefined): Promise<void> {
    const { req } = ex;
    const url = new URL(req.url ?? '/', 'http://emulator');
    const apiKey = req.headers['api-key'];
    const bearer = /^Bearer\s+\S+/i.test(req.headers.authorization ?? '');
    if (!apiKey && !bearer) {
      ex.outcome = 'unauthorized';
      return ex.fail(new ApiError(401, '401', 'Access denied due to missing subscription key or token. Provide an api-key header or an Authorization: Bearer token.'));
    }
    if (apiKey && options.apiKey && apiKey !== options.apiKey) {
      ex.outcome = 'unauthorized';
      return ex.fail(new ApiError(401, '401', 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.'));
    }
    if (urlDeployment !== undefined && !url.searchParams.get('api-version')) {
      ex.outcome = 'invalid';
      return ex.fail(new ApiError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.'));
    }
    const body = await readBody(req);
    const parsed = await parseBody(req, body, kind);
    const deployment = urlDeployment ?? (typeof parsed.fields.model === 'string' ? parsed.fields.model : undefined);
    ex.deployment = deployment;
    if (!deployment || !deployments.has(deployment)) {
      ex.outcome = 'not-found';
      return ex.fail(new ApiError(404, 'DeploymentNotFound', `The API deployment '${deployment ?? ''}' for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.`));
    }

    const quota = quotaFor(deployment).take();
    ex.headers['x-ratelimit-limit-requests'] = String(quota.limit);
    ex.headers['x-ratelimit-remaining-requests'] = String(quota.remaining);
    if (!quota.allowed) {
      ex.outcome = 'throttled';
      const seconds = Math.ceil(quota.retryAfterMs / 1000);
      return ex.fail(
        new ApiError(429, '429', `Requests to the Images_${kind === 'edits' ? 'Edit' : 'Generation'} Operation under Azure OpenAI API version ${url.searchParams.get('api-version') ?? 'v1'} have exceeded call rate limit of your current pricing tier. Please retry after ${seconds} seconds.`),
        { 'retry-after': String(seconds), 'retry-after-ms': String(quota.retryAfterMs) },
      );
    }

    const fault = drawFault(faults);
    if (fault === 'reset') {
      ex.outcome = 'fault:reset';
      req.socket.destroy();
      return;
    }
    if (fault === 'hang') {
      ex.outcome = 'fault:hang';
      await new Promise<void>((resolve) => req.socket.once('close', () => resolve()));
      return;
    }
    if (fault === 'http500' || fault === 'http503') {
      ex.outcome = `fault:${fault}`;
      return fault === 'http500'
        ? ex.fail(new ApiError(500, 'InternalServerError', 'The server had an error while processing your request. Sorry about that!'))
        : ex.fail(new ApiError(503, 'ServiceUnavailable', 'The service is temporarily unable to process your request. Please try again later.'));
    }

    let request: ImageRequest;
    try {
      request = await parseImageRequest(kind, parsed.fields, parsed);
    } catch (err) {
      if (err instanceof ApiError) ex.outcome = 'invalid';
      throw err;
    }
    const blocked = blockWords.find((b) => b.re.test(request.prompt));
    if (blocked) {
      ex.outcome = 'filtered';
      return ex.fail(contentFilterError(blocked.word));
    }

    const delay = drawLatency(latency);
    if (delay > 0) await sleep(delay);
    const first = request.images[0];
    const outputSize = resolveSize(request.size, first?.width ?? 1024, first?.height ?? 1024);
    const mime = request.outputFormat === 'jpeg' ? 'image/jpeg' : 'image/png';
    const data = [];
    for (let index = 0; index < request.n; index++) {
      const renderOptions = {
        prompt: request.prompt,
        size: request.size,
        format: request.outputFormat,
        compression: request.outputCompression,
        transparent: request.background === 'transparent',
        index,
      };
      let pixels: Buffer;
      try {
        pixels = first ? await renderEdit(first.bytes, request.mask?.bytes, renderOptions) : await renderGeneration(renderOptions);
      } catch {
        ex.outcome = 'invalid';
        throw new ApiError(400, 'invalid_image', "Invalid 'image': the image data could not be decoded.", 'image');
      }
      const signed = await signImage(identity, pixels, { format: mime, title: `${ex.requestId}.${request.outputFormat}` });
      data.push({ b64_json: Buffer.from(signed).toString('base64') });
      ex.outputSha256.push(createHash('sha256').update(signed).digest('hex'));
    }
    const response = {
      created: Math.floor(Date.now() / 1000),
      data,
      usage: usageFor(request, outputSize),
      output_format: request.outputFormat,
      quality: request.quality === 'auto' ? 'medium' : request.quality,
      size: `${outputSize.width}x${outputSize.height}`,
      background: request.background === 'transparent' ? 'transparent' : 'opaque',
    };
    if (fault === 'truncate') {
      ex.outcome = 'fault:truncate';
      const text = JSON.stringify(response);
      ex.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': ex.requestId, ...ex.headers });
      ex.res.write(text.slice(0, Math.floor(text.length / 2)));
      // Let the first half leave before cutting the connection, as a dropped proxy would.
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    ex.send(200, response);
  }

  const server = http.createServer((req, res) => {
    const ex = new Exchange(req, res);
    const url = new URL(req.url ?? '/', 'http://emulator');
    const record = () => {
      const status = res.headersSent ? res.statusCode : 0;
      records.push({
        at: new Date().toISOString(),
        method: req.method ?? '',
        path: url.pathname,
        deployment: ex.deployment,
        status,
        outcome: ex.outcome,
        clientRequestId: typeof req.headers['x-ms-client-request-id'] === 'string' ? req.headers['x-ms-client-request-id'] : undefined,
        requestId: ex.requestId,
        durationMs: Math.round(performance.now() - ex.started),
        outputSha256: ex.outputSha256,
      });
    };
    const run = async () => {
      if (req.method === 'GET' && url.pathname === '/emulator/ca.pem') {
        return ex.send(200, identity.caPem, { 'content-type': 'application/x-pem-file' });
      }
      if (req.method === 'GET' && url.pathname === '/emulator/requests') return ex.send(200, records);
      const deploymentRoute = ROUTE_DEPLOYMENT.exec(url.pathname);
      const v1Route = ROUTE_V1.exec(url.pathname);
      if (req.method === 'POST' && deploymentRoute) {
        return await handleImages(ex, deploymentRoute[2] as 'edits' | 'generations', decodeURIComponent(deploymentRoute[1]!));
      }
      if (req.method === 'POST' && v1Route) return await handleImages(ex, v1Route[1] as 'edits' | 'generations', undefined);
      ex.outcome = 'not-found';
      return ex.fail(new ApiError(404, '404', 'Resource not found'));
    };
    run()
      .catch((err: unknown) => {
        if (res.headersSent || req.socket.destroyed) return;
        if (err instanceof ApiError) {
          if (ex.outcome === 'ok') ex.outcome = 'invalid';
          return ex.fail(err);
        }
        ex.send(500, { error: { code: 'InternalServerError', message: `emulator error: ${err instanceof Error ? err.message : String(err)}` } });
      })
      .finally(() => {
        if (url.pathname.startsWith('/openai/')) record();
      });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    caPem: identity.caPem,
    setLatency: (l) => (latency = l),
    setFaults: (rates) => {
      validateFaultRates(rates);
      faults = rates;
    },
    setRpm: (n) => (rpm = n),
    requests: () => [...records],
    clearRequests: () => void records.splice(0),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

