/**
 * What c2pa-rs 0.92 is told to trust, by kind. It keeps separate anchor lists for claim signers
 * (`manifest`), time-stamp authorities (`tsa`) and CAWG identities (`cawg`); a root in the wrong list
 * does not count. The gate configures the first two and leaves CAWG empty: it does not rely on
 * identity assertions.
 */
import { CLAIM_SIGNER_EKUS, MICROSOFT_CLAIM_ROOT_PEM, MICROSOFT_TIME_STAMP_ROOT_PEM } from './default-trust.js';

export interface TrustLists {
  /** PEM roots a claim signer's chain may end in. */
  manifest: string;
  /** PEM roots an RFC 3161 time-stamp's signer may chain to. */
  timeStamp: string;
}

/**
 * Microsoft's roots, each in its own kind (unless `noDefaultTrust`), plus the extra anchors in both
 * kinds: a bundle such as the emulator's holds a signing root and a TSA root without saying which is
 * which, and the EKU rules keep a time-stamping certificate from passing as a claim signer.
 */
export function trustLists(extraPems: string[], noDefaultTrust = false): TrustLists {
  const join = (defaults: string) => [...(noDefaultTrust ? [] : [defaults]), ...extraPems].join('\n');
  return { manifest: join(MICROSOFT_CLAIM_ROOT_PEM), timeStamp: join(MICROSOFT_TIME_STAMP_ROOT_PEM) };
}

/** The `trust` section of c2pa-rs's settings. */
export function trustSettings(lists: TrustLists) {
  const anchors = [
    { trust_kind: 'manifest', trust_anchors: lists.manifest },
    { trust_kind: 'tsa', trust_anchors: lists.timeStamp },
  ].filter((a) => a.trust_anchors.trim());
  // use_default_ekus: false, or c2pa-rs adds its built-in EKU list to this one and this is no longer the whole list.
  return { anchors, trust_config: CLAIM_SIGNER_EKUS.join('\n'), use_default_ekus: false };
}

/**
 * c2pa-rs settings for reading with full trust checks. verify_timestamp_trust is spelled out: set to
 * false, c2pa-rs reports any time-stamp as trusted and then judges an expired signer at its time.
 */
export function readerSettings(lists: TrustLists): string {
  return JSON.stringify({
    trust: trustSettings(lists),
    verify: { verify_trust: true, verify_timestamp_trust: true, remote_manifest_fetch: false, ocsp_fetch: false },
  });
}
