/**
 * A gpt-image emulator speaking Azure OpenAI's images API as strictly as Azure does, the way Azurite
 * speaks Storage's: any client written for the service (the `openai` SDK's `OpenAI` on the GA v1 route and
 * `AzureOpenAI` on the dated route, curl, the docs' REST quickstart) works against it, and a request Azure
 * would refuse is refused with Azure's status, code and message shape.
 */
import { createHash, randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { guardLoopback } from '../loopback-guard.js';
import type { ImageModelSpec } from '../../shared/core/model-catalog.js';
import { authorize, type IssuedToken, TokenIssuer, WELL_KNOWN_API_KEY } from './auth.js';
import { DEFAULT_DEPLOYMENTS, type DeploymentMap, resolveDeployments } from './deployments.js';
import {
  drawFault,
  drawLatency,
  LATE_FAULTS,
  type FaultKind,
  type FaultRates,
  type Latency,
  validateFaultRates,
} from './faults.js';
import { createExpiredIdentity, DEFAULT_CA_DIR, type EmulatorIdentity, loadOrCreateIdentity } from './identity.js';
import { renderEditOnce, renderGeneration, resolveSize } from './imaging.js';
import { contentFilterError, createBlockList, type BlockList } from './moderation.js';
import { RequestQuota } from './quota.js';
import {
  ApiError,
  type ImageRequest,
  MAX_BODY_BYTES,
  parseImageRequest,
  type UploadedFile,
  usageFor,
} from './requests.js';
import { signImage } from './sign.js';

export { DEFAULT_DEPLOYMENTS, type DeploymentMap } from './deployments.js';
export { WELL_KNOWN_API_KEY } from './auth.js';

export interface EmulatorOptions {
  port?: number;
  host?: string;
  /** The key an `api-key` header must carry; default the well-known key. */
  apiKey?: string;
  rpm?: number;
  latency?: Latency;
  faults?: FaultRates;
  /** Prompts containing one of these words, or input images carrying one as a marker, are refused. */
  blockWords?: string[];
  /** Deployment name → catalog model; default one `gpt-image-2` deployment serving gpt-image-2. */
  deployments?: DeploymentMap;
  /** Where the emulator's CA lives; generated on first start. */
  caDir?: string;
  /**
   * `expired`: sign with a one-year leaf that expired 30 days ago, as of a time inside its year (an
   * in-memory chain with its own roots; `caPem` serves them): what an image Azure signed months ago
   * carries today. Default `current`, the identity in `caDir`.
   */
  signer?: 'current' | 'expired';
  /** Time-stamp signatures, as Azure does; default true. */
  timestamp?: boolean;
}

export type Outcome = 'ok' | 'throttled' | 'invalid' | 'filtered' | 'unauthorized' | 'not-found' | `fault:${FaultKind}`;

export interface RequestRecord {
  at: string;
  method: string;
  path: string;
  deployment: string | undefined;
  /** The catalog model the deployment serves. */
  model: string | undefined;
  status: number;
  outcome: Outcome;
  /** The caller's `x-ms-client-request-id`, for correlating calls with jobs. */
  clientRequestId: string | undefined;
  /** `apim-request-id`, the id Azure support asks for. */
  requestId: string;
  durationMs: number;
  /** SHA-256 of each image returned, so tests can prove the pipeline stored the model's bytes untouched. */
  outputSha256: string[];
}

export interface Emulator {
  url: string;
  port: number;
  /** The emulator's two trust anchors (signing root and time-stamping root), PEM. */
  caPem: string;
  apiKey: string;
  deployments: DeploymentMap;
  /** A bearer token the emulator accepts (the local stand-in for an Entra ID token). */
  issueToken(lifetimeSeconds?: number): IssuedToken;
  setLatency(latency: Latency): void;
  setFaults(rates: FaultRates): void;
  /** The next requests get these faults, one each, in order; then the rates apply again. */
  scheduleFaults(kinds: FaultKind[]): void;
  setRpm(rpm: number): void;
  requests(): RequestRecord[];
  clearRequests(): void;
  close(): Promise<void>;
}

type Operation = 'edits' | 'generations';
// The v1 route takes no api-version and names the deployment as `model`; the dated route needs one
// (https://learn.microsoft.com/azure/ai-foundry/openai/api-version-lifecycle).
/** Where a request went: the dated route names the deployment in its path, the v1 route in its body. */
type Route = { kind: 'dated'; operation: Operation; deployment: string } | { kind: 'v1'; operation: Operation };

const ROUTE_DATED = /^\/openai\/deployments\/([^/]+)\/images\/(edits|generations)$/;
const ROUTE_V1 = /^\/openai\/v1\/images\/(edits|generations)$/;
const RESOURCE_NOT_FOUND = () => new ApiError(404, '404', 'Resource not found');

class Exchange {
  readonly started = performance.now();
  /** Azure sends two ids, set by two different layers (API Management and the service). */
  readonly requestId = randomUUID();
  readonly serviceRequestId = randomUUID();
  deployment: string | undefined;
  model: string | undefined;
  outcome: Outcome = 'ok';
  readonly outputSha256: string[] = [];
  readonly headers: Record<string, string> = {};

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
  ) {
    const clientId = req.headers['x-ms-client-request-id'];
    if (typeof clientId === 'string') this.headers['x-ms-client-request-id'] = clientId;
  }

  responseHeaders(extra: Record<string, string> = {}): Record<string, string> {
    return {
      'apim-request-id': this.requestId,
      'x-request-id': this.serviceRequestId,
      'x-ms-region': 'local-emulator',
      ...this.headers,
      ...extra,
    };
  }

  send(status: number, body: unknown, headers: Record<string, string> = {}): void {
    // Encoded once: an image answer is megabytes of base64, and measuring the text then writing it
    // encoded it twice.
    const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    this.res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
      'content-length': bytes.length,
      ...this.responseHeaders(headers),
    });
    this.res.end(bytes);
  }

  fail(error: ApiError, headers: Record<string, string> = {}): void {
    this.send(error.status, error.body(), headers);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const tooLarge = () => new ApiError(413, 'request_too_large', 'The request body is too large.');
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

interface ParsedBody {
  fields: Record<string, unknown>;
  images: UploadedFile[];
  mask: UploadedFile | undefined;
  /** Names of every file part, so unknown ones are refused like unknown fields. */
  fileFields: string[];
}

function parseJsonBody(req: IncomingMessage, body: Buffer): ParsedBody {
  if (!(req.headers['content-type'] ?? '').includes('application/json')) {
    throw new ApiError(400, 'invalid_request_error', 'Expected a JSON body (content-type: application/json).');
  }
  try {
    const fields = JSON.parse(body.toString('utf8')) as unknown;
    if (!fields || typeof fields !== 'object' || Array.isArray(fields)) throw new Error('not an object');
    return { fields: fields as Record<string, unknown>, images: [], mask: undefined, fileFields: [] };
  } catch {
    throw new ApiError(400, 'invalid_request_error', 'The request body is not valid JSON.');
  }
}

async function parseMultipartBody(req: IncomingMessage, body: Buffer): Promise<ParsedBody> {
  const type = req.headers['content-type'] ?? '';
  if (!type.includes('multipart/form-data')) {
    throw new ApiError(400, 'invalid_request_error', 'Expected a multipart/form-data body for images/edits.');
  }
  let form: FormData;
  try {
    form = await new Request('http://emulator/', {
      method: 'POST',
      headers: { 'content-type': type },
      body: body as Uint8Array<ArrayBuffer>,
    }).formData();
  } catch {
    throw new ApiError(400, 'invalid_request_error', 'The multipart/form-data body could not be parsed.');
  }
  const parsed: ParsedBody = { fields: {}, images: [], mask: undefined, fileFields: [] };
  for (const [key, value] of form.entries()) {
    if (typeof value === 'string') {
      parsed.fields[key] = value;
      continue;
    }
    const file = { bytes: Buffer.from(await value.arrayBuffer()), name: value.name, type: value.type };
    if (key === 'image' || key === 'image[]') parsed.images.push(file);
    else if (key === 'mask') parsed.mask = file;
    else parsed.fileFields.push(key);
  }
  return parsed;
}

function parseRoute(url: URL): Route | undefined {
  const dated = ROUTE_DATED.exec(url.pathname);
  if (dated) return { kind: 'dated', operation: dated[2] as Operation, deployment: decodeURIComponent(dated[1]!) };
  const v1 = ROUTE_V1.exec(url.pathname);
  return v1 ? { kind: 'v1', operation: v1[1] as Operation } : undefined;
}

const faultErrors: Partial<Record<FaultKind, () => ApiError>> = {
  http403: () =>
    new ApiError(
      403,
      'PermissionDenied',
      'The principal lacks the required data action ' +
        '`Microsoft.CognitiveServices/accounts/OpenAI/deployments/images/generations/action` to perform this operation.',
    ),
  // The text Azure answers while it blocks a resource (reported by users in 2025-2026, e.g.
  // https://learn.microsoft.com/en-gb/answers/questions/2264921 and the content-policy variant at aka.ms/aoaicodeofconduct).
  blocked: () =>
    new ApiError(
      403,
      'Forbidden',
      'Your resource has been temporarily blocked because we detected behavior that may violate our content policy. ' +
        'For more details on Azure OpenAI service content policy, please visit https://aka.ms/aoaicodeofconduct',
    ),
  http408: () => new ApiError(408, 'RequestTimeout', 'The request timed out before the service could answer.'),
  http504: () =>
    new ApiError(504, 'GatewayTimeout', 'The gateway did not receive a response from the backend in time.'),
  http500: () =>
    new ApiError(
      500,
      'InternalServerError',
      'The server had an error while processing your request. Sorry about that!',
    ),
  http503: () =>
    new ApiError(
      503,
      'ServiceUnavailable',
      'The service is temporarily unable to process your request. Please try again later.',
    ),
};

/** Everything one running emulator shares between requests; the setters change it while it runs. */
interface EmulatorState {
  identity: EmulatorIdentity;
  timestamp: boolean;
  apiKey: string;
  deployments: Map<string, ImageModelSpec>;
  tokens: TokenIssuer;
  blockList: BlockList;
  rpm: number;
  latency: Latency;
  faults: FaultRates;
  /** Faults for the next requests, in order, before any drawn at random (deterministic tests). */
  scheduled: FaultKind[];
  quotas: Map<string, RequestQuota>;
  records: RequestRecord[];
}

async function createState(options: EmulatorOptions, url: () => string): Promise<EmulatorState> {
  const faults = options.faults ?? {};
  validateFaultRates(faults);
  return {
    identity:
      options.signer === 'expired'
        ? await createExpiredIdentity()
        : await loadOrCreateIdentity(options.caDir ?? DEFAULT_CA_DIR),
    timestamp: options.timestamp ?? true,
    apiKey: options.apiKey ?? WELL_KNOWN_API_KEY,
    deployments: resolveDeployments(options.deployments ?? DEFAULT_DEPLOYMENTS),
    tokens: new TokenIssuer(url),
    blockList: createBlockList(options.blockWords ?? []),
    rpm: options.rpm ?? 9,
    latency: options.latency ?? 0,
    faults,
    scheduled: [],
    quotas: new Map(),
    records: [],
  };
}

function takeQuota(state: EmulatorState, ex: Exchange, route: Route, apiVersion: string | null): boolean {
  let quota = state.quotas.get(ex.deployment!);
  if (!quota || quota.rpm !== state.rpm) state.quotas.set(ex.deployment!, (quota = new RequestQuota(state.rpm)));
  const decision = quota.take();
  ex.headers['x-ratelimit-limit-requests'] = String(decision.limit);
  ex.headers['x-ratelimit-remaining-requests'] = String(decision.remaining);
  if (decision.allowed) return true;
  ex.outcome = 'throttled';
  const seconds = Math.ceil(decision.retryAfterMs / 1000);
  const operation = route.operation === 'edits' ? 'Edit' : 'Generation';
  ex.fail(
    new ApiError(
      429,
      '429',
      `Requests to the Images_${operation} Operation under Azure OpenAI API version ${apiVersion ?? 'v1'} have exceeded ` +
        `call rate limit of your current pricing tier. Please retry after ${seconds} seconds.`,
    ),
    { 'retry-after': String(seconds), 'retry-after-ms': String(decision.retryAfterMs) },
  );
  return false;
}

/** Faults that break the connection rather than answer: true when the exchange is over. */
async function breakConnection(ex: Exchange, fault: FaultKind | undefined): Promise<boolean> {
  if (fault === 'reset') {
    ex.outcome = 'fault:reset';
    ex.req.socket.destroy();
    return true;
  }
  if (fault === 'hang') {
    ex.outcome = 'fault:hang';
    await new Promise<void>((resolve) => ex.req.socket.once('close', () => resolve()));
    return true;
  }
  return false;
}

async function renderAndSign(state: EmulatorState, ex: Exchange, request: ImageRequest) {
  const first = request.images[0];
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
      pixels = first
        ? await renderEditOnce(first.bytes, request.mask?.bytes, renderOptions)
        : await renderGeneration(renderOptions);
    } catch {
      ex.outcome = 'invalid';
      throw new ApiError(400, 'invalid_image', "Invalid 'image': the image data could not be decoded.", 'image');
    }
    const signed = await signImage(state.identity, pixels, {
      format: mime,
      title: `${ex.requestId}.${request.outputFormat}`,
      timestamp: state.timestamp,
    });
    data.push({ b64_json: Buffer.from(signed).toString('base64') });
    ex.outputSha256.push(createHash('sha256').update(signed).digest('hex'));
  }
  const outputSize = resolveSize(request.size, first?.width ?? 1024, first?.height ?? 1024);
  return {
    created: Math.floor(Date.now() / 1000),
    data,
    usage: usageFor(request, outputSize),
    output_format: request.outputFormat,
    quality: request.quality === 'auto' ? 'medium' : request.quality,
    size: `${outputSize.width}x${outputSize.height}`,
    background: request.background === 'transparent' ? 'transparent' : 'opaque',
  };
}

