/**
 * EXTRA_TRUST_ANCHORS: more C2PA trust anchors for the gate, as PEM text, a file, or a blob. A blob is
 * read only from the app's own storage account, with the app's own storage client, and only when its
 * SHA-256 is pinned in the setting (`…/anchors.pem#sha256=<hex>`): whoever can write that blob must not
 * be able to change what the gate trusts, and the app's storage token never goes to another host.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { StorageClients } from '../azure/storage.js';
import type { StorageConfig } from '../../core/config.js';

const SETTING = 'EXTRA_TRUST_ANCHORS';
/** A PEM bundle of a few anchors is kilobytes; refuse anything that could not be one before reading it. */
export const MAX_ANCHOR_BYTES = 1024 * 1024;
const PIN = /^#sha256=([0-9a-f]{64})$/i;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

export type AnchorSource =
  | { kind: 'none' }
  | { kind: 'pem'; pem: string }
  | { kind: 'file'; path: string }
  | { kind: 'blob'; url: string; container: string; blobName: string; sha256: string };

/**
 * The blob endpoint of the app's own storage account, as the storage clients will use it: the identity
 * setting's URI, or what a connection string names (Azurite's well-known endpoint for
 * `UseDevelopmentStorage=true`, else `BlobEndpoint`, else `<account>.blob.<suffix>`).
 */
export function blobEndpointOf(storage: StorageConfig): string | undefined {
  if (storage.kind === 'identity') return storage.blobServiceUri || undefined;
  const parts = new Map(
    storage.connectionString
      .split(';')
      .filter((p) => p.includes('='))
      .map((p) => [p.slice(0, p.indexOf('=')).trim().toLowerCase(), p.slice(p.indexOf('=') + 1).trim()] as const),
  );
  if (parts.get('usedevelopmentstorage')?.toLowerCase() === 'true') return 'http://127.0.0.1:10000/devstoreaccount1';
  const account = parts.get('accountname');
  if (parts.get('blobendpoint')) return parts.get('blobendpoint');
  if (!account) return undefined;
  return `${parts.get('defaultendpointsprotocol') ?? 'https'}://${account}.blob.${parts.get('endpointsuffix') ?? 'core.windows.net'}`;
}

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
    return { kind: 'file', path: text.startsWith('~/') ? path.join(homedir(), text.slice(2)) : text };
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

type PinnedBlob = Extract<AnchorSource, { kind: 'blob' }>;

async function readPinnedBlob(source: PinnedBlob, storage: StorageClients): Promise<string> {
  const blob = storage.blobs.getContainerClient(source.container).getBlobClient(source.blobName);
  const props = await blob.getProperties();
  if ((props.contentLength ?? 0) > MAX_ANCHOR_BYTES) {
    throw new Error(
      `${SETTING}: ${source.url} is ${props.contentLength} bytes, more than a PEM bundle of anchors (${MAX_ANCHOR_BYTES} bytes at most)`,
    );
  }
  // Conditional on the version measured, so the bytes hashed are the bytes sized.
  const bytes = await blob.downloadToBuffer(0, undefined, { conditions: { ifMatch: props.etag! } });
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== source.sha256) {
    throw new Error(
      `${SETTING}: ${source.url} has SHA-256 ${sha256}, not the pinned ${source.sha256}; refusing it, so the gate verifies nothing ` +
        'until the blob or the pin in the setting is put right',
    );
  }
  return bytes.toString('utf8');
}

/**
 * Loads EXTRA_TRUST_ANCHORS as PEM text. A URL is checked against `storage`'s own blob endpoint before
 * any request; without storage (the `verify` command) a URL is refused.
 */
export async function loadExtraAnchors(value: string, storage?: StorageClients): Promise<string> {
  const source = parseAnchorSetting(value, storage?.blobs.url);
  if ('problem' in source) throw new Error(source.problem);
  if (source.kind === 'none') return '';
  const [pem, where] =
    source.kind === 'pem'
      ? [source.pem, 'the PEM text']
      : source.kind === 'file'
        ? [await readFile(source.path, 'utf8'), source.path]
        : [await readPinnedBlob(source, storage!), source.url];
  if (!PEM_CERT.test(pem)) throw new Error(`${SETTING}: no PEM certificate found in ${where}`);
  return pem;
}
