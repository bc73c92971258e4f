/**
 * The one place the Azure storage SDKs' errors become the ports' errors (shared/ports/errors.ts). Blob,
 * queue and table clients all throw `RestError` (from @azure/core-rest-pipeline) with the HTTP status;
 * every status a caller acts on is mapped here, everything else is passed on untouched.
 */
import { RestError } from '@azure/storage-blob';
import { AlreadyExists, ConditionFailed, NotFound, type StoreError } from '../../ports/errors.js';

/** The HTTP status of a storage SDK error (tested by shape too: a second copy of the SDK has its own class). */
export function statusOf(err: unknown): number | undefined {
  return err instanceof RestError ? err.statusCode : (err as { statusCode?: number } | undefined)?.statusCode;
}

/** The service's error code (`BlobNotFound`, `UpdateConditionNotSatisfied`, `InvalidBlockList`…). */
export const codeOf = (err: unknown): string | undefined => {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

const PORT_ERRORS: Record<number, new (message: string, options: { cause: unknown }) => StoreError> = {
  404: NotFound,
  // Blob Storage answers an If-None-Match: * write over an existing blob with 409 BlobAlreadyExists (Azure) or
  // 412 (some emulators); Table Storage a create of an existing row with 409 EntityAlreadyExists.
  409: AlreadyExists,
  // ConditionNotMet (blobs), UpdateConditionNotSatisfied (tables), a lost lease.
  412: ConditionFailed,
};

/** SDK-level tests, for use inside the Azure adapters only (callers of a port test the port's classes). */
export const isSdkNotFound = (err: unknown) => statusOf(err) === 404;
/** 412 (condition failed) or 409 (already exists): someone else changed the blob first. */
export const isSdkConflict = (err: unknown) => statusOf(err) === 412 || statusOf(err) === 409;

/**
 * The port error for `err` (`what`: the operation and the blob or row, for the message), or `err` itself
 * when its status is not one a caller acts on.
 */
export function toPortError(err: unknown, what: string): unknown {
  const status = statusOf(err);
  const PortError = status === undefined ? undefined : PORT_ERRORS[status];
  if (!PortError) return err;
  const detail = codeOf(err) ?? (err as Error).message;
  return new PortError(`${what}: ${status} ${detail}`, { cause: err });
}

/** Runs one SDK call, throwing its error as the port's. */
export async function translated<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toPortError(err, what);
  }
}

/** An SDK listing whose failures surface as the port's errors. */
export async function* translatedIteration<T>(what: string, items: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* items;
  } catch (err) {
    throw toPortError(err, what);
  }
}
