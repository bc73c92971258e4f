/**
 * A `fetch` for the `openai` SDK over node:http(s) that writes a multipart body to the socket as it
 * reads it, parts from storage included (./streaming-parts.ts), and hands back the response as a
 * stream. Node's own fetch (undici) holds about three times a multipart body in memory while sending
 * it, whether the body is a FormData, a Blob or a stream (BENCHMARKS.md (d)); with 16 calls of
 * 1536x1024 images in flight that alone was over 250 MB.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodeMultipart } from './streaming-parts.js';

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

function responseHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
  }
  return headers;
}

/** The request body as bytes to stream, and the headers it implies. */
interface Body {
  stream?: Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
  type?: string;
  length?: number;
}

async function bodyOf(body: RequestInit['body']): Promise<Body> {
  if (body === undefined || body === null) return {};
  if (body instanceof FormData) {
    const form = await encodeMultipart(body);
    return { stream: form.body, type: form.contentType, length: form.length };
  }
  if (typeof body === 'string') {
    const bytes = Buffer.from(body, 'utf8');
    return { stream: [bytes], length: bytes.length };
  }
  if (ArrayBuffer.isView(body)) {
    const bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
    return { stream: [bytes], length: bytes.byteLength };
  }
  if (body instanceof ArrayBuffer) return { stream: [new Uint8Array(body)], length: body.byteLength };
  if (body instanceof Blob) return { stream: Readable.fromWeb(body.stream() as never), length: body.size };
  if (body instanceof ReadableStream) return { stream: Readable.fromWeb(body as never) };
  throw new TypeError(`streamingFetch: unsupported body ${Object.prototype.toString.call(body)}`);
}

/** Errors of requests whose connection never opened: nothing of the request reached the server. */
const unsent = new WeakSet<object>();

/** Whether this error (or one it wraps, as the SDK's "Connection error." does) came before the connection opened. */
export function failedBeforeSending(err: unknown): boolean {
  for (let e = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) if (unsent.has(e)) return true;
  return false;
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new DOMException('The operation was aborted.', 'AbortError');
}

export async function streamingFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  if (input instanceof Request) throw new TypeError('streamingFetch takes a URL and options, not a Request');
  const url = new URL(input);
  const signal = init.signal ?? undefined;
  if (signal?.aborted) throw abortError(signal);
  const headers = new Headers(init.headers);
  const body = await bodyOf(init.body);
  if (body.type && !headers.has('content-type')) headers.set('content-type', body.type);
  if (body.length !== undefined) headers.set('content-length', String(body.length));
  else if (body.stream) headers.set('transfer-encoding', 'chunked');
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<Response>((resolve, reject) => {
    const req = client.request(url, {
      method: init.method ?? 'GET',
      headers: Object.fromEntries(headers),
      agent: url.protocol === 'https:' ? agents.https : agents.http,
    });
    const onAbort = () => req.destroy(abortError(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    // A socket reused from the pool was open already; a new one counts once its connection is made.
    let connected = false;
    req.once('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    req.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      if (!connected) unsent.add(err);
      reject(err);
    });
    req.once('response', (res) => {
      // An abort after the headers (the SDK's timeout) still ends the body stream with the error.
      const status = res.statusCode ?? 502;
      const nullBody = status === 204 || status === 304 || init.method === 'HEAD';
      resolve(
        new Response(nullBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
          status,
          statusText: res.statusMessage ?? '',
          headers: responseHeaders(res.headers),
        }),
      );
      res.once('close', () => signal?.removeEventListener('abort', onAbort));
    });
    if (!body.stream) req.end();
    // A part that fails mid-way (storage gone, a changed blob) destroys the request with its error.
    else pipeline(Readable.from(body.stream), req).catch((err: unknown) => req.destroy(err as Error));
  });
}

/** The SDK tests whether a fetch handles FormData by calling it on a data: URL unless it names its Response. */
streamingFetch.Response = Response;
