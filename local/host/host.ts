/**
 * A small Functions host for the local runtime: it runs the same function definitions as Azure's host,
 * with the same triggers. HTTP on /api/..., Event Grid webhooks on /runtime/webhooks/EventGrid and
 * /runtime/webhooks/blobs, storage-queue triggers with host.json's batch, visibility and poison rules,
 * and NCRONTAB timers.
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EventGridDeserializer } from '@azure/eventgrid';
import functions, { type HttpResponseInit, type InvocationContext as InvocationContextType } from '@azure/functions';
import type { FunctionDefinition } from '../../shared/adapters/azure/functions-app.js';
import { LOCAL_USER_HEADER } from '../../shared/adapters/http/access.js';
import type { Runtime } from '../../shared/adapters/azure/runtime.js';
import { startLocalTracing } from '../../shared/adapters/telemetry/setup.js';
import { guardLoopback } from '../loopback-guard.js';
import type { QueueSettings } from './host-json.js';
import { parseNcrontab } from './ncrontab.js';
import { QueueTrigger } from './queue-trigger.js';

// In ESM the classes come from the package's default export.
const { InvocationContext, HttpRequest } = functions;

/**
 * What went wrong, for a 500's body and the log: the message, or (a storage SDK error Azurite answered with no
 * message) its name, HTTP status and service code, so the failed call can be told apart.
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message) return err.message;
  const { statusCode, code } = err as { statusCode?: number; code?: string };
  const detail = [statusCode, code].filter((v) => v !== undefined && v !== '').join(' ');
  return `${err.name}${detail ? ` ${detail}` : ''} (no message)`;
}

/** A failed invocation's log text: the stack, headed by `describeError` when the stack's own head says nothing. */
function failureText(err: unknown): string {
  if (!(err instanceof Error) || !err.stack) return describeError(err);
  return err.message ? err.stack : `${describeError(err)}\n${err.stack}`;
}

export type LogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical' | 'none';

export interface LogEntry {
  level: LogLevel;
  functionName: string;
  invocationId: string;
  message: string;
}

// Definitions are generic in their input; the host hands each one the input its trigger produces.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFunction = FunctionDefinition<any, any>;

export interface HostOptions {
  runtime: Runtime;
  functions: AnyFunction[];
  queueSettings: QueueSettings;
  /** Values for `%NAME%` references in trigger settings, like app settings. */
  settings: Record<string, string | undefined>;
  port?: number;
  host?: string;
  timers?: boolean;
  /** How long a fetched queue message stays invisible between renewals (a killed host's messages return after it). */
  queueLeaseSeconds?: number;
  onLog?: (entry: LogEntry) => void;
}

export interface HostStats {
  invocations: Record<string, number>;
  failures: Record<string, number>;
}

export interface FunctionHost {
  url: string;
  port: number;
  /** Runs a function once with `input`, as its trigger would. */
  invoke(name: string, input: unknown): Promise<unknown>;
  stats(): HostStats;
  /** Queue messages and webhook deliveries being handled right now. */
  busy(): number;
  /** A message was just put on `queue`: poll it now rather than at the next interval. */
  nudge(queue: string): void;
  close(): Promise<void>;
}

function resolveSetting(value: string, settings: Record<string, string | undefined>): string {
  return value.replace(/%([^%]+)%/g, (_, name: string) => {
    const v = settings[name];
    if (v === undefined) throw new Error(`app setting ${name} is not set (referenced as %${name}%)`);
    return v;
  });
}

