/**
 * Starting several servers in a row: when one fails to start (a taken port, a bad setting), the ones already
 * listening are closed again, so a failed start leaves no open port and no process kept alive.
 */
export interface Closable {
  close(): Promise<void>;
}

/** Adds a started part to the list of those to close if a later one fails; returns the part. */
export type Opened = <C extends Closable>(part: C) => C;

/** Runs `build` with an `opened` list it adds each started part to; closes them in reverse order if it throws. */
export async function startInOrder<T>(build: (opened: Opened) => Promise<T>): Promise<T> {
  const parts: Closable[] = [];
  try {
    return await build((part) => (parts.push(part), part));
  } catch (err) {
    for (const part of parts.reverse()) await part.close().catch(() => undefined);
    throw err;
  }
}
