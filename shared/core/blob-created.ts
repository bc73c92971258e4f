/**
 * BlobCreated events in the Event Grid schema (what Azure delivers, the local host emulates and Event
 * Grid dead-letters). Pure: the function entrypoints pass the event through here.
 */
import { BLOB_CREATED, BLOB_CREATED_APIS } from './containers.js';

export type BlobCreated =
  | {
      ok: true;
      container: string;
      blobName: string;
      etag: string | undefined;
      api: string | undefined;
      contentLength: number | undefined;
    }
  | { ok: false; reason: string };

const SUBJECT = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/;

export function parseBlobCreated(raw: unknown): BlobCreated {
  const event = raw as { eventType?: string; type?: string; subject?: string; data?: Record<string, unknown> } | null;
  if (!event || typeof event !== 'object') return { ok: false, reason: 'not an event' };
  const type = event.eventType ?? event.type;
  if (type !== BLOB_CREATED) return { ok: false, reason: `ignoring ${type ?? 'an event without a type'}` };
  const m = SUBJECT.exec(event.subject ?? '');
  if (!m) return { ok: false, reason: `unexpected subject ${JSON.stringify(event.subject)}` };
  const data = event.data ?? {};
  const api = typeof data.api === 'string' ? data.api : undefined;
  if (api && !(BLOB_CREATED_APIS as readonly string[]).includes(api))
    return { ok: false, reason: `ignoring BlobCreated from ${api}` };
  return {
    ok: true,
    container: m[1]!,
    blobName: m[2]!,
    etag: typeof data.eTag === 'string' ? data.eTag : undefined,
    api,
    contentLength: typeof data.contentLength === 'number' ? data.contentLength : undefined,
  };
}
