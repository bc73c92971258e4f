/** EXTRA_TRUST_ANCHORS as a URL: only a blob of the app's own storage account, only pinned by SHA-256. */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionString, startAzurite, type Azurite } from '../../local/storage/azurite.js';
import { createStorageClients, type StorageClients } from '../../shared/adapters/azure/storage.js';
import { ConfigError, loadConfig, loadGateConfig } from '../../shared/core/config.js';
import { MICROSOFT_C2PA_ROOTS_PEM } from '../../shared/core/provenance/default-trust.js';
import { loadExtraAnchors } from '../../shared/adapters/c2pa/trust-anchors.js';
import { MAX_ANCHOR_BYTES } from '../../shared/core/trust-anchor-setting.js';
import { createVerifier } from '../../shared/adapters/c2pa/verifier.js';

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');
const PIN = sha256(MICROSOFT_C2PA_ROOTS_PEM);

let azurite: Azurite;
let storage: StorageClients;
/** Another HTTP server on this machine, standing in for any host that is not the app's account. */
let elsewhere: http.Server;
const requestsElsewhere: string[] = [];

beforeAll(async () => {
  azurite = await startAzurite();
  storage = await createStorageClients({
    kind: 'connectionString',
    connectionString: connectionString(azurite.blobEndpoint, azurite.queueEndpoint),
  });
  const anchors = storage.container('anchors');
  await anchors.createIfNotExists();
  await anchors.getBlockBlobClient('microsoft.pem').uploadData(Buffer.from(MICROSOFT_C2PA_ROOTS_PEM));
  await anchors.getBlockBlobClient('big.pem').uploadData(Buffer.alloc(MAX_ANCHOR_BYTES + 1, 0x41));
  elsewhere = http.createServer((req, res) => {
    requestsElsewhere.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    res.end(MICROSOFT_C2PA_ROOTS_PEM);
  });
  await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await new Promise<void>((resolve) => elsewhere.close(() => resolve()));
  await azurite.close();
});

const gate = (extraTrustAnchors: string) => ({ ...loadGateConfig({}), extraTrustAnchors });

