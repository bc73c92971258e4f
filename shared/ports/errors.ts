/**
 * The errors the storage ports throw (blob store, record store, index table, queues), one class per
 * failure a caller can act on. Adapters translate their SDK's errors into these at their boundary
 * (shared/adapters/azure/storage-errors.ts), and the in-memory adapters throw them directly, so use
 * cases test the class and never an HTTP status. Anything else a port throws is a fault to pass on.
 */

/** Base of every port error: `message` names the operation and the blob or row, `cause` is the SDK's error. */
export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The blob, record, row or message named is not there (404): it was removed or never written; treat as gone. */
export class NotFound extends StoreError {}

/**
 * A conditional write or read lost (412): the stored version is not the one the call named (ETag moved,
 * lease lost). Read again and decide again, or leave it to whoever won.
 */
export class ConditionFailed extends StoreError {}

/**
 * A create found something already there (409: an If-None-Match: * write, a table row created twice).
 * A ConditionFailed too, since both mean a conditional write lost; test for this class only where the two differ.
 */
export class AlreadyExists extends ConditionFailed {}

/** Someone else changed (or created) the blob or record first: a conditional write lost. */
export const isConflict = (err: unknown): err is ConditionFailed => err instanceof ConditionFailed;

/** The blob or record is not there. */
export const isNotFound = (err: unknown): err is NotFound => err instanceof NotFound;
