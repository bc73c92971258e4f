/**
 * The emulator's signing identity, shaped like Azure OpenAI's (compare the real image in
 * ../shared/fixtures/c2pa/): an RSA claim-signing leaf valid for one year with Microsoft's claim-signing
 * EKU under an intermediate named like Microsoft's ("… SCD Claimants RSA CA") under a signing root, and
 * an RFC 3161 time-stamping certificate under a separate TSA root. Generated on first start and kept
 * outside the repository (default `~/.imagegen-pipeline/emulator-ca-v3`; the name is versioned because
 * the shape changed: v1 had one ES256 root, v2 a two-year leaf under a differently named intermediate).
 * Every name says "local emulator" and "not Microsoft", so its credentials can never be mistaken for
 * Azure's; only a configuration that adds its two roots trusts them.
 *
 * `createExpiredIdentity` makes the same shape in memory with a leaf that expired 30 days ago and a
 * signing time inside its year, as an Azure image signed last spring looks today.
 */
import 'reflect-metadata';
import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as Crypto);

export const DEFAULT_CA_DIR = path.join(homedir(), '.imagegen-pipeline', 'emulator-ca-v3');

const ORG = 'O=imagegen-pipeline local emulator (untrusted test CA - not Microsoft)';
export const SIGNING_ROOT_SUBJECT = `CN=imagegen-pipeline LOCAL EMULATOR Signing Root CA - not Microsoft, ${ORG}`;
export const TSA_ROOT_SUBJECT = `CN=imagegen-pipeline LOCAL EMULATOR Time-Stamping Root CA - not Microsoft, ${ORG}`;
const INTERMEDIATE_SUBJECT = `CN=imagegen-pipeline emulator SCD Claimants RSA CA - not Microsoft, ${ORG}`;
const SIGNER_SUBJECT = `CN=imagegen-pipeline emulator signer - not Azure OpenAI, ${ORG}`;
const TSA_SUBJECT = `CN=imagegen-pipeline emulator time-stamping - not Microsoft, ${ORG}`;

export const EKU = {
  /** Microsoft's C2PA claim signing, on the leaf of every Azure OpenAI image (see the fixture's README). */
  microsoftClaimSigning: '1.3.6.1.4.1.311.76.59.1.9',
  timeStamping: '1.3.6.1.5.5.7.3.8',
} as const;

// Azure's chain is RSA throughout (4096-bit roots); 2048-bit keys keep first start fast and are what
// c2pa-rs's certificate profile requires at least.
const ALG = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
} as const;
const DAY = 86_400_000;

export interface EmulatorIdentity {
  /** The two trust anchors (signing root, then TSA root) as one PEM text: all a verifier needs to trust. */
  caPem: string;
  /** The claim signer: its key and its chain (leaf, then intermediate; the root travels only as an anchor). */
  signer: { key: KeyObject; chain: Uint8Array[] };
  tsa: { key: KeyObject; certificate: Uint8Array };
  /** When signatures say they were made (the time-stamp's time); now when unset. */
  signedAt?: Date;
}

const FILE_NAMES = [
  'signing-root.pem',
  'intermediate.pem',
  'signer.pem',
  'signer.key',
  'tsa-root.pem',
  'tsa.pem',
  'tsa.key',
] as const;
type Files = Record<(typeof FILE_NAMES)[number], string>;

interface Issued {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
}

const newKeys = async () => (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;

/** Validity as days from now: `from` (negative: in the past) for `days`. */
interface Validity {
  from: number;
  days: number;
}

const validFor = (v: Validity) => ({
  notBefore: new Date(Date.now() + v.from * DAY),
  notAfter: new Date(Date.now() + (v.from + v.days) * DAY),
});

async function createRoot(subject: string, validity: Validity = { from: -1, days: 10 * 365 }): Promise<Issued> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: subject,
    ...validFor(validity),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

interface IssueOptions {
  subject: string;
  serial: string;
  validity: Validity;
  /** A CA that may issue leaves only, or a leaf with this EKU. */
  role: { ca: true } | { eku: string };
}

async function issue(issuer: Issued, options: IssueOptions): Promise<Issued> {
  const keys = await newKeys();
  const roleExtensions =
    'ca' in options.role
      ? [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        ]
      : [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          // RFC 3161 requires the time-stamping EKU to be the only one, and critical.
          new x509.ExtendedKeyUsageExtension([options.role.eku], options.role.eku === EKU.timeStamping),
        ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: options.serial,
    subject: options.subject,
    issuer: issuer.cert.subject,
    ...validFor(options.validity),
    signingKey: issuer.keys.privateKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      ...roleExtensions,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert),
    ],
  });
  return { cert, keys };
}

/** Each certificate's validity; the CAs' start `back` days ago so a back-dated leaf fits inside them. */
function validities(back: number, leaf: Validity) {
  return {
    root: { from: -back - 1, days: back + 10 * 365 },
    intermediate: { from: -back - 1, days: back + 5 * 365 },
    leaf,
    tsa: { from: -back - 1, days: back + 2 * 365 },
  };
}

