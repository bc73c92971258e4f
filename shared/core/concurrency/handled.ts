/**
 * `promise`, marked as handled: for a read started ahead of the step that needs it, whose failure matters
 * only if that step gets to await it (a Node process ends on an unhandled rejection).
 */
export function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
