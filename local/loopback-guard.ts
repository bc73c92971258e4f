/**
 * The one gate in front of every server the local runtime opens (storage, Event Grid, outcome topic,
 * emulator, Functions host). Listening on 127.0.0.1 is not enough: a web page that rebinds its own domain
 * to 127.0.0.1 (DNS rebinding) reaches these ports with `Host: its.domain:PORT`, and the storage and
 * emulator keys are public. So a request is answered only when its Host names a loopback address on the
 * server's own port, and a state-changing request carrying an Origin only when that Origin is the
 * server's own (the console's page on the host). Everything else is refused before any handler runs.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** `host[:port]` as a URL reads it; undefined when it is anything more. */
function parseAuthority(authority: string): URL | undefined {
  try {
    const url = new URL(`http://${authority}`);
    return url.host === authority.toLowerCase() ? url : undefined;
  } catch {
    return undefined;
  }
}

/** An Origin header's URL when it is exactly an origin (`scheme://host[:port]`); `null` and the like are not. */
function parseOrigin(origin: string): URL | undefined {
  try {
    const url = new URL(origin);
    return url.origin === origin.toLowerCase() ? url : undefined;
  } catch {
    return undefined;
  }
}

const portOf = (url: URL) => Number(url.port || (url.protocol === 'https:' ? 443 : 80));
const isLoopbackOn = (url: URL, port: number) => LOOPBACK_NAMES.has(url.hostname) && portOf(url) === port;

/** Why `req` is refused by a server listening on `port`, or undefined when it may go on. */
export function loopbackRefusal(
  req: Pick<IncomingMessage, 'headers' | 'method'>,
  port: number,
): { status: 421 | 403; reason: string } | undefined {
  const host = req.headers.host;
  const addressed = host === undefined ? undefined : parseAuthority(host);
  if (!addressed || !isLoopbackOn(addressed, port)) {
    return {
      status: 421,
      reason: `this local server answers only to 127.0.0.1, localhost or [::1] on port ${port}, not ${JSON.stringify(host ?? '(no Host)')}`,
    };
  }
  const origin = req.headers.origin;
  if (origin === undefined || SAFE_METHODS.has(req.method ?? 'GET')) return undefined;
  const from = parseOrigin(origin);
  if (from?.protocol === 'http:' && isLoopbackOn(from, port)) return undefined;
  return { status: 403, reason: `${req.method} from a page of another origin (${origin}) is refused here` };
}

/**
 * Puts the gate in front of every request listener `server` has now (its handler, or Azurite's): they
 * see only requests that pass `loopbackRefusal` for the port the server listens on.
 */
export function guardLoopback(server: Server): void {
  const listeners = server.listeners('request') as Listener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // A server closing under a late request has no address any more: nothing is addressed to it then.
    const address = server.address() as AddressInfo | null;
    const refusal = loopbackRefusal(req, address?.port ?? -1);
    if (!refusal) return listeners.forEach((l) => l.call(server, req, res));
    // The body is not read: the connection closes once the one-line answer is out (JSON, like the host's errors).
    res.writeHead(refusal.status, { 'content-type': 'application/json', connection: 'close' });
    res.end(`${JSON.stringify({ error: refusal.reason })}\n`);
  });
}
