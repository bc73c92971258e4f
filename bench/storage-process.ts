/**
 * The local storage (Azurite with its Event Grid) in its own OS process, as the storage account is its own
 * service on Azure. In the bench process it shared one event loop with the emulated deployments and the
 * uploads: while a burst's 540 uploads landed, a 1-byte read took up to 0.9 s, and the pipeline's intake
 * and queue pickup measured that wait rather than their own. Run as a script, it is the child:
 * `storage-process.js <host URL>` starts the storage, delivers the events to the host at that URL and
 * sends the connection string to the parent; it stops when the parent goes.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startLocalStorage, subscriptionsFor } from '../local/environment.js';

interface Ready {
  connectionString: string;
  /** Where blob requests go: the Event Grid in front of Azurite, raising events from the writes. */
  blobEndpoint: string;
  queueEndpoint: string;
  /** Azurite's table service: the jobs index. */
  tableEndpoint: string;
}

export interface StorageProcess extends Ready {
  pid: number;
  close(): Promise<void>;
}

const SCRIPT = fileURLToPath(import.meta.url);

/** Starts the storage in a child process whose Event Grid delivers to the host at `hostUrl`. */
export async function spawnStorage(hostUrl: string): Promise<StorageProcess> {
  const child = fork(SCRIPT, [hostUrl], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Ready));
    child.once('exit', (code) => reject(new Error(`the storage process exited (${code}) before it was ready`)));
  });
  return {
    ...ready,
    pid: child.pid!,
    async close() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    },
  };
}

async function serve(hostUrl: string): Promise<void> {
  const storage = await startLocalStorage();
  storage.eventGrid.setSubscriptions(subscriptionsFor(hostUrl));
  // The parent closing the channel (or dying) ends this process.
  process.once('disconnect', () => void storage.close().finally(() => process.exit(0)));
  const ready: Ready = {
    connectionString: storage.connectionString,
    blobEndpoint: storage.eventGrid.blobEndpoint,
    queueEndpoint: storage.queueEndpoint,
    tableEndpoint: storage.azurite.tableEndpoint,
  };
  process.send!(ready);
}

if (process.argv[1] === SCRIPT) await serve(process.argv[2]!);
