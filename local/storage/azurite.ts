/** Azurite's blob, queue and table services, in this process (in memory, or persisted to a folder). */
import { mkdirSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { guardLoopback } from '../loopback-guard.js';
import { indexAzuriteLookups } from './azurite-lookups.js';

const require = createRequire(import.meta.url);

/** Azurite's well-known development account; a public constant, not a secret. */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  blobPort?: number;
  queuePort?: number;
  tablePort?: number;
  host?: string;
  /** Persist to this folder; in memory when unset. */
  location?: string;
}

export interface Azurite {
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
  /** Azurite's own stores (LokiJS databases), for bench (h) to seed 100,000 jobs its write path cannot. */
  stores: { blob: unknown; table: unknown };
  close(): Promise<void>;
}

interface Server {
  /** Azurite's own HTTP server (a public field in its JavaScript, not in a declaration). */
  httpServer: HttpServer;
  /** Its metadata store (a public field too), holding a LokiJS database in `db`. */
  metadataStore: { db: unknown };
  start(): Promise<void>;
  close(): Promise<void>;
  getHttpServerAddress(): string;
}

type ServerClass = new (configuration: unknown) => Server;
type ConfigurationClass = new (...args: unknown[]) => unknown;

export function connectionString(blobEndpoint: string, queueEndpoint: string, tableEndpoint?: string): string {
  const table = tableEndpoint ? `TableEndpoint=${tableEndpoint};` : '';
  return `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};QueueEndpoint=${queueEndpoint};${table}`;
}

/** The table service's configuration takes fewer positional arguments than the blob and queue ones. */
function configureTable(Configuration: ConfigurationClass, host: string, port: number, location?: string): unknown {
  if (location !== undefined) mkdirSync(location, { recursive: true });
  const db = location === undefined ? '__azurite_db_table__.json' : path.join(location, '__azurite_db_table__.json');
  // host, port, keepAlive, metadataDB, debugLog, accessLog, accessLogStream, debugLogPath, loose,
  // skipApiVersionCheck, cert, key, pwd, oauth, disableProductStyleUrl, inMemory.
  const args = [host, port, undefined, db, false, false, undefined, undefined, true, true, '', '', ''];
  return new Configuration(...args, undefined, false, location === undefined);
}

function configure(
  Configuration: ConfigurationClass,
  kind: 'blob' | 'queue',
  host: string,
  port: number,
  location: string | undefined,
  memoryStore: unknown,
): unknown {
  const persisted = location !== undefined;
  if (persisted) mkdirSync(location, { recursive: true });
  const file = (name: string) => (persisted ? path.join(location, name) : name);
  // Azurite's configuration constructors take positional arguments:
  // host, port, keepAlive, metadataDB, extentDB, persistence, accessLog, accessLogStream, debugLog,
  // debugLogPath, loose, skipApiVersionCheck, cert, key, pwd, oauth, disableProductStyleUrl, inMemory, memoryStore.
  return new Configuration(
    host,
    port,
    undefined,
    file(`__azurite_db_${kind}__.json`),
    file(`__azurite_db_${kind}_extent__.json`),
    persisted
      ? [{ locationId: 'Default', locationPath: path.join(location, `__${kind}storage__`), maxConcurrency: 10 }]
      : undefined,
    false,
    undefined,
    false,
    undefined,
    true,
    true,
    '',
    '',
    '',
    undefined,
    false,
    !persisted,
    memoryStore,
  );
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const host = options.host ?? '127.0.0.1';
  indexAzuriteLookups();
  const BlobServer = (require('azurite/dist/src/blob/BlobServer') as { default: ServerClass }).default;
  const BlobConfiguration = (require('azurite/dist/src/blob/BlobConfiguration') as { default: ConfigurationClass })
    .default;
  const QueueServer = (require('azurite/dist/src/queue/QueueServer') as { default: ServerClass }).default;
  const QueueConfiguration = (require('azurite/dist/src/queue/QueueConfiguration') as { default: ConfigurationClass })
    .default;
  // In memory, Azurite defaults to one chunk store per process, which a second instance's garbage
  // collection and shutdown would empty; each instance gets its own.
  const { MemoryExtentChunkStore, DEFAULT_EXTENT_MEMORY_LIMIT } =
    require('azurite/dist/src/common/persistence/MemoryExtentStore') as {
      MemoryExtentChunkStore: new (limit: number) => unknown;
      DEFAULT_EXTENT_MEMORY_LIMIT: number;
    };
  const store = () =>
    options.location === undefined ? new MemoryExtentChunkStore(DEFAULT_EXTENT_MEMORY_LIMIT) : undefined;
  const blob = new BlobServer(
    configure(BlobConfiguration, 'blob', host, options.blobPort ?? 0, options.location, store()),
  );
  const queue = new QueueServer(
    configure(QueueConfiguration, 'queue', host, options.queuePort ?? 0, options.location, store()),
  );
  const TableServer = (require('azurite/dist/src/table/TableServer') as { default: ServerClass }).default;
  const TableConfiguration = (require('azurite/dist/src/table/TableConfiguration') as { default: ConfigurationClass })
    .default;
  const table = new TableServer(configureTable(TableConfiguration, host, options.tablePort ?? 0, options.location));
  // Azurite's own ports sit behind the proxies but are as reachable from a rebound page as theirs.
  for (const server of [blob, queue, table]) guardLoopback(server.httpServer);
  await Promise.all([blob.start(), queue.start(), table.start()]);
  const endpoint = (server: Server) =>
    `http://${host}:${server.getHttpServerAddress().split(':').pop()}/${DEV_ACCOUNT}`;
  return {
    blobEndpoint: endpoint(blob),
    queueEndpoint: endpoint(queue),
    tableEndpoint: endpoint(table),
    stores: { blob: blob.metadataStore.db, table: table.metadataStore.db },
    close: async () => {
      await Promise.all([blob.close(), queue.close(), table.close()]);
    },
  };
}
