/**
 * The publisher's credentials in local mode: a root CA and an ES256 claim-signing leaf (documentSigning
 * EKU), generated on first use in the state folder, like the emulator's CA, or in memory for tests.
 * Every name says "local" and "untrusted": nothing outside this machine trusts it.
 */
import 'reflect-metadata';
import { createPrivateKey, webcrypto } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as Crypto);

const ORG = 'O=imagegen-pipeline local publisher (untrusted test CA)';
const ROOT_SUBJECT = `CN=imagegen-pipeline LOCAL Publisher Root CA, ${ORG}`;
const DOCUMENT_SIGNING_EKU = '1.3.6.1.5.5.7.3.36';
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface LocalPublisher {
  /** Leaf first, root last: what PUBLISHER_CERT_CHAIN holds. */
  chainPem: string;
  keyPem: string;
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
}

/** A fresh root and leaf; `name` goes into the leaf's common name (tests make a second, "wrong" publisher). */
export async function generatePublisher(name = 'imagegen-pipeline local publisher'): Promise<LocalPublisher> {
  const now = Date.now();
  const rootKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: ROOT_SUBJECT,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 10 * 365 * DAY),
    keys: rootKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const leafKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: `CN=${name}, ${ORG}`,
    issuer: root.subject,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 2 * 365 * DAY),
    signingKey: rootKeys.privateKey,
    publicKey: leafKeys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([DOCUMENT_SIGNING_EKU], false),
      await x509.SubjectKeyIdentifierExtension.create(leafKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(root),
    ],
  });
  return {
    chainPem: `${leaf.toString('pem')}\n${root.toString('pem')}\n`,
    keyPem: await exportKey(leafKeys.privateKey),
  };
}

/** The local publisher kept in `dir` (`<state>/publisher-ca`), generated on first use. */
export async function loadOrCreatePublisher(dir: string): Promise<LocalPublisher> {
  const files = { chain: path.join(dir, 'chain.pem'), key: path.join(dir, 'publisher.key') };
  try {
    return { chainPem: await readFile(files.chain, 'utf8'), keyPem: await readFile(files.key, 'utf8') };
  } catch {
    await mkdir(dir, { recursive: true });
    const fresh = await generatePublisher();
    await writeFile(`${files.key}.tmp`, fresh.keyPem, { mode: 0o600 });
    await writeFile(`${files.chain}.tmp`, fresh.chainPem);
    await rename(`${files.key}.tmp`, files.key);
    await rename(`${files.chain}.tmp`, files.chain);
    return fresh;
  }
}
