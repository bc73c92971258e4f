/** Names of the storage containers, tables and queues, and which container's events feed which function. */

export const CONTAINERS = {
  inbox: 'inbox',
  edited: 'edited',
  published: 'published',
  quarantine: 'quarantine',
  rejected: 'rejected',
  jobs: 'jobs',
  /** Where Event Grid puts events it could not deliver; the sweep replays them. */
  deadLetter: 'eventgrid-deadletter',
} as const;

/** A container as the code names it (its key in CONTAINERS), e.g. in the storage port's reads. */
export type ContainerName = keyof typeof CONTAINERS;

/** Table Storage: the jobs index (shared/app/jobs-index.ts). */
export const TABLES = { jobsIndex: 'jobsindex' } as const;

export const QUEUES = {
  edit: 'edit-jobs',
  /** Where the Functions host moves an edit message after `maxDequeueCount` failed attempts. */
  editPoison: 'edit-jobs-poison',
} as const;

/** Event Grid subscriptions: BlobCreated in `container` is delivered to `functionName`. */
export const EVENT_SUBSCRIPTIONS = [
  { name: 'inbox-to-intake', container: CONTAINERS.inbox, functionName: 'intake' },
  { name: 'edited-to-publish', container: CONTAINERS.edited, functionName: 'publish' },
] as const;

/** The Blob Storage operations that complete a blob (and so raise the BlobCreated events we act on). */
export const BLOB_CREATED_APIS = ['PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose'] as const;

export const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';
