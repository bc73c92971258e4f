/** A page of the console: it builds itself into `main` and stops its polling when the route changes. */
export interface Page {
  close(): void;
}

/** Runs `tick` now, then again `everyMs` after each run ends, until it answers false or the page closes. */
export function pollingPage(tick: () => Promise<boolean | void>, everyMs: number): Page {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const run = async () => {
    if ((await tick()) === false) return;
    if (!closed) timer = setTimeout(() => void run(), everyMs);
  };
  void run();
  return {
    close: () => {
      closed = true;
      clearTimeout(timer);
    },
  };
}
