/**
 * The emulator's signing identity: a local root CA, a C2PA signing certificate and a time-stamping
 * certificate, generated on first start and kept outside the repository (default
 * `~/.imagegen-pipeline/emulator-ca`). Every name says "local emulator" and "not Microsoft", so its
 * credentials can never be mistaken for Azure's; only a configuration that adds `ca.pem` trusts them.
 */
import 'reflect-metadata';
import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as Crypto);

export const DEFAULT_CA_DIR = path.join(homedir(), '.imagegen-pipeline', 'emulator-ca');

const ORG = 'O=imagegen-pipeline local emulator (untrusted test CA - not Microsoft)';
export const CA_SUBJECT = `CN=imagegen-pipeline LOCAL EMULATOR Root CA - not Microsoft, ${ORG}`;
const SIGNER_SUBJECT = `CN=imagegen-pipeline emulator signer - not Azure OpenAI, ${ORG}`;
const TSA_SUBJECT = `CN=imagegen-pipeline emulator time-stamping - not Microsoft, ${ORG}`;

export const EKU = {
  documentSigning: '1.3.6.1.5.5.7.3.36',
  timeStamping: '1.3.6.1.5.5.7.3.8',
} as const;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface EmulatorIdentity {
  caPem: string;
  signer: { key: KeyObject; certificate: Uint8Array };
  tsa: { key: KeyObject; certificate: Uint8Array };
}

interface Files {
  'ca.pem': string;
  'ca.key': string;
  'signer.pem': string;
  'signer.key': string;
  'tsa.pem': string;
  'tsa.key': string;
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
}

async function issue(
  ca: { cert: x509.X509Certificate; key: CryptoKey },
  subject: string,
  eku: string,
  serial: string,
): Promise<{ cert: x509.X509Certificate; keys: CryptoKeyPair }> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject,
    issuer: ca.cert.subject,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 2 * 365 * DAY),
    signingKey: ca.key,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([eku], eku === EKU.timeStamping),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    ],
  });
  return { cert, keys };
}

async function generate(): Promise<Files> {
  const caKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: CA_SUBJECT,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 10 * 365 * DAY),
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const ca = { cert: caCert, key: caKeys.privateKey };
  const signer = await issue(ca, SIGNER_SUBJECT, EKU.documentSigning, '02');
  const tsa = await issue(ca, TSA_SUBJECT, EKU.timeStamping, '03');
  return {
    'ca.pem': caCert.toString('pem'),
    'ca.key': await exportKey(caKeys.privateKey),
    'signer.pem': signer.cert.toString('pem'),
    'signer.key': await exportKey(signer.keys.privateKey),
    'tsa.pem': tsa.cert.toString('pem'),
    'tsa.key': await exportKey(tsa.keys.privateKey),
  };
}

async function readFiles(dir: string): Promise<Files> {
  const names: (keyof Files)[] = ['ca.pem', 'ca.key', 'signer.pem', 'signer.key', 'tsa.pem', 'tsa.key'];
  const entries = await Promise.all(names.map(async (n) => [n, await readFile(path.join(dir, n), 'utf8')] as const));
  return Object.fromEntries(entries) as unknown as Files;
}

/** Loads the identity from `dir`, generating it on first use (atomically, so concurrent first starts agree). */
export async function loadOrCreateIdentity(dir = DEFAULT_CA_DIR): Promise<EmulatorIdentity> {
  let files: Files;
  try {
    files = await readFiles(dir);
    const expires = new x509.X509Certificate(files['signer.pem']).notAfter.getTime();
    if (expires - Date.now() < 30 * DAY) throw new Error('signer certificate expires soon');
  } catch {
    await mkdir(path.dirname(dir), { recursive: true });
    const staging = await mkdtemp(`${dir}.staging-`);
    const fresh = await generate();
    await Promise.all(Object.entries(fresh).map(([n, text]) => writeFile(path.join(staging, n), text, { mode: 0o600 })));
    await rm(`${dir}.old`, { recursive: true, force: true });
    await rename(dir, `${dir}.old`).catch(() => undefined);
    await rename(staging, dir).catch(async () => rm(staging, { recursive: true, force: true }));
    await rm(`${dir}.old`, { recursive: true, force: true });
    files = await readFiles(dir);
  }
  const der = (pem: string) => new Uint8Array(new x509.X509Certificate(pem).rawData);
  return {
    caPem: files['ca.pem'],
    signer: { key: createPrivateKey(files['signer.key']), certificate: der(files['signer.pem']) },
    tsa: { key: createPrivateKey(files['tsa.key']), certificate: der(files['tsa.pem']) },
  };
}
