/**
 * EXTRA_TRUST_ANCHORS and PUBLISHER_CERT_CHAIN as settings: where a bundle comes from (inline PEM, a
 * file, a blob of the app's own storage account, pinned by hash) and what is wrong with a value. Loading
 * it is adapters/c2pa/trust-anchors.ts.
 */

export const SETTING = 'EXTRA_TRUST_ANCHORS';

/** A PEM bundle of a few anchors is kilobytes; refuse anything that could not be one before reading it. */
export const MAX_ANCHOR_BYTES = 1024 * 1024;

export const PIN = /^#sha256=([0-9a-f]{64})$/i;

export const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

export type AnchorSource =
  | { kind: 'none' }
  | { kind: 'pem'; pem: string }
  | { kind: 'file'; path: string }
  | { kind: 'blob'; url: string; container: string; blobName: string; sha256: string };

/**
 * Reads the setting without any I/O. A URL must be a blob under `blobEndpoint` (the app's own account;
 * `undefined` where the app has none, as for `verify`) and carry a `#sha256=` pin; anything else is a
 * problem that names the setting and the fix.
 */
export function parseAnchorSetting(
  value: string,
  blobEndpoint: string | undefined,
): AnchorSource | { problem: string } {
  const text = value.trim();
  if (!text) return { kind: 'none' };
  if (text.includes('-----BEGIN')) return { kind: 'pem', pem: text };
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    // A leading `~/` is the home folder, which the loader resolves (adapters/c2pa/trust-anchors.ts).
    return { kind: 'file', path: text };
  }

  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: `${SETTING} is not a valid URL: "${text}"` };
  }
  const shown = `${url.origin}${url.pathname}`;
  const pin = PIN.exec(url.hash);
  if (!pin) {
    return {
      problem:
        `${SETTING} is a URL without a SHA-256 pin: append #sha256=<hex> with the file's hash (e.g. from \`sha256sum anchors.pem\`), ` +
        `so that whoever can write ${shown} cannot change what the gate trusts`,
    };
  }
  if (!blobEndpoint) {
    return {
      problem: `${SETTING} is a URL, which only the app reads (from its own storage account); here, give the PEM text or a file instead (verify: --trust FILE)`,
    };
  }
  const endpoint = new URL(blobEndpoint);
  const base = endpoint.pathname.replace(/\/+$/, '');
  const inAccount =
    url.origin === endpoint.origin && !url.username && !url.password && url.pathname.startsWith(`${base}/`);
  const [container, ...rest] = inAccount ? url.pathname.slice(base.length + 1).split('/') : [];
  if (!inAccount || !container || rest.length === 0 || rest.some((s) => s === '')) {
    return {
      problem:
        `${SETTING} must name a blob in the app's own storage account (${endpoint.origin}${base}/<container>/<blob>), got ${shown}: ` +
        'copy the PEM file into a container of that account, or set the PEM text itself',
    };
  }
  let blobName: string;
  try {
    blobName = rest.map(decodeURIComponent).join('/');
  } catch {
    return { problem: `${SETTING} has a malformed %-escape in its blob name: ${shown}` };
  }
  if (url.search) {
    return {
      problem: `${SETTING} must not carry a query string (a SAS is a secret in a setting): the app reads ${shown} with its own identity`,
    };
  }
  return { kind: 'blob', url: shown, container, blobName, sha256: pin[1]!.toLowerCase() };
}

/** The problem with the setting, if any, for the configuration check at start-up. */
export function trustAnchorSettingProblem(value: string, blobEndpoint: string | undefined): string | undefined {
  const source = parseAnchorSetting(value, blobEndpoint);
  return 'problem' in source ? source.problem : undefined;
}