/** The `truncate` fault: half the body, then the connection drops, as behind a failing proxy. */
function sendTruncated(ex: Exchange, response: unknown): void {
  ex.outcome = 'fault:truncate';
  const text = JSON.stringify(response);
  ex.res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...ex.responseHeaders(),
  });
  ex.res.write(text.slice(0, Math.floor(text.length / 2)));
  // Let the first half leave before cutting the connection.
  setTimeout(() => ex.req.socket.destroy(), 20);
}

async function handleImages(state: EmulatorState, ex: Exchange, route: Route, url: URL): Promise<void> {
  const apiVersion = url.searchParams.get('api-version');
  // Azure routes the dated path by its api-version: without one there is no such resource.
  if (route.kind === 'dated' && !apiVersion) {
    ex.outcome = 'not-found';
    return ex.fail(RESOURCE_NOT_FOUND());
  }
  try {
    authorize(ex.req, state.apiKey, state.tokens, route.kind === 'v1');
  } catch (err) {
    ex.outcome = 'unauthorized';
    throw err;
  }
  const fault = state.scheduled.shift() ?? drawFault(state.faults);
  if (fault === 'http403' || fault === 'blocked') {
    ex.outcome = `fault:${fault}`;
    return ex.fail(faultErrors[fault]!());
  }
  const body = await readBody(ex.req);
  const parsed =
    route.operation === 'generations' ? parseJsonBody(ex.req, body) : await parseMultipartBody(ex.req, body);
  const deployment =
    route.kind === 'dated'
      ? route.deployment
      : typeof parsed.fields.model === 'string'
        ? parsed.fields.model
        : undefined;
  ex.deployment = deployment;
  const model = deployment === undefined ? undefined : state.deployments.get(deployment);
  if (!model) {
    ex.outcome = 'not-found';
    const message =
      `The API deployment '${deployment ?? ''}' for this resource does not exist. ` +
      'If you created the deployment within the last 5 minutes, please wait a moment and try again.';
    return ex.fail(new ApiError(404, 'DeploymentNotFound', message));
  }
  ex.model = model.name;
  if (!takeQuota(state, ex, route, apiVersion)) return;
  if (await breakConnection(ex, fault)) return;
  const serverError = fault && !LATE_FAULTS.includes(fault) ? faultErrors[fault] : undefined;
  if (serverError) {
    ex.outcome = `fault:${fault!}`;
    return ex.fail(serverError());
  }
  const request = await parseImageRequest(route.operation, parsed.fields, parsed, model);
  const blocked = state.blockList.match(request);
  if (blocked) {
    ex.outcome = 'filtered';
    return ex.fail(contentFilterError(blocked));
  }
  const delay = drawLatency(state.latency);
  if (delay > 0) await sleep(delay);
  const response = await renderAndSign(state, ex, request);
  if (fault === 'truncate') return sendTruncated(ex, response);
  if (fault && LATE_FAULTS.includes(fault)) {
    ex.outcome = `fault:${fault}`;
    return ex.fail(faultErrors[fault]!());
  }
  ex.send(200, response);
}