function routeMatcher(template: string): (path: string) => Record<string, string> | undefined {
  const names: string[] = [];
  const pattern = template
    .split('/')
    .map((segment) => {
      const m = /^\{(\w+)(\?)?\}$/.exec(segment);
      if (!m) return `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
      names.push(m[1]!);
      return m[2] ? '(?:/([^/]+))?' : '/([^/]+)';
    })
    .join('');
  const re = new RegExp(`^${pattern}/?$`);
  return (path) => {
    const m = re.exec(path);
    if (!m) return undefined;
    return Object.fromEntries(
      names.flatMap((n, i) => (m[i + 1] !== undefined ? [[n, decodeURIComponent(m[i + 1]!)]] : [])),
    );
  };
}

/** A request the host turns away with `status`, like the real host's own checks. */
class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The Functions host's HTTP request limit (100 MB, "Azure Functions HTTP trigger" limits); the webhooks take
 * far less: Event Grid delivers at most about 1 MB (an event is at most 1 MB, a batch at most 1024 KB).
 */
const MAX_HTTP_BODY_BYTES = 100 * 1024 * 1024;
export const MAX_WEBHOOK_BODY_BYTES = 2 * 1024 * 1024;

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = () => new Refused(413, `the request body is larger than ${limit} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const EVENT_GRID_DELIVERY_TYPES = ['notification', 'subscriptionvalidation', 'unsubscribe'];
const JSON_TYPE = /^application\/(json|cloudevents(-batch)?\+json)\s*(;|$)/i;

/**
 * What the host requires of a webhook call before reading its body. The real host answers 400 without a
 * known `aeg-event-type` (Microsoft.Azure.WebJobs.Extensions.EventGrid's HttpRequestProcessor); a JSON
 * content type and no `Origin` also keep a web page in the user's browser out: a cross-site POST it may
 * send without a CORS preflight carries neither a custom header nor a JSON type, and always an Origin.
 */
function webhookRefusal(req: IncomingMessage): Refused | undefined {
  if (req.method !== 'POST') return new Refused(405, `${req.method} is not allowed; Event Grid delivers with POST`);
  if (req.headers.origin !== undefined) {
    return new Refused(403, 'requests from a browser page (with an Origin header) are refused; Event Grid sends none');
  }
  const type = String(req.headers['aeg-event-type'] ?? '').toLowerCase();
  if (!EVENT_GRID_DELIVERY_TYPES.includes(type)) {
    return new Refused(400, 'the aeg-event-type header must be Notification, SubscriptionValidation or Unsubscribe');
  }
  if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) {
    return new Refused(415, 'the body must be JSON (content-type: application/json)');
  }
  return undefined;
}

/**
 * The headers a function sees. The local runtime declares its user by a per-process secret the host adds
 * here (see shared/adapters/http/access.ts); a caller's own copy of that header is dropped first.
 */
function functionHeaders(req: IncomingMessage, localSecret: string | undefined): Record<string, string> {
  const headers = Object.fromEntries(
    Object.entries(req.headers)
      .filter(([k]) => k !== LOCAL_USER_HEADER)
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
  );
  return localSecret === undefined ? headers : { ...headers, [LOCAL_USER_HEADER]: localSecret };
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
    ...headers,
  });
  res.end(text);
}

/** Answers with what an HTTP function returned: JSON, bytes, a stream or text. */
function sendFunctionResponse(res: ServerResponse, response: HttpResponseInit): void {
  const headers = Object.fromEntries(Object.entries((response.headers as Record<string, string> | undefined) ?? {}));
  if (response.jsonBody !== undefined) return send(res, response.status ?? 200, response.jsonBody, headers);
  if (response.body instanceof Uint8Array) {
    res.writeHead(response.status ?? 200, headers);
    return void res.end(response.body);
  }
  if (response.body instanceof Readable) {
    // Streamed as it is read, like the Functions host with HTTP streams on; a client that goes away
    // destroys the source, which gives back whatever the handler held for it.
    res.writeHead(response.status ?? 200, headers);
    return void pipeline(response.body, res).catch(() => undefined);
  }
  return send(res, response.status ?? 200, typeof response.body === 'string' ? response.body : '', headers);
}

/** Answers a subscription validation event with its code, as the real host does. */
function answerValidation(res: ServerResponse, body: string): void {
  let validation: { data?: { validationCode?: string } } | undefined;
  try {
    [validation] = JSON.parse(body) as { data?: { validationCode?: string } }[];
  } catch (err) {
    return send(res, 400, { error: `not a subscription validation event: ${(err as Error).message}` });
  }
  return send(res, 200, { validationResponse: validation?.data?.validationCode });
}

interface HttpRoute {
  def: AnyFunction;
  match: (path: string) => Record<string, string> | undefined;
  methods: string[];
}

/** One host: its server, triggers and timers, and the counts `stats()` reports. */
class LocalFunctionHost {
  private readonly byName: Map<string, AnyFunction>;
  private readonly stats: HostStats = { invocations: {}, failures: {} };
  private readonly sockets = new Set<Socket>();
  private readonly deserializer = new EventGridDeserializer();
  private readonly httpRoutes: HttpRoute[];
  private readonly server: http.Server;
  private readonly queueTriggers: QueueTrigger[];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly boundHost: string;
  private inflight = 0;
  private closing = false;

