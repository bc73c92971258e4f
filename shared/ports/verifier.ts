/**
 * The provenance gate as the use cases call it: judge a file's C2PA Content Credentials against the gate
 * policy (the model output), or against the publisher's identity (a composite). adapters/c2pa/ is c2pa-rs.
 */
import { type C2paReading, type GateContext, type GatePolicy, type ProvenanceReport } from '../core/provenance/gate.js';

import { X509Certificate } from 'node:crypto';
import type { KnownEdit } from '../core/provenance/known-edit.js';

export interface Verifier {
  readonly policy: GatePolicy;
  /**
   * Judges a file. Given a loader instead of bytes, it loads the file only when its turn comes, so a
   * process judging many large files at once holds one of them at a time.
   */
  verify(input: Uint8Array | (() => Promise<Uint8Array>), context: GateContext): Promise<ProvenanceReport>;
  /** The c2pa-rs read alone (what `verify` costs beyond it is the gate), for benchmarks. */
  read(bytes: Uint8Array): Promise<C2paReading>;
}

export interface TrustOptions {
  /** Drop Microsoft's roots (the CLI's --no-default-trust). */
  noDefaultTrust?: boolean;
  extraPems?: string[];
}

export interface CompositeVerifier {
  identity: PublisherIdentity;
  verify(input: Uint8Array | (() => Promise<Uint8Array>), context: CompositeContext): Promise<ProvenanceReport>;
  /**
   * Which rules a file's active manifest (by label) calls for: `publisher` when it is signed with the
   * pinned publisher's key (composite rules, the only way to publish as a composite); `claims-publisher`
   * when someone else signed a manifest that says the pipeline composited it (judged by composite rules
   * too, so the refusal names the signer); otherwise `other` (a model output's rules).
   */
  rulesFor(bytes: Uint8Array, activeLabel: string): 'publisher' | 'claims-publisher' | 'other';
}

export interface PublisherIdentity {
  /** The signer's certificate; its public key is pinned: a composite signed by any other key is not the publisher's. */
  leaf: X509Certificate;
  /** SHA-256 of the leaf's SubjectPublicKeyInfo (the pin; a renewed certificate for the same key keeps it). */
  spki: string;
  /** The chain's self-signed root, the only anchor the publisher's own signature is checked against. */
  rootPem: string;
  name: string;
}

/** What the composite gate may be told beyond the ordinary gate's context. */
export interface CompositeContext extends GateContext {
  binding?: BindingExpectation;
  knownEdit?: KnownEdit;
}

export interface BindingExpectation {
  /** The model output's bytes as stored (`edited/…`, or the file given to `verify --edit`). */
  edit: Uint8Array;
  /** Compare the pixels too (the CLI does; the pipeline made them itself and checks the hash). */
  pixels: boolean;
}