function recordOf(ex: Exchange, url: URL): RequestRecord {
  const { req, res } = ex;
  return {
    at: new Date().toISOString(),
    method: req.method ?? '',
    path: url.pathname,
    deployment: ex.deployment,
    model: ex.model,
    status: res.headersSent ? res.statusCode : 0,
    outcome: ex.outcome,
    clientRequestId:
      typeof req.headers['x-ms-client-request-id'] === 'string' ? req.headers['x-ms-client-request-id'] : undefined,
    requestId: ex.requestId,
    durationMs: Math.round(performance.now() - ex.started),
    outputSha256: ex.outputSha256,
  };
}

/** The emulator's own endpoints (not Azure's): its trust anchors, its request log, and tokens. */
function handleEmulatorEndpoint(state: EmulatorState, ex: Exchange, url: URL): boolean {
  const method = ex.req.method;
  if (method === 'GET' && url.pathname === '/emulator/ca.pem') {
    ex.send(200, state.identity.caPem, { 'content-type': 'application/x-pem-file' });
  } else if (method === 'GET' && url.pathname === '/emulator/requests') {
    ex.send(200, state.records);
  } else if (method === 'POST' && url.pathname === '/emulator/token') {
    ex.send(200, state.tokens.issue());
  } else {
    return false;
  }
  return true;
}

