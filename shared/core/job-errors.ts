/**
 * The codes a job's `error` (and each history entry's) carries: what went wrong, in a word a report, the
 * console and a subscriber can test. The values are stored in job records and rejection reports and listed
 * in the README ("Error codes"): never change one. Besides these, a model call's failure keeps the model
 * service's own code (Azure's `error.code`, or its HTTP status when it gave none), passed on verbatim.
 * Pure: no imports, so the console's browser bundle can use it too.
 */
export const JOB_ERROR = {
  /** Intake: a part's name breaks the naming rules (characters, length, extension); rename it and upload again. */
  badName: 'bad_name',
  /** Intake: the drop has more than one image for one stem; keep exactly one and upload again. */
  ambiguousDrop: 'ambiguous_drop',
  /** Intake: a part failed validation (format, size, dimensions, sidecar, prompt); fix it and upload again. */
  invalidDrop: 'invalid_drop',
  /** Intake: the mask marks nothing (no transparent pixel), cannot be decoded or is too large; fix it, upload again. */
  invalidMask: 'invalid_mask',
  /** Sweep: an image or its mask never arrived before `DROP_DEADLINE`; upload the missing part with the other. */
  incompleteDrop: 'incomplete_drop',
  /** Intake: the same image, mask, sidecar and prompt already have a result; nothing to do (change one to redo it). */
  redrop: 'redrop',
  /** Edit: the image or mask was replaced or deleted, or a newer upload was edited first; the newer upload stands. */
  superseded: 'superseded',
  /** Edit: the inputs could not be prepared for the model; check the image and mask open, and upload again. */
  unusableInput: 'unusable_input',
  /** Edit: another write discarded the attempt's output before it was recorded (retried); nothing to do. */
  outputDiscarded: 'output_discarded',
  /** Edit: Azure's content policy blocked the deployment (the job waits for another); check the deployment in Azure. */
  resourceBlocked: 'resource_blocked',
  /** Model call: the connection failed (retried); check `AZURE_OPENAI_ENDPOINT` and the network if it persists. */
  connection: 'connection',
  /** Model call: no answer within the client's timeout (retried); Azure may still have billed it. */
  timeout: 'timeout',
  /** Model call: the answer carried no image (retried); a model-side problem, try again later if it persists. */
  emptyResponse: 'empty_response',
  /** Model call: the answer ended inside its image (retried); a connection or model-side problem. */
  incompleteResponse: 'incomplete_response',
  /** Model call: the answer's image is not the format asked for, or is unusable (retried); a model-side problem. */
  invalidOutput: 'invalid_output',
  /** Edit and sweep: the last of `IMAGE_MODEL_MAX_ATTEMPTS` workers was lost mid-call; check the logs, upload again. */
  workerLost: 'worker_lost',
  /** Sweep: the edit worker kept crashing on the job's message; see the function's logs, then upload again. */
  poison: 'poison',
  /** Publish: the result's name already holds another drop's result; rename the drop (or remove that result). */
  nameTaken: 'name_taken',
  /** Publish: the provenance gate quarantined the output; its report in `quarantine/` says which check failed. */
  provenance: 'provenance',
} as const;

/** A code the model service returned, passed on verbatim (`DeploymentNotFound`, `contentFilter`, `503`, …). */
export type ServiceErrorCode = string & { readonly __serviceErrorCode: never };

/** Marks a code as the model service's own, where the model adapter reads it from the answer. */
export const serviceErrorCode = (code: string): ServiceErrorCode => code as ServiceErrorCode;

/** One of the pipeline's own codes (above). */
export type PipelineErrorCode = (typeof JOB_ERROR)[keyof typeof JOB_ERROR];

export type JobErrorCode = PipelineErrorCode | ServiceErrorCode;
