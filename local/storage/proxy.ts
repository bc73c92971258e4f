/**
 * A pass-through HTTP proxy in front of an Azurite service that lets the local runtime observe storage
 * operations as they complete, the way Azure raises Event Grid events from the writes themselves.
 */
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { guardLoopback } from '../loopback-guard.js';

export interface ObservingProxy {
  port: number;
  close(): Promise<void>;
}

export async function startObservingProxy(options: {
  /** The service's base URL, e.g. http://127.0.0.1:10010 */
  target: string;
  port?: number;
  host?: string;
  /** Called once the response to `req` has been passed on in full. */
  onCompleted(req: IncomingMessage, response: IncomingMessage): void;
}): Promise<ObservingProxy> {
  const target = new URL(options.target);
  const sockets = new Set<Socket>();
  const proxy = http.createServer((req, res) => {
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        up.on('end', () => options.onCompleted(req, up));
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  guardLoopback(proxy);
  proxy.keepAliveTimeout = 5_000;
  proxy.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (proxy.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
