/**
 * The image model port: one images/edits call and what came of it, classified so the edit step can
 * decide (retry, wait, blame the drop or the settings). adapters/azure/openai-model.ts is Azure OpenAI.
 */
import type { JobErrorCode, ServiceErrorCode } from '../core/job-errors.js';
import type { SettingName } from '../core/config.js';
import type { EditRequest } from '../core/validation.js';
import type { StagedOutput } from './blob-store.js';
import { type TokenUsage } from '../core/cost.js';

export interface EditInput {
  /**
   * The image, typed with its real content type (the service rejects application/octet-stream): in
   * memory, or an UploadPart read from storage while the request is sent.
   */
  image: Blob | UploadPart;
  imageName: string;
  /** The mask, a PNG. */
  mask: Blob | UploadPart;
  request: EditRequest;
  /** Sent as `x-ms-client-request-id`, so a call can be traced from the job and back. */
  clientRequestId: string;
  /**
   * Takes the answer's image as it is decoded and checked, and stages it in storage (the blob store port); it is
   * committed as the output once the edit step has the answer.
   */
  output: (image: AsyncIterable<Buffer>) => Promise<StagedOutput>;
}

export interface Reply {
  requestId?: string | undefined;
  /** `x-ratelimit-remaining-requests`, when the service sent it. */
  remaining?: number | undefined;
}

export type ModelOutcome =
  /** `usage`: the answer's token counts, when it reported them (what the call is billed by). */
  | (Reply & { kind: 'ok'; output: StagedOutput; contentType: string; usage?: TokenUsage | undefined })
  | (Reply & { kind: 'throttled'; retryAfterMs: number; message: string })
  | (Reply & { kind: 'refused'; code: ServiceErrorCode; message: string })
  | (Reply & { kind: 'invalid'; status: number; code: ServiceErrorCode; message: string })
  /**
   * `notSent`: the connection failed before any of the request left (nothing reached the service).
   * `unanswered`: the request was sent and no answer came (a 408/504 past Azure's synchronous limit, the
   * client's timeout, a dropped connection): Azure may have finished, and billed, the edit.
   */
  | (Reply & { kind: 'transient'; code: JobErrorCode; message: string; notSent?: boolean; unanswered?: boolean })
  /** The app's settings point at no usable deployment or route: retried, never blamed on the drop. */
  | (Reply & { kind: 'misconfigured'; setting: ModelSetting; code: ServiceErrorCode; message: string })
  /** Azure blocked the whole resource (content policy): the deployment is out, the drop is not at fault. */
  | (Reply & { kind: 'blocked'; code: ServiceErrorCode; message: string });

/** The settings a misconfigured call is traced back to. */
export type ModelSetting = Extract<
  SettingName,
  'AZURE_OPENAI_ENDPOINT' | 'AZURE_OPENAI_DEPLOYMENT' | 'AZURE_OPENAI_API_VERSION' | 'IMAGE_MODEL'
>;

/** Which data-plane route the client calls. */
export type ModelRoute = 'v1' | 'deployment';

export interface ImageModel {
  edit(input: EditInput): Promise<ModelOutcome>;
}

/** A file the upload reads when it gets to it. */
export interface UploadPart {
  /** The file name sent in the form. */
  name: string;
  /** Its content type (the service rejects application/octet-stream). */
  type: string;
  /** Its exact size: the body's Content-Length is known before a byte is read. */
  size: number;
  open(): Promise<AsyncIterable<Uint8Array>>;
}
