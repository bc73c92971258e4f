import type { OutcomeEventsConfig, PipelineConfig } from '../core/config.js';
import type { SpanRecord } from '../core/spans.js';
import type { ImageTools } from '../ports/imaging.js';
import type { OutcomeTopic } from '../ports/outcome-topic.js';
import { type BlobStore } from '../ports/blob-store.js';
import { type EditQueue, type PoisonQueue } from '../ports/edit-queue.js';
import { Ledger } from './ledger.js';
import type { Verifier } from '../ports/verifier.js';
import type { Publisher } from '../ports/publisher.js';
import { type DeploymentPool } from './deployment-pool.js';
import { KeyedLock } from '../core/concurrency/keyed-lock.js';
import { Semaphore } from '../core/concurrency/semaphore.js';

/** What intake, edit, publish and sweep run against. */
export interface JobContext {
  config: PipelineConfig;
  ledger: Ledger;
  /** The model deployments, each with its shared schedule, circuit breaker and client. */
  pool: DeploymentPool;
  blobs: BlobStore;
  queue: EditQueue;
  poison: PoisonQueue;
  /** Mask checks and the model's inputs (sharp). */
  imaging: ImageTools;
  /** The outcome topic of the OUTCOME_EVENT_* settings. */
  outcomeTopic(config: OutcomeEventsConfig): OutcomeTopic;
  verifier(): Promise<Verifier>;
  /** The publisher that signs and judges full-size composites; undefined when none is configured. */
  publisher?(): Promise<Publisher | undefined>;
  /** Model calls in flight in this process. */
  modelSlots: Semaphore;
  /** One intake at a time per drop in this process (./intake.ts). */
  dropIntakes: KeyedLock;
  /** Intakes doing their reads and writes at once in this process (./intake.ts). */
  intakeSlots: Semaphore;
  /** Names this process in leases. */
  workerId: string;
  now(): Date;
  /**
   * The finished spans this process keeps, for the console's traces and charts; undefined when it keeps
   * none (on Azure they go to Application Insights). Absent: none kept.
   */
  spans?(): readonly SpanRecord[] | undefined;
}
