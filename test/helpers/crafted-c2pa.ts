/**
 * Crafted Content Credentials for attacking the gate: certificate authorities, intermediates, claim
 * signers and time-stamp authorities made in the test with any EKU, key usage and validity, and a
 * signer that puts any manifest (actions, ingredients, titles) on any image through c2pa-rs. Nothing
 * here is trusted unless a test passes its root to the verifier.
 */
import 'reflect-metadata';
import { KeyObject, randomUUID, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { coseSign1 } from '../../shared/adapters/signing/cose.js';
import { keySigner } from '../../shared/adapters/signing/local-signer.js';
import { timeStampToken } from '../../local/emulator/tsa.js';
import { BytesBlob, installFileReaderSync, loadC2pa } from '../../shared/adapters/c2pa/c2pa-wasm.js';

x509.cryptoProvider.set(webcrypto as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export const OID = {
  documentSigning: '1.3.6.1.5.5.7.3.36',
  c2paClaimSigning: '1.3.6.1.4.1.62558.2.1',
  microsoftC2pa: '1.3.6.1.4.1.311.76.59.1.9',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

export const KeyUsage = x509.KeyUsageFlags;

export const TRAINED = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
export const AGENT = 'Azure OpenAI ImageGen';

export interface Issued {
  cert: x509.X509Certificate;
  key: CryptoKey;
  der: Uint8Array;
  pem: string;
}

export interface CertOptions {
  /** null: no EKU extension at all. */
  ekus?: string[] | null;
  /** null: no keyUsage extension at all. */
  keyUsage?: number | null;
  notBefore?: Date;
  notAfter?: Date;
  ca?: boolean;
}

async function keys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

const issued = (cert: x509.X509Certificate, key: CryptoKey): Issued => ({
  cert,
  key,
  der: new Uint8Array(cert.rawData),
  pem: cert.toString('pem'),
});

let serial = 1;

export async function rootCa(name: string): Promise<Issued> {
  const k = await keys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    name: `CN=${name}, O=crafted test PKI`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 3650 * DAY),
    keys: k,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 2, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(k.publicKey),
    ],
  });
  return issued(cert, k.privateKey);
}

export async function issue(ca: Issued, name: string, options: CertOptions = {}): Promise<Issued> {
  const k = await keys();
  const now = Date.now();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(options.ca ?? false, options.ca ? 0 : undefined, true),
    await x509.SubjectKeyIdentifierExtension.create(k.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
  ];
  const keyUsage =
    options.keyUsage === undefined
      ? options.ca
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
        : x509.KeyUsageFlags.digitalSignature
      : options.keyUsage;
  if (keyUsage !== null) extensions.push(new x509.KeyUsagesExtension(keyUsage, true));
  const ekus = options.ekus === undefined ? (options.ca ? null : [OID.documentSigning]) : options.ekus;
  if (ekus) extensions.push(new x509.ExtendedKeyUsageExtension(ekus, ekus.includes(OID.timeStamping)));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(2, '0'),
    subject: `CN=${name}, O=crafted test PKI`,
    issuer: ca.cert.subject,
    notBefore: options.notBefore ?? new Date(now - DAY),
    notAfter: options.notAfter ?? new Date(now + 365 * DAY),
    signingKey: ca.key,
    publicKey: k.publicKey,
    signingAlgorithm: ALG,
    extensions,
  });
  return issued(cert, k.privateKey);
}

/** A PKI shaped like Azure's: root → intermediate → claim signer, and a separately rooted TSA. */
export interface Pki {
  name: string;
  root: Issued;
  intermediate: Issued;
  signer: Issued;
  tsaRoot: Issued;
  tsa: Issued;
  /** The roots to pass to `--trust` (claim root and TSA root). */
  anchorsPem: string;
}

