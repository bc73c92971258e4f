/**
 * Fixed local ports: check them before anything starts, and say what to do when one is taken. A busy port
 * used to print Node's bare "listen EADDRINUSE" and leave the half-started runtime running.
 */
import net from 'node:net';

/** One fixed port a command listens on, what it serves, who else usually sits there, and the flag to move it. */
export interface PortUse {
  port: number;
  serves: string;
  usualHolder: string;
  flag: string;
  /** How the flag is passed through npm, e.g. `npm start --`, when the command is usually run that way. */
  viaNpm?: string;
}

export class PortBusyError extends Error {
  constructor(readonly use: PortUse) {
    super(
      `port ${use.port} (${use.serves}) is already in use on 127.0.0.1, probably by ${use.usualHolder}. ` +
        `Stop that, or use another port: ${use.flag} ${suggestedPort(use.port)}` +
        (use.viaNpm ? ` (${use.viaNpm} ${use.flag} ${suggestedPort(use.port)})` : ''),
    );
  }
}

// Another port nearby that is easy to remember; not checked (it may be taken too, and then says so).
const suggestedPort = (port: number) => (port >= 65_000 ? port - 100 : port + 100);

/** Whether nothing listens on `port` at `host` (binding a specific address fails when the wildcard holds it). */
export function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** Throws a PortBusyError for the first busy one of these ports (port 0, "any free one", is skipped). */
export async function ensurePortsFree(uses: readonly PortUse[]): Promise<void> {
  for (const use of uses) if (use.port !== 0 && !(await portIsFree(use.port))) throw new PortBusyError(use);
}

/** A listen error that reached us anyway (a port taken between the check and the start), in the same words. */
export function explainListenError(err: unknown, uses: readonly PortUse[]): unknown {
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (e?.code !== 'EADDRINUSE') return err;
  const use = uses.find((u) => u.port === e.port);
  return use ? new PortBusyError(use) : err;
}

const LOCAL_RUNTIME = 'another `npm start` (or Azurite)';

/** The ports `start` listens on, with the flags that move them. */
export function startPorts(p: { blob: number; queue: number; emulator?: number[]; host: number }): PortUse[] {
  const uses: PortUse[] = [
    { port: p.blob, serves: 'blob storage', usualHolder: LOCAL_RUNTIME, flag: '--blob-port' },
    { port: p.queue, serves: 'queue storage', usualHolder: LOCAL_RUNTIME, flag: '--queue-port' },
    ...(p.emulator ?? []).map((port) => ({
      port,
      serves: 'the gpt-image emulator',
      usualHolder: 'another `npm start` or `imagegen-pipeline emulator`',
      flag: '--emulator-port',
    })),
    {
      port: p.host,
      serves: 'the Functions host and console',
      usualHolder: 'another `npm start`, `imagegen-pipeline host` or `func start`',
      flag: '--port',
    },
  ];
  return uses.map((u) => ({ ...u, viaNpm: 'npm start --' }));
}