describe('EXTRA_TRUST_ANCHORS from a blob', () => {
  it("loads a blob of the app's own account whose SHA-256 matches the pin", async () => {
    const url = `${azurite.blobEndpoint}/anchors/microsoft.pem#sha256=${PIN.toUpperCase()}`;
    expect(await loadExtraAnchors(url, storage)).toBe(MICROSOFT_C2PA_ROOTS_PEM);
    const verifier = await createVerifier(gate(url), storage, { noDefaultTrust: true });
    expect(verifier.policy.trustAnchors).toEqual([
      'Microsoft Supply Chain RSA Root CA 2022',
      'Microsoft C2PA AL2 Root CA 2025',
    ]);
  });

  it('refuses a blob whose hash differs from the pin, so the gate cannot start (fails closed)', async () => {
    const url = `${azurite.blobEndpoint}/anchors/microsoft.pem#sha256=${'0'.repeat(64)}`;
    await expect(loadExtraAnchors(url, storage)).rejects.toThrow(
      `has SHA-256 ${PIN}, not the pinned ${'0'.repeat(64)}; refusing it`,
    );
    await expect(createVerifier(gate(url), storage)).rejects.toThrow(/EXTRA_TRUST_ANCHORS: .* not the pinned/);
  });

  it('refuses a pinned blob that someone rewrote afterwards', async () => {
    const url = `${azurite.blobEndpoint}/anchors/rewritten.pem#sha256=${PIN}`;
    const blob = storage.container('anchors').getBlockBlobClient('rewritten.pem');
    await blob.uploadData(Buffer.from(MICROSOFT_C2PA_ROOTS_PEM));
    expect(await loadExtraAnchors(url, storage)).toContain('BEGIN CERTIFICATE');
    await blob.uploadData(
      Buffer.from(`${MICROSOFT_C2PA_ROOTS_PEM}\n-----BEGIN CERTIFICATE-----\nattacker\n-----END CERTIFICATE-----\n`),
    );
    await expect(loadExtraAnchors(url, storage)).rejects.toThrow(/not the pinned/);
  });

  it('refuses a blob too large to be a bundle of anchors without downloading it', async () => {
    await expect(loadExtraAnchors(`${azurite.blobEndpoint}/anchors/big.pem#sha256=${PIN}`, storage)).rejects.toThrow(
      /more than a PEM bundle/,
    );
  });

  it.each([
    [
      'another host',
      (port: number) => `http://127.0.0.1:${port}/devstoreaccount1/anchors/microsoft.pem#sha256=${PIN}`,
      /must name a blob in the app's own storage account/,
    ],
    [
      'an https host',
      () => `https://attacker.blob.core.windows.net/anchors/microsoft.pem#sha256=${PIN}`,
      /must name a blob in the app's own storage account/,
    ],
    [
      'another account on the same host',
      () => `${azurite.blobEndpoint.replace('devstoreaccount1', 'otheraccount')}/anchors/microsoft.pem#sha256=${PIN}`,
      /own storage account/,
    ],
    ['no pin', () => `${azurite.blobEndpoint}/anchors/microsoft.pem`, /without a SHA-256 pin: append #sha256=<hex>/],
    [
      'a SAS query string',
      () => `${azurite.blobEndpoint}/anchors/microsoft.pem?sv=2024&sig=x#sha256=${PIN}`,
      /must not carry a query string/,
    ],
    ['a container but no blob', () => `${azurite.blobEndpoint}/anchors#sha256=${PIN}`, /must name a blob/],
  ])('refuses %s before any request', async (_, urlFor, problem) => {
    const url = urlFor((elsewhere.address() as AddressInfo).port);
    await expect(loadExtraAnchors(url, storage)).rejects.toThrow(problem);
    expect(requestsElsewhere).toEqual([]);
  });

  it('refuses a URL where there is no app storage account (the verify command)', async () => {
    await expect(loadExtraAnchors(`${azurite.blobEndpoint}/anchors/microsoft.pem#sha256=${PIN}`)).rejects.toThrow(
      /only the app reads .*\(verify: --trust FILE\)/,
    );
  });
});

describe('EXTRA_TRUST_ANCHORS at start-up', () => {
  const base = { AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com/' };
  const identity = {
    ...base,
    AzureWebJobsStorage__blobServiceUri: 'https://app.blob.core.windows.net',
    AzureWebJobsStorage__queueServiceUri: 'https://app.queue.core.windows.net',
  };
  const problems = (load: () => unknown): string[] => {
    try {
      load();
      return [];
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
  };

  it("accepts a pinned blob of the app's account, whichever way storage is configured", () => {
    const pinned = `#sha256=${PIN}`;
    expect(
      problems(() =>
        loadConfig({ ...identity, EXTRA_TRUST_ANCHORS: `https://app.blob.core.windows.net/anchors/ca.pem${pinned}` }),
      ),
    ).toEqual([]);
    expect(
      problems(() =>
        loadConfig({
          ...base,
          AzureWebJobsStorage: 'UseDevelopmentStorage=true',
          EXTRA_TRUST_ANCHORS: `http://127.0.0.1:10000/devstoreaccount1/a/ca.pem${pinned}`,
        }),
      ),
    ).toEqual([]);
    const keyed = 'DefaultEndpointsProtocol=https;AccountName=app;AccountKey=a2V5;EndpointSuffix=core.windows.net';
    expect(
      problems(() =>
        loadConfig({
          ...base,
          AzureWebJobsStorage: keyed,
          EXTRA_TRUST_ANCHORS: `https://app.blob.core.windows.net/a/ca.pem${pinned}`,
        }),
      ),
    ).toEqual([]);
  });

  it('names the setting and the fix for any other URL', () => {
    expect(
      problems(() =>
        loadConfig({
          ...identity,
          EXTRA_TRUST_ANCHORS: `https://other.blob.core.windows.net/anchors/ca.pem#sha256=${PIN}`,
        }),
      ),
    ).toEqual([
      "EXTRA_TRUST_ANCHORS must name a blob in the app's own storage account (https://app.blob.core.windows.net/<container>/<blob>), " +
        'got https://other.blob.core.windows.net/anchors/ca.pem: copy the PEM file into a container of that account, or set the PEM text itself',
    ]);
    expect(
      problems(() =>
        loadConfig({ ...identity, EXTRA_TRUST_ANCHORS: 'https://app.blob.core.windows.net/anchors/ca.pem' }),
      )[0],
    ).toMatch(/^EXTRA_TRUST_ANCHORS is a URL without a SHA-256 pin: append #sha256=<hex>/);
    expect(
      problems(() =>
        loadGateConfig({ EXTRA_TRUST_ANCHORS: `https://app.blob.core.windows.net/anchors/ca.pem#sha256=${PIN}` }),
      )[0],
    ).toMatch(/^EXTRA_TRUST_ANCHORS is a URL, which only the app reads/);
  });

  it('still takes PEM text and files as before', () => {
    expect(problems(() => loadConfig({ ...identity, EXTRA_TRUST_ANCHORS: MICROSOFT_C2PA_ROOTS_PEM }))).toEqual([]);
    expect(problems(() => loadGateConfig({ EXTRA_TRUST_ANCHORS: '~/anchors.pem' }))).toEqual([]);
  });
});
