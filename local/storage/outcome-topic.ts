/**
 * A local Event Grid custom topic in the CloudEvents 1.0 input schema, for the pipeline's outcome events.
 * It takes what `EventGridPublisherClient` sends (POST <endpoint>?api-version=…, header `aeg-sas-key`,
 * `application/cloudevents-batch+json`) and delivers each event to every subscriber webhook the way Event
 * Grid delivers CloudEvents:
 * - first the CloudEvents abuse-protection handshake: OPTIONS with `WebHook-Request-Origin`, which the
 *   webhook must answer with a matching (or `*`) `WebHook-Allowed-Origin`
 *   (https://learn.microsoft.com/azure/event-grid/end-point-validation-cloud-events-schema);
 * - then one POST per event, `application/cloudevents+json` (structured mode), retried with backoff while
 *   the webhook is down or answers with an error, each event once otherwise.
 * The key is a well-known local value, like Azurite's: it opens only this topic.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { trackDeliveries } from './deliveries.js';
import { guardLoopback } from '../loopback-guard.js';

/** Well-known key of the local topic (a public constant, not a secret). */
export const LOCAL_TOPIC_KEY = 'local-outcome-topic-key';
/** The origin Event Grid names in the handshake. */
export const EVENT_GRID_ORIGIN = 'eventgrid.azure.net';
const TOPIC_PATH = '/api/events';
const MAX_BODY_BYTES = 1024 * 1024; // Event Grid's limit for one batch (1 MB)
const REQUIRED = ['id', 'source', 'specversion', 'type'] as const;

export interface TopicDeliveryOptions {
  maxAttempts: number;
  initialRetryMs: number;
  maxRetryMs: number;
}

export interface TopicStats {
  /** Events the topic accepted. */
  accepted: number;
  delivered: number;
  failedAttempts: number;
  /** Events given up on after maxAttempts (Event Grid would dead-letter them, when configured to). */
  dropped: number;
  pending: number;
}

/** Faults the topic can play, for tests: refusing every batch, or answering only after a delay. */
export interface TopicFaults {
  refuse?: { status: number; message: string };
  /** Holds each batch this long before taking it; a batch whose sender gave up meanwhile is not taken. */
  delayMs?: number;
}