async function route(state: EmulatorState, ex: Exchange): Promise<void> {
  const url = new URL(ex.req.url ?? '/', 'http://emulator');
  try {
    if (handleEmulatorEndpoint(state, ex, url)) return;
    const images = ex.req.method === 'POST' ? parseRoute(url) : undefined;
    if (!images) {
      ex.outcome = 'not-found';
      return ex.fail(RESOURCE_NOT_FOUND());
    }
    await handleImages(state, ex, images, url);
  } catch (err) {
    if (ex.res.headersSent || ex.req.socket.destroyed) return;
    if (err instanceof ApiError) {
      if (ex.outcome === 'ok') ex.outcome = 'invalid';
      return ex.fail(err);
    }
    ex.send(500, {
      error: {
        code: 'InternalServerError',
        message: `emulator error: ${err instanceof Error ? err.message : String(err)}`,
      },
    });
  } finally {
    if (url.pathname.startsWith('/openai/')) state.records.push(recordOf(ex, url));
  }
}

async function listen(server: http.Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const host = options.host ?? '127.0.0.1';
  let url = '';
  const state = await createState(options, () => url);
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => void route(state, new Exchange(req, res)));
  guardLoopback(server);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.requestTimeout = 0;
  const port = await listen(server, options.port ?? 0, host);
  url = `http://${host}:${port}`;
  return {
    url,
    port,
    caPem: state.identity.caPem,
    apiKey: state.apiKey,
    deployments: Object.fromEntries([...state.deployments].map(([name, model]) => [name, model.name])),
    issueToken: (lifetimeSeconds) => state.tokens.issue(lifetimeSeconds),
    setLatency: (l) => (state.latency = l),
    setFaults: (rates) => {
      validateFaultRates(rates);
      state.faults = rates;
    },
    scheduleFaults: (kinds) => void state.scheduled.push(...kinds),
    setRpm: (n) => (state.rpm = n),
    requests: () => [...state.records],
    clearRequests: () => void state.records.splice(0),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
