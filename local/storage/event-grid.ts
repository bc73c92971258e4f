/**
 * Event Grid for the local runtime. Storage raises BlobCreated from the write itself, so the blob endpoint
 * the pipeline and its users talk to is a thin proxy in front of Azurite: every successful Put Blob,
 * Put Block List or Copy Blob becomes a `Microsoft.Storage.BlobCreated` event in the Event Grid schema,
 * delivered to the subscribed webhooks the way Event Grid does it: at least once, retried with backoff,
 * dead-lettered to a container when delivery keeps failing. Options deliver duplicates and shuffle the
 * order, for tests and chaos runs.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { IncomingMessage } from 'node:http';
import { BlobServiceClient } from '@azure/storage-blob';
import { BLOB_CREATED, CONTAINERS } from '../../shared/core/containers.js';
import { connectionString, DEV_ACCOUNT } from './azurite.js';
import { startObservingProxy } from './proxy.js';
import { trackDeliveries } from './deliveries.js';

export interface Subscription {
  name: string;
  container: string;
  /** Webhook URL, e.g. http://127.0.0.1:7071/runtime/webhooks/EventGrid?functionName=intake */
  endpoint: string;
}

export interface DeliveryOptions {
  /** Extra copies of every event (0: each event once). */
  duplicates: number;
  /** Each delivery waits a random 0..jitterMs, so events arrive out of order. */
  jitterMs: number;
  maxAttempts: number;
  initialRetryMs: number;
  maxRetryMs: number;
}

export interface EventGridOptions {
  /** Azurite's blob endpoint, e.g. http://127.0.0.1:10010/devstoreaccount1 */
  azuriteBlobEndpoint: string;
  azuriteQueueEndpoint: string;
  port?: number;
  host?: string;
  subscriptions?: Subscription[];
  delivery?: Partial<DeliveryOptions>;
}

export interface EventGridStats {
  /** Events some subscription wanted. */
  published: number;
  delivered: number;
  failedAttempts: number;
  deadLettered: number;
  pending: number;
}

export interface EventGrid {
  /** The blob endpoint to give clients (the proxy), with the account in the path like Azurite's. */
  blobEndpoint: string;
  setSubscriptions(subscriptions: Subscription[]): void;
  setDelivery(options: Partial<DeliveryOptions>): void;
  stats(): EventGridStats;
  /** Calls `listener` as each write that raises BlobCreated completes, in any container; returns its removal. */
  onBlobCreated(listener: (container: string) => void): () => void;
  /** Resolves once no delivery is pending or in flight. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export type BlobCreatedEvent = {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: Record<string, unknown>;
  dataVersion: string;
  metadataVersion: string;
};

const TOPIC = `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/imagegen-local/providers/Microsoft.Storage/storageAccounts/${DEV_ACCOUNT}`;
const DEFAULT_DELIVERY: DeliveryOptions = {
  duplicates: 0,
  jitterMs: 0,
  maxAttempts: 12,
  initialRetryMs: 500,
  maxRetryMs: 30_000,
};

/** Which write completed a blob, from the request that made it (the `data.api` Event Grid reports). */
function createdBy(req: IncomingMessage, url: URL): string | undefined {
  if (req.method !== 'PUT') return undefined;
  const comp = url.searchParams.get('comp');
  if (comp === 'blocklist') return 'PutBlockList';
  if (comp) return undefined; // blocks, metadata, properties, tags, leases…
  if (req.headers['x-ms-copy-source']) return 'CopyBlob';
  return req.headers['x-ms-blob-type'] ? 'PutBlob' : undefined;
}

/** The blob a request wrote, from its raw path: URL parsing would resolve '.' and '..' segments of the name. */
function writtenBlob(req: IncomingMessage): { rawPath: string; container: string; name: string } | undefined {
  const rawPath = (req.url ?? '/').split('?')[0]!;
  const parts = rawPath.split('/').filter(Boolean); // account, container, blob…
  if (parts.length < 3 || parts[0] !== DEV_ACCOUNT) return undefined;
  return { rawPath, container: decodeURIComponent(parts[1]!), name: parts.slice(2).map(decodeURIComponent).join('/') };
}

const header = (h: string | string[] | undefined) => (typeof h === 'string' ? h : undefined);

/** The proxy's events and their deliveries to the subscribed webhooks. */
class LocalEventGrid {
  subscriptions: Subscription[];
  delivery: DeliveryOptions;
  readonly stats = { published: 0, delivered: 0, failedAttempts: 0, deadLettered: 0 };
  readonly deliveries = trackDeliveries();
  readonly listeners = new Set<(container: string) => void>();
  private readonly direct: BlobServiceClient;
  private sequencer = 0;

  constructor(private readonly options: EventGridOptions) {
    this.direct = BlobServiceClient.fromConnectionString(
      connectionString(options.azuriteBlobEndpoint, options.azuriteQueueEndpoint),
    );
    this.subscriptions = options.subscriptions ?? [];
    this.delivery = { ...DEFAULT_DELIVERY, ...options.delivery };
  }