export async function makePki(name: string): Promise<Pki> {
  const root = await rootCa(`${name} Root`);
  const intermediate = await issue(root, `${name} Claimants CA`, { ca: true });
  const signer = await issue(intermediate, `${name} Signer`);
  const tsaRoot = await rootCa(`${name} TSA Root`);
  const tsa = await issue(tsaRoot, `${name} TSA`, { ekus: [OID.timeStamping] });
  return { name, root, intermediate, signer, tsaRoot, tsa, anchorsPem: `${root.pem}\n${tsaRoot.pem}` };
}

export interface ClaimSigner {
  /** Leaf first. */
  chain: Issued[];
  /** Time-stamps the signature at `at` (default now); omit for no time-stamp. */
  tsa?: { cert: Issued; at?: Date };
}

export const pkiSigner = (pki: Pki, overrides: Partial<ClaimSigner> = {}): ClaimSigner => ({
  chain: [pki.signer, pki.intermediate],
  tsa: { cert: pki.tsa },
  ...overrides,
});

export type Format = 'image/png' | 'image/jpeg' | 'image/webp';

export interface CraftOptions {
  format?: Format;
  /** The manifest's label (default: a fresh urn:c2pa UUID), e.g. to forge a same-label replacement. */
  label?: string;
  title?: string;
  /** The actions assertion's data; default: one c2pa.created by the agent with trainedAlgorithmicMedia. */
  actions?: Record<string, unknown>;
  /** `c2pa.actions` (v1) or `c2pa.actions.v2` (default). */
  actionsLabel?: string;
  /** Extra assertions, e.g. a large one to spread the manifest over several JPEG segments. */
  assertions?: { label: string; data: unknown }[];
  /** Actions refer to an ingredient by its `id` (`parameters: { ingredientIds: [id] }`). */
  ingredients?: { bytes: Uint8Array; format: Format; id?: string; title?: string; relationship?: string }[];
}

const RESERVE = 12_288;

export const agentAction = (extra: Record<string, unknown> = {}) => ({
  action: 'c2pa.created',
  when: new Date().toISOString(),
  softwareAgent: { name: AGENT },
  digitalSourceType: TRAINED,
  ...extra,
});

/** Signs `image` with a manifest shaped by `options`, through c2pa-rs with a JS COSE signer. */
export async function craft(signer: ClaimSigner, image: Uint8Array, options: CraftOptions = {}): Promise<Buffer> {
  const c2pa = await loadC2pa();
  installFileReaderSync();
  const format = options.format ?? 'image/png';
  const manifest = {
    claim_generator_info: [{ name: 'crafted-test', version: '1.0' }],
    title: options.title ?? 'crafted',
    format,
    instance_id: `xmp:iid:${randomUUID()}`,
    ...(options.label ? { label: options.label } : {}),
    assertions: [
      { label: options.actionsLabel ?? 'c2pa.actions.v2', data: options.actions ?? { actions: [agentAction()] } },
      ...(options.assertions ?? []),
    ],
  };
  const builder = c2pa.WasmBuilder.fromJson(
    JSON.stringify(manifest),
    JSON.stringify({ verify: { verify_after_sign: false } }),
  );
  try {
    for (const ing of options.ingredients ?? []) {
      await builder.addIngredientFromBlob(
        JSON.stringify({
          title: ing.title ?? 'ingredient',
          relationship: ing.relationship ?? 'componentOf',
          ...(ing.id ? { label: ing.id } : {}),
        }),
        ing.format,
        new BytesBlob(ing.bytes),
      );
    }
    const key = KeyObject.from(signer.chain[0]!.key);
    const tsa = signer.tsa;
    const definition = {
      alg: 'es256',
      reserveSize: RESERVE,
      sign: async (claim: Uint8Array) =>
        (await coseSign1(
          keySigner(
            key,
            signer.chain.map((c) => c.der),
            'crafted signer',
          ),
          claim,
          RESERVE,
          tsa
            ? (imprint) =>
                timeStampToken({ key: KeyObject.from(tsa.cert.key), certificate: tsa.cert.der }, imprint, tsa.at)
            : undefined,
        )) as Uint8Array<ArrayBuffer>,
    };
    return Buffer.from(await builder.sign(definition, [], format, new BytesBlob(image)));
  } finally {
    builder.free();
  }
}
