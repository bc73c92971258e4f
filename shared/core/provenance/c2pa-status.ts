/**
 * The c2pa-rs validation status codes the pipeline relies on, by name: values of the C2PA spec's
 * "Standard Status Codes" table, as c2pa-rs reports them (its `validation_status` constants, defined in
 * `validation_results::validation_codes`). The gate matches each to the exact JUMBF URI it speaks for
 * (./gate.ts). Pure.
 */
export const C2PA_STATUS = {
  /** Success: the claim signature validated. Its URL is the manifest's `c2pa.signature` box. */
  claimSignatureValidated: 'claimSignature.validated',
  /** Success: the claim was signed inside the validity of the signing certificate. */
  claimSignatureInsideValidity: 'claimSignature.insideValidity',
  /** Success: the signing credential chains to an anchor on the validator's trust list. */
  signingCredentialTrusted: 'signingCredential.trusted',
  /** Failure: the signing credential had expired. */
  signingCredentialExpired: 'signingCredential.expired',
  /** Success: the time-stamp is well-formed, and its message imprint and validity are correct. */
  timeStampValidated: 'timeStamp.validated',
  /** Success: the time-stamp's authority is on the validator's trust list. */
  timeStampTrusted: 'timeStamp.trusted',
  /** Success: the hash of the asset's bytes matches the data hash assertion (`c2pa.hash.data`). */
  dataHashMatch: 'assertion.dataHash.match',
  /** Failure: the hash of the asset's bytes does not match the data hash assertion. */
  dataHashMismatch: 'assertion.dataHash.mismatch',
  /** Informational: the data hash assertion excludes more than the manifest store's own bytes. */
  dataHashAdditionalExclusions: 'assertion.dataHash.additionalExclusionsPresent',
  /** Success: the box-based asset's hash matches the general boxes hash assertion (`c2pa.hash.boxes`). */
  boxesHashMatch: 'assertion.boxesHash.match',
  /** Failure: the box-based asset's hash does not match the general boxes hash assertion. */
  boxesHashMismatch: 'assertion.boxesHash.mismatch',
  /** Failure: a malformed claim or assertion (c2pa-rs says so of Azure's soft binding: tolerated there by default). */
  claimMalformed: 'claim.malformed',
} as const;
