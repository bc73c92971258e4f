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
import {
  SETTING,
  MAX_ANCHOR_BYTES,
  PEM_CERT,
  type AnchorSource,
  parseAnchorSetting,
} from '../../core/trust-anchor-setting.js';

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

/** `~/…` in the user's home folder, as a shell would read it. */
const homePath = (file: string) => (file.startsWith('~/') ? path.join(homedir(), file.slice(2)) : file);

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
        ? [await readFile(homePath(source.path), 'utf8'), homePath(source.path)]
        : [await readPinnedBlob(source, storage!), source.url];
  if (!PEM_CERT.test(pem)) throw new Error(`${SETTING}: no PEM certificate found in ${where}`);
  return pem;
}