  /** A write the proxy saw complete: an event when it created a blob, and a word to the listeners. */
  completed(req: IncomingMessage, up: http.IncomingMessage): void {
    const api = up.statusCode === 201 ? createdBy(req, new URL(req.url ?? '/', 'http://proxy')) : undefined;
    if (!api) return;
    void this.raise(req, api, up).catch(() => undefined);
    const container = decodeURIComponent((req.url ?? '/').split('?')[0]!.split('/').filter(Boolean)[1] ?? '');
    for (const listener of this.listeners) listener(container);
  }

  private async deadLetter(subscription: Subscription, event: BlobCreatedEvent, reason: string): Promise<void> {
    this.stats.deadLettered++;
    const at = new Date();
    const name = `${subscription.name}/${at.toISOString().slice(0, 13).replace(/[-T]/g, '/')}/${randomUUID()}.json`;
    const body = JSON.stringify([
      { ...event, deadLetterReason: reason, deliveryAttempts: this.delivery.maxAttempts, lastDeliveryOutcome: reason },
    ]);
    const container = this.direct.getContainerClient(CONTAINERS.deadLetter);
    await container.createIfNotExists();
    await container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body));
  }

  private async deliver(subscription: Subscription, event: BlobCreatedEvent): Promise<void> {
    const { deliveries } = this;
    if (this.delivery.jitterMs > 0) await deliveries.wait(Math.random() * this.delivery.jitterMs);
    const failed = await deliveries.retry(
      this.delivery,
      (deliveryCount) =>
        fetch(subscription.endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'aeg-event-type': 'Notification',
            'aeg-subscription-name': subscription.name.toUpperCase(),
            'aeg-delivery-count': String(deliveryCount),
          },
          body: JSON.stringify([event]),
          signal: AbortSignal.timeout(60_000),
        }),
      () => this.stats.failedAttempts++,
    );
    if (failed === undefined) {
      this.stats.delivered++;
      return;
    }
    if (!deliveries.closed) await this.deadLetter(subscription, event, failed);
  }

  private publish(event: BlobCreatedEvent, container: string): void {
    const matching = this.subscriptions.filter((s) => s.container === container);
    if (matching.length) this.stats.published++;
    for (const subscription of matching) {
      for (let copy = 0; copy <= this.delivery.duplicates; copy++) {
        this.deliveries.track(this.deliver(subscription, event));
      }
    }
  }

  private async raise(req: IncomingMessage, api: string, response: http.IncomingMessage): Promise<void> {
    const blob = writtenBlob(req);
    if (!blob) return;
    const { rawPath, container, name } = blob;
    let contentLength = api === 'PutBlob' ? Number(req.headers['content-length'] ?? 0) : undefined;
    let contentType = header(req.headers['x-ms-blob-content-type']);
    if (contentLength === undefined) {
      // Put Block List and Copy Blob do not carry the blob's size; ask storage (as Event Grid knows it).
      const props = await this.direct
        .getContainerClient(container)
        .getBlobClient(name)
        .getProperties()
        .catch(() => undefined);
      contentLength = props?.contentLength;
      contentType ??= props?.contentType;
    }
    const data = {
      api,
      clientRequestId: header(req.headers['x-ms-client-request-id']) ?? randomUUID(),
      requestId: header(response.headers['x-ms-request-id']) ?? randomUUID(),
      eTag: header(response.headers.etag)?.replace(/"/g, ''),
      contentType: contentType ?? 'application/octet-stream',
      contentLength: contentLength ?? 0,
      blobType: 'BlockBlob',
      accessTier: 'Default',
      url: `${this.options.azuriteBlobEndpoint.replace(/\/[^/]+$/, '')}${rawPath}`,
      sequencer: String(++this.sequencer).padStart(32, '0'),
      storageDiagnostics: { batchId: randomUUID() },
    };
    const subject = `/blobServices/default/containers/${container}/blobs/${name}`;
    const eventTime = new Date().toISOString();
    this.publish(
      {
        id: randomUUID(),
        topic: TOPIC,
        subject,
        eventType: BLOB_CREATED,
        eventTime,
        data,
        dataVersion: '',
        metadataVersion: '1',
      },
      container,
    );
  }
}

export async function startEventGrid(options: EventGridOptions): Promise<EventGrid> {
  const grid = new LocalEventGrid(options);
  const proxy = await startObservingProxy({
    target: new URL(options.azuriteBlobEndpoint).origin,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host ? { host: options.host } : {}),
    onCompleted: (req, up) => grid.completed(req, up),
  });
  const { deliveries, listeners } = grid;
  return {
    blobEndpoint: `http://${options.host ?? '127.0.0.1'}:${proxy.port}/${DEV_ACCOUNT}`,
    setSubscriptions: (s) => (grid.subscriptions = s),
    setDelivery: (d) => (grid.delivery = { ...grid.delivery, ...d }),
    stats: () => ({ ...grid.stats, pending: deliveries.pending }),
    onBlobCreated: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    idle: () => deliveries.idle(),
    close: async () => {
      await Promise.all([deliveries.close(), proxy.close()]);
    },
  };
}