export interface LocalOutcomeTopic {
  /** What OUTCOME_EVENTS_TOPIC_ENDPOINT names. */
  endpoint: string;
  key: string;
  setFaults(faults: TopicFaults): void;
  setSubscribers(urls: string[]): void;
  setDelivery(options: Partial<TopicDeliveryOptions>): void;
  stats(): TopicStats;
  /** Stops answering, as a topic that is down (deliveries already accepted go on). */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  /** Resolves once no delivery is pending. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_DELIVERY: TopicDeliveryOptions = { maxAttempts: 12, initialRetryMs: 500, maxRetryMs: 30_000 };

/** Why the batch is not a list of CloudEvents 1.0 events, or `undefined` when it is. */
export function cloudEventsProblem(batch: unknown): string | undefined {
  if (!Array.isArray(batch) || batch.length === 0) return 'the body must be a non-empty JSON array of CloudEvents';
  for (const [i, event] of batch.entries()) {
    if (!event || typeof event !== 'object') return `event ${i} is not an object`;
    const e = event as Record<string, unknown>;
    const missing = REQUIRED.filter((k) => typeof e[k] !== 'string' || e[k] === '');
    if (missing.length) return `event ${i} lacks the required attribute(s) ${missing.join(', ')}`;
    if (e.specversion !== '1.0') {
      return `event ${i} has specversion ${JSON.stringify(e.specversion)}; this topic takes 1.0`;
    }
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, body?: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

export interface OutcomeTopicOptions {
  port?: number;
  host?: string;
  subscribers?: string[];
  delivery?: Partial<TopicDeliveryOptions>;
  /** Told when an event is given up on for a webhook, with the last reason. */
  onDropped?: (message: string) => void;
}

/** The topic's server and its deliveries to the subscriber webhooks. */
class OutcomeTopic {
  subscribers: string[];
  delivery: TopicDeliveryOptions;
  faults: TopicFaults = {};
  readonly stats = { accepted: 0, delivered: 0, failedAttempts: 0, dropped: 0 };
  readonly deliveries = trackDeliveries();
  readonly server: http.Server;
  /** Webhooks that passed the handshake (done once per webhook, like Event Grid at subscription time). */
  private readonly validated = new Set<string>();
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly options: OutcomeTopicOptions,
    private readonly host: string,
  ) {
    this.subscribers = options.subscribers ?? [];
    this.delivery = { ...DEFAULT_DELIVERY, ...options.delivery };
    this.server = http.createServer((req, res) => {
      this.accept(req, res).catch((err: unknown) => answer(res, 500, { error: (err as Error).message }));
    });
    guardLoopback(this.server);
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  listen(port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handshake(url: string): Promise<void> {
    if (this.validated.has(url)) return;
    const res = await fetch(url, {
      method: 'OPTIONS',
      headers: { 'WebHook-Request-Origin': EVENT_GRID_ORIGIN, 'WebHook-Request-Rate': '120' },
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    const allowed = res.headers.get('webhook-allowed-origin');
    if (allowed !== EVENT_GRID_ORIGIN && allowed !== '*') {
      throw new Error(
        `webhook validation: ${url} answered HTTP ${res.status} without WebHook-Allowed-Origin: ${EVENT_GRID_ORIGIN}`,
      );
    }
    this.validated.add(url);
  }

  private async deliver(url: string, event: Record<string, unknown>): Promise<void> {
    const failed = await this.deliveries.retry(
      this.delivery,
      async (deliveryCount) => {
        await this.handshake(url);
        return fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/cloudevents+json; charset=utf-8',
            'aeg-event-type': 'Notification',
            'aeg-delivery-count': String(deliveryCount),
            'WebHook-Request-Origin': EVENT_GRID_ORIGIN,
          },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(30_000),
        });
      },
      () => this.stats.failedAttempts++,
    );
    if (failed === undefined) {
      this.stats.delivered++;
      return;
    }
    if (this.deliveries.closed) return;
    this.stats.dropped++;
    const tries = `${this.delivery.maxAttempts} attempts`;
    this.options.onDropped?.(`outcome event ${String(event.id)} not delivered to ${url} after ${tries}: ${failed}`);
  }

  private async accept(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://topic');
    if (url.pathname !== TOPIC_PATH) return answer(res, 404, { error: `the topic endpoint is ${TOPIC_PATH}` });
    if (req.method !== 'POST') return answer(res, 405, { error: `${req.method} is not allowed` });
    if (req.headers['aeg-sas-key'] !== LOCAL_TOPIC_KEY) {
      return answer(res, 401, { error: 'the aeg-sas-key header must carry the local topic key' });
    }
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/cloudevents(-batch)?\+json\b/.test(type)) {
      return answer(res, 400, { error: `this topic takes the CloudEvents schema, not ${type || 'no content type'}` });
    }
    const { delayMs } = this.faults;
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (res.destroyed || req.socket.destroyed) return; // the sender gave up while it waited
    // Event Grid's error body: {"error": {"code", "message"}}, which the SDK reads into its RestError.
    const { refuse } = this.faults;
    if (refuse) return answer(res, refuse.status, { error: { code: 'Refused', message: refuse.message } });
    const body = await readBody(req);
    if (!body) return answer(res, 413, { error: `a batch may be at most ${MAX_BODY_BYTES} bytes` });
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      return answer(res, 400, { error: `not JSON: ${(err as Error).message}` });
    }
    const batch = type.startsWith('application/cloudevents-batch+json') ? parsed : [parsed];
    const problem = cloudEventsProblem(batch);
    if (problem) return answer(res, 400, { error: problem });
    for (const event of batch as Record<string, unknown>[]) {
      this.stats.accepted++;
      for (const subscriber of this.subscribers) {
        this.deliveries.track(this.deliver(subscriber, event));
      }
    }
    answer(res, 200);
  }
}

export async function startOutcomeTopic(options: OutcomeTopicOptions = {}): Promise<LocalOutcomeTopic> {
  const host = options.host ?? '127.0.0.1';
  const topic = new OutcomeTopic(options, host);
  await topic.listen(options.port ?? 0);
  const port = (topic.server.address() as AddressInfo).port;
  const { deliveries } = topic;
  return {
    endpoint: `http://${host}:${port}${TOPIC_PATH}`,
    key: LOCAL_TOPIC_KEY,
    setSubscribers: (urls) => (topic.subscribers = urls),
    setFaults: (f) => (topic.faults = { ...f }),
    setDelivery: (d) => (topic.delivery = { ...topic.delivery, ...d }),
    stats: () => ({ ...topic.stats, pending: deliveries.pending }),
    down: () => topic.stop(),
    up: () => topic.listen(port),
    idle: () => deliveries.idle(),
    close: async () => {
      await Promise.all([deliveries.close(), topic.server.listening ? topic.stop() : undefined]);
    },
  };
}