  constructor(private readonly options: HostOptions) {
    this.byName = new Map(options.functions.map((f) => [f.name.toLowerCase(), f]));
    this.boundHost = options.host ?? '127.0.0.1';
    this.httpRoutes = options.functions
      .filter((f) => f.trigger.type === 'http')
      .map((f) => ({
        def: f,
        match: routeMatcher((f.trigger as { route: string }).route),
        methods: (f.trigger as { methods: string[] }).methods,
      }));
    this.server = http.createServer((req, res) => this.serve(req, res));
    // Loopback names only, so a DNS-rebound web page cannot reach it by its own name.
    guardLoopback(this.server);
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.queueTriggers = options.functions
      .filter((f) => f.trigger.type === 'storageQueue')
      .map((def) => this.queueTrigger(def));
    if (options.timers !== false) {
      for (const def of options.functions.filter((f) => f.trigger.type === 'timer')) this.armTimer(def);
    }
  }

  /** Listens, starts the queue triggers, and hands out the host's public face. */
  async start(): Promise<FunctionHost> {
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(this.options.port ?? 0, this.boundHost, () => resolve());
      });
    } catch (err) {
      // The timers are armed already: cleared, a host that could not listen does not keep the process alive.
      this.closing = true;
      for (const t of this.timers.values()) clearTimeout(t);
      throw err;
    }
    for (const t of this.queueTriggers) t.start();
    const { port } = this.server.address() as AddressInfo;
    return {
      url: `http://${this.boundHost}:${port}`,
      port,
      invoke: (name, input) => {
        const def = this.byName.get(name.toLowerCase());
        if (!def) throw new Error(`no function named ${name}`);
        return this.invoke(def, input);
      },
      stats: () => structuredClone(this.stats),
      busy: () => this.inflight,
      nudge: (queue) => this.queueTriggers.filter((t) => t.name === queue).forEach((t) => t.nudge()),
      close: () => this.close(),
    };
  }

  private async close(): Promise<void> {
    this.closing = true;
    for (const t of this.timers.values()) clearTimeout(t);
    await Promise.all(this.queueTriggers.map((t) => t.stop()));
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async invoke(
    def: AnyFunction,
    input: unknown,
    triggerMetadata: Record<string, unknown> = {},
  ): Promise<unknown> {
    const { options, stats } = this;
    const invocationId = randomUUID();
    const context: InvocationContextType = new InvocationContext({
      invocationId,
      functionName: def.name,
      triggerMetadata,
      logHandler: (level, ...args) =>
        options.onLog?.({
          level: level as LogLevel,
          functionName: def.name,
          invocationId,
          message: args.map(String).join(' '),
        }),
    });
    stats.invocations[def.name] = (stats.invocations[def.name] ?? 0) + 1;
    this.inflight++;
    try {
      return await def.handle(options.runtime, input, context);
    } catch (err) {
      stats.failures[def.name] = (stats.failures[def.name] ?? 0) + 1;
      options.onLog?.({
        level: 'error',
        functionName: def.name,
        invocationId,
        message: `Executed '${def.name}' (Failed): ${failureText(err)}`,
      });
      throw err;
    } finally {
      this.inflight--;
    }
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const lower = url.pathname.toLowerCase();
    const work =
      lower === '/runtime/webhooks/eventgrid'
        ? this.handleEventGridWebhook(req, res, url, false)
        : lower === '/runtime/webhooks/blobs'
          ? this.handleEventGridWebhook(req, res, url, true)
          : lower.startsWith('/api/')
            ? this.handleApi(req, res, url)
            : lower === '/admin/host/status'
              ? Promise.resolve(
                  send(res, 200, {
                    state: this.closing ? 'Stopping' : 'Running',
                    functions: this.options.functions.map((f) => f.name),
                  }),
                )
              : Promise.resolve(send(res, 404, { error: `nothing at ${url.pathname}` }));
    work.catch((err: unknown) => {
      if (res.headersSent) res.end();
      // A refused body is not read on: the connection closes once the answer is out.
      else if (err instanceof Refused) send(res, err.status, { error: err.message }, { connection: 'close' });
      else send(res, 500, { error: describeError(err) });
    });
  }

  private async handleEventGridWebhook(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    blobsRoute: boolean,
  ): Promise<void> {
    const requested = (url.searchParams.get('functionName') ?? '').replace(/^Host\.Functions\./i, '');
    const def = this.byName.get(requested.toLowerCase());
    if (!def || def.trigger.type !== 'eventGrid')
      return send(res, 404, { error: `no Event Grid function named "${requested}"` });
    const refusal = webhookRefusal(req);
    if (refusal) throw refusal;
    const deliveryType = String(req.headers['aeg-event-type']).toLowerCase();
    if (deliveryType === 'unsubscribe') return send(res, 202);
    let events;
    const body = (await readBody(req, MAX_WEBHOOK_BODY_BYTES)).toString('utf8');
    if (deliveryType === 'subscriptionvalidation') return answerValidation(res, body);
    try {
      events = await this.deserializer.deserializeEventGridEvents(body);
    } catch (err) {
      return send(res, 400, { error: `not a batch of Event Grid events: ${(err as Error).message}` });
    }
    const run = async () => {
      for (const event of events) await this.invoke(def, event);
    };
    if (blobsRoute) {
      // The blob trigger's Event Grid source queues internally and answers 202 at once.
      send(res, 202);
      await run().catch(() => undefined);
      return;
    }
    try {
      await run();
      send(res, 200);
    } catch (err) {
      send(res, 500, { error: describeError(err) });
    }
  }

  private async handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.slice('/api'.length);
    for (const route of this.httpRoutes) {
      const params = route.match(path);
      if (!params) continue;
      if (!route.methods.includes(req.method ?? 'GET'))
        return send(res, 405, { error: `${req.method} is not allowed` });
      const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req, MAX_HTTP_BODY_BYTES);
      const request = new HttpRequest({
        method: req.method ?? 'GET',
        url: url.toString(),
        headers: functionHeaders(req, this.options.runtime.localSecret),
        params,
        ...(body ? { body: { bytes: body } } : {}),
      });
      return sendFunctionResponse(res, ((await this.invoke(route.def, request)) ?? {}) as HttpResponseInit);
    }
    send(res, 404, { error: `no function serves ${url.pathname}` });
  }

  private queueTrigger(def: AnyFunction): QueueTrigger {
    const { options } = this;
    const queueName = resolveSetting((def.trigger as { queueName: string }).queueName, options.settings);
    return new QueueTrigger({
      name: queueName,
      queue: options.runtime.storage.queue(queueName),
      poison: options.runtime.storage.queue(`${queueName}-poison`),
      settings: options.queueSettings,
      ...(options.queueLeaseSeconds ? { leaseSeconds: options.queueLeaseSeconds } : {}),
      run: async (input, message) => {
        await this.invoke(def, input, {
          id: message.messageId,
          dequeueCount: message.dequeueCount,
          insertionTime: message.insertedOn,
        });
      },
      onError: (err) => {
        if (!this.closing)
          options.onLog?.({
            level: 'warning',
            functionName: def.name,
            invocationId: '',
            message: `queue trigger: ${err instanceof Error ? err.message : String(err)}`,
          });
      },
    });
  }

  /** Runs a timer function at each time of its schedule, skipping a time while the last run goes on. */
  private armTimer(def: AnyFunction): void {
    const schedule = parseNcrontab(
      resolveSetting((def.trigger as { schedule: string }).schedule, this.options.settings),
    );
    let running = false;
    const arm = () => {
      const next = schedule.next(new Date());
      this.timers.set(
        def.name,
        setTimeout(() => {
          if (!running && !this.closing) {
            running = true;
            this.invoke(def, { isPastDue: false, scheduleStatus: { next: schedule.next(new Date()).toISOString() } })
              .catch(() => undefined)
              .finally(() => (running = false));
          }
          if (!this.closing) arm();
        }, next.getTime() - Date.now()),
      );
    };
    arm();
  }
}

export async function startHost(options: HostOptions): Promise<FunctionHost> {
  // The console shows a job's trace from the spans this process keeps (Application Insights' part on Azure).
  await startLocalTracing();
  return new LocalFunctionHost(options).start();
}