/** A fresh chain: roots, the intermediate, the one-year claim signer and the TSA certificate. */
async function generateChain(v: ReturnType<typeof validities>) {
  const [signingRoot, tsaRoot] = await Promise.all([
    createRoot(SIGNING_ROOT_SUBJECT, v.root),
    createRoot(TSA_ROOT_SUBJECT, v.root),
  ]);
  const ca = { subject: INTERMEDIATE_SUBJECT, serial: '02', validity: v.intermediate, role: { ca: true } } as const;
  const intermediate = await issue(signingRoot, ca);
  const signer = await issue(intermediate, {
    subject: SIGNER_SUBJECT,
    serial: '03',
    validity: v.leaf,
    role: { eku: EKU.microsoftClaimSigning },
  });
  const tsa = await issue(tsaRoot, {
    subject: TSA_SUBJECT,
    serial: '04',
    validity: v.tsa,
    role: { eku: EKU.timeStamping },
  });
  return { signingRoot, tsaRoot, intermediate, signer, tsa };
}

// Microsoft's claim-signing leaves are valid for one year.
const LEAF_DAYS = 365;

async function generate(): Promise<Files> {
  const { signingRoot, tsaRoot, intermediate, signer, tsa } = await generateChain(
    validities(0, { from: -1, days: LEAF_DAYS }),
  );
  return {
    'signing-root.pem': signingRoot.cert.toString('pem'),
    'intermediate.pem': intermediate.cert.toString('pem'),
    'signer.pem': signer.cert.toString('pem'),
    'signer.key': await exportKey(signer.keys.privateKey),
    'tsa-root.pem': tsaRoot.cert.toString('pem'),
    'tsa.pem': tsa.cert.toString('pem'),
    'tsa.key': await exportKey(tsa.keys.privateKey),
  };
}

async function readFiles(dir: string): Promise<Files> {
  const entries = await Promise.all(
    FILE_NAMES.map(async (n) => [n, await readFile(path.join(dir, n), 'utf8')] as const),
  );
  return Object.fromEntries(entries) as Files;
}

/** Writes a fresh identity beside `dir` and swaps it in, so concurrent first starts agree on one. */
async function replaceIdentity(dir: string): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true });
  const staging = await mkdtemp(`${dir}.staging-`);
  const fresh = await generate();
  await Promise.all(Object.entries(fresh).map(([n, text]) => writeFile(path.join(staging, n), text, { mode: 0o600 })));
  await rm(`${dir}.old`, { recursive: true, force: true });
  await rename(dir, `${dir}.old`).catch(() => undefined);
  await rename(staging, dir).catch(async () => rm(staging, { recursive: true, force: true }));
  await rm(`${dir}.old`, { recursive: true, force: true });
}

const expiresSoon = (pem: string) => new x509.X509Certificate(pem).notAfter.getTime() - Date.now() < 30 * DAY;

/** Loads the identity from `dir`, generating it on first use or when a leaf is about to expire. */
export async function loadOrCreateIdentity(dir = DEFAULT_CA_DIR): Promise<EmulatorIdentity> {
  let files: Files;
  try {
    files = await readFiles(dir);
    if (expiresSoon(files['signer.pem']) || expiresSoon(files['tsa.pem']))
      throw new Error('a leaf certificate expires soon');
  } catch {
    await replaceIdentity(dir);
    files = await readFiles(dir);
  }
  const der = (pem: string) => new Uint8Array(new x509.X509Certificate(pem).rawData);
  return {
    caPem: `${files['signing-root.pem'].trim()}\n${files['tsa-root.pem'].trim()}\n`,
    signer: {
      key: createPrivateKey(files['signer.key']),
      chain: [der(files['signer.pem']), der(files['intermediate.pem'])],
    },
    tsa: { key: createPrivateKey(files['tsa.key']), certificate: der(files['tsa.pem']) },
  };
}

/** Days before today the expired identity's leaf ran out, and the signing time inside its year. */
export const EXPIRED_LEAF = { expiredDaysAgo: 30, signedDaysAgo: 200 } as const;

/**
 * An identity whose one-year leaf expired EXPIRED_LEAF.expiredDaysAgo days ago, signing as of
 * EXPIRED_LEAF.signedDaysAgo days ago (when the leaf was valid): what an Azure image signed last spring
 * carries today. Made in memory at each start (its roots are its own; `caPem` names them).
 */
export async function createExpiredIdentity(): Promise<EmulatorIdentity> {
  const { expiredDaysAgo, signedDaysAgo } = EXPIRED_LEAF;
  const from = -(expiredDaysAgo + LEAF_DAYS);
  const chain = await generateChain(validities(-from, { from, days: LEAF_DAYS }));
  const key = async (issued: Issued) => createPrivateKey(await exportKey(issued.keys.privateKey));
  const der = (issued: Issued) => new Uint8Array(issued.cert.rawData);
  return {
    caPem: `${chain.signingRoot.cert.toString('pem').trim()}\n${chain.tsaRoot.cert.toString('pem').trim()}\n`,
    signer: { key: await key(chain.signer), chain: [der(chain.signer), der(chain.intermediate)] },
    tsa: { key: await key(chain.tsa), certificate: der(chain.tsa) },
    signedAt: new Date(Date.now() - signedDaysAgo * DAY),
  };
}
