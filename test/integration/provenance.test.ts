import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorIdentity } from '../../local/emulator/identity.js';
import { signImage } from '../../local/emulator/sign.js';
import { loadC2pa } from '../../shared/adapters/c2pa/c2pa-wasm.js';
import { loadGateConfig } from '../../shared/core/config.js';
import type { ProvenanceReport } from '../../shared/core/provenance/gate.js';
import { certificatesIn, createVerifier } from '../../shared/adapters/c2pa/verifier.js';
import { type Verifier } from '../../shared/ports/verifier.js';
import { MICROSOFT_C2PA_ROOTS_PEM } from '../../shared/core/provenance/default-trust.js';
import { forgedIdentity } from '../helpers/forged-ca.js';
import {
  changeOnePixel,
  gradientImage,
  insertAfterHeader,
  manifestChunk,
  rewritePng,
  withRemoteManifestReference,
} from '../helpers/images.js';

const run = promisify(execFile);
const FIXTURES = new URL('../fixtures/c2pa/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES));
const AZURE_IMAGE = 'azure-imagegen-in-designer-manifest.png';
const BIN = new URL('../../bin/imagegen-pipeline.js', import.meta.url).pathname;

const gate = (scope: 'active' | 'chain' = 'active') => loadGateConfig({ AGENT_SCOPE: scope });

let forged: EmulatorIdentity;
let defaultVerifier: Verifier;
let forgedTrustingVerifier: Verifier;
let signed: Buffer;

beforeAll(async () => {
  forged = await forgedIdentity();
  defaultVerifier = await createVerifier(gate());
  forgedTrustingVerifier = await createVerifier(gate(), undefined, { extraPems: [forged.caPem] });
  signed = Buffer.from(
    await signImage(forged, await gradientImage(256, 256), { format: 'image/png', title: 'edit.png' }),
  );
});

const failedChecks = (r: ProvenanceReport) => r.checks.filter((c) => !c.ok).map((c) => c.name);

describe('the real Microsoft-signed image', () => {
  it('publishes with the default trust when the agent may sit in a validated ingredient (chain)', async () => {
    const report = await (await createVerifier(gate('chain'))).verify(fixture(AZURE_IMAGE), { file: AZURE_IMAGE });
    expect(report.verdict).toBe('publish');
    expect(report.reasons).toEqual([]);
    expect(report.manifest).toMatchObject({
      claimGenerator: 'Microsoft_Designer 2.0',
      signer: {
        commonName: 'Microsoft Corporation',
        trusted: true,
        signedAt: '2026-08-01T18:35:54+00:00',
        timestampAuthority: 'Microsoft C2PA TimeStamping',
      },
      softwareAgent: 'Azure OpenAI ImageGen',
      agentFoundIn: 'ingredient',
      digitalSourceType: 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia',
      dataHash: 'match',
    });
    expect(report.manifest?.ingredients[0]).toMatchObject({
      relationship: 'componentOf',
      claimGenerator: 'Microsoft Responsible AI Provenance 1.0',
      softwareAgent: 'Azure OpenAI ImageGen',
    });
    expect(report.validation.tolerated.map((t) => `${t.code} ${t.url?.split('/').pop()}`)).toEqual([
      'claim.malformed c2pa.soft-binding',
      'claim.malformed c2pa.soft-binding',
    ]);
    expect(report.validation.failures).toEqual([]);
    expect(report.policy.trustAnchors).toEqual([
      'Microsoft Supply Chain RSA Root CA 2022',
      'Microsoft C2PA AL2 Root CA 2025',
    ]);
  });

  it('quarantines with AGENT_SCOPE=active, naming the missing agent', async () => {
    const report = await defaultVerifier.verify(fixture(AZURE_IMAGE), { file: AZURE_IMAGE });
    expect(report.verdict).toBe('quarantine');
    expect(failedChecks(report)).toEqual(['Made by an allowed AI agent']);
    expect(report.reasons[0]).toMatch(
      /no action on the active manifest names an allowed software agent \(Azure OpenAI ImageGen\).*AGENT_SCOPE=chain would accept it/,
    );
  });

  it('quarantines without the AL2 time-stamping root: untrusted time-stamp, expired signer', async () => {
    const [supplyChainRoot] = MICROSOFT_C2PA_ROOTS_PEM.match(
      /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g,
    )!;
    expect(certificatesIn(supplyChainRoot!)[0]!.subject).toContain('Supply Chain');
    const verifier = await createVerifier(gate('chain'), undefined, {
      noDefaultTrust: true,
      extraPems: [supplyChainRoot!],
    });
    const report = await verifier.verify(fixture(AZURE_IMAGE), { file: AZURE_IMAGE });
    expect(report.verdict).toBe('quarantine');
    expect(report.validation.failures.map((f) => f.code)).toContain('signingCredential.expired');
    expect(failedChecks(report)).toEqual(expect.arrayContaining(['Signer trusted', 'Time-stamp trusted']));
    const reasons = report.reasons.join('\n');
    expect(reasons).toMatch(/the time-stamp is not trusted: timeStamp\.untrusted/);
    expect(reasons).toMatch(/signingCredential\.expired/);
  });

  it('ships the Microsoft roots byte-identical to the fixture', () => {
    expect(MICROSOFT_C2PA_ROOTS_PEM).toBe(fixture('microsoft-c2pa-roots.pem').toString('utf8'));
  });
});

describe('forged credentials', () => {
  it("are quarantined by default: a CA made in the test is nobody's trust anchor", async () => {
    const report = await defaultVerifier.verify(signed, { file: 'forged.png' });
    expect(report.verdict).toBe('quarantine');
    expect(report.manifest?.softwareAgent).toBe('Azure OpenAI ImageGen');
    expect(report.manifest?.signer.trusted).toBe(false);
    expect(report.reasons.join('\n')).toMatch(/is not trusted: signingCredential\.untrusted/);
  });

  it('are published when that CA is added as a trust anchor', async () => {
    const report = await forgedTrustingVerifier.verify(signed, { file: 'forged.png' });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('publish');
  });

  it('a trusted manifest naming another agent is quarantined', async () => {
    const other = Buffer.from(
      await signImage(forged, await gradientImage(64, 64), {
        format: 'image/png',
        title: 'x.png',
        softwareAgent: 'Some Other Generator',
      }),
    );
    const report = await forgedTrustingVerifier.verify(other, { file: 'other.png' });
    expect(report.verdict).toBe('quarantine');
    expect(failedChecks(report)).toEqual(['Made by an allowed AI agent']);
    expect(report.reasons[0]).toMatch(/the active manifest names Some Other Generator/);
  });

  it('a trusted manifest with a non-AI source type is quarantined', async () => {
    const photo = Buffer.from(
      await signImage(forged, await gradientImage(64, 64), {
        format: 'image/png',
        title: 'x.png',
        digitalSourceType: 'http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture',
      }),
    );
    expect((await forgedTrustingVerifier.verify(photo, { file: 'photo.png' })).verdict).toBe('quarantine');
  });
});

describe('tampering after signing', () => {
  const verdictOf = async (bytes: Buffer) => forgedTrustingVerifier.verify(bytes, { file: 'tampered.png' });

  it('one pixel changed: data hash mismatch', async () => {
    const report = await verdictOf(changeOnePixel(signed));
    expect(report.verdict).toBe('quarantine');
    expect(report.manifest?.dataHash).toBe('mismatch');
    expect(report.reasons).toContain('the file changed after it was signed (data hash mismatch)');
  });

  it('manifest stripped: no Content Credentials', async () => {
    const report = await verdictOf(rewritePng(signed, (type, data) => (type === 'caBX' ? null : data)));
    expect(report.manifest).toBeNull();
    expect(report.reasons).toEqual(['no Content Credentials: the PNG carries no C2PA manifest']);
  });

  it('manifest transplanted onto other pixels: data hash mismatch', async () => {
    const other = await gradientImage(256, 256, 'png');
    const otherPixels = rewritePng(await sharp(other).negate().png().toBuffer(), (_t, d) => d);
    const report = await verdictOf(insertAfterHeader(otherPixels, 'caBX', manifestChunk(signed)));
    expect(report.verdict).toBe('quarantine');
    expect(report.manifest?.dataHash).toBe('mismatch');
  });

  it('bytes appended after the image end: data hash mismatch', async () => {
    const report = await verdictOf(Buffer.concat([signed, Buffer.from('appended payload')]));
    expect(report.verdict).toBe('quarantine');
    expect(report.reasons.join('\n')).toMatch(/data hash mismatch|could not be read/);
  });

  it('re-encoded: the credentials do not survive', async () => {
    const report = await verdictOf(await sharp(signed).png({ compressionLevel: 9 }).toBuffer());
    expect(report.verdict).toBe('quarantine');
    expect(report.reasons[0]).toMatch(/no Content Credentials/);
  });
});

describe('files that cannot be judged', () => {
  it('the c2pa-rs test signer JPEG is untrusted', async () => {
    const report = await defaultVerifier.verify(fixture('c2pa-rs-test-signer.jpg'), { file: 'C.jpg' });
    expect(report.verdict).toBe('quarantine');
    expect(report.manifest?.signer.trusted).toBe(false);
    expect(failedChecks(report)).toContain('Signer trusted');
  });

  it.each([
    ['an empty file', Buffer.alloc(0), /the file is empty/],
    ['random bytes', randomBytes(4096), /not a PNG, JPEG or WebP image/],
  ])('%s is a quarantine report, not a crash', async (_name, bytes, reason) => {
    const report = await defaultVerifier.verify(bytes, { file: 'x' });
    expect(report).toMatchObject({ verdict: 'quarantine', manifest: null });
    expect(report.reasons[0]).toMatch(reason);
  });

  it('a truncated signed PNG is a quarantine report', async () => {
    const report = await forgedTrustingVerifier.verify(signed.subarray(0, signed.length - 500), { file: 'cut.png' });
    expect(report.verdict).toBe('quarantine');
  });

  it('never fetches a remote manifest (and the listener would have seen one)', async () => {
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests++;
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/manifest.c2pa`;
    try {
      const png = withRemoteManifestReference(await gradientImage(64, 64), url);
      const report = await defaultVerifier.verify(png, { file: 'remote.png' });
      expect(report.verdict).toBe('quarantine');
      expect(report.reasons[0]).toMatch(/remote manifest.*never fetched/);
      expect(requests).toBe(0);
      // Control: c2pa-rs with fetching on does call out, so the zero above is the setting's doing.
      const c2pa = await loadC2pa();
      await c2pa.WasmReader.fromBytes(
        'image/png',
        png,
        JSON.stringify({ verify: { remote_manifest_fetch: true } }),
      ).catch(() => undefined);
      expect(requests).toBe(1);
    } finally {
      server.close();
    }
  });
});

describe('the edit window', () => {
  it("publishes only when the signing time lies inside the job's call (± skew)", async () => {
    const now = Date.now();
    const inside = await forgedTrustingVerifier.verify(signed, {
      file: 'x',
      editWindow: { start: new Date(now - 60_000), end: new Date(now + 60_000) },
    });
    expect(inside.verdict).toBe('publish');
    expect(inside.signingTime?.source).toBe('timestamp');
    const earlier = await forgedTrustingVerifier.verify(signed, {
      file: 'x',
      editWindow: { start: new Date(now + 3_600_000), end: new Date(now + 3_700_000) },
    });
    expect(earlier.verdict).toBe('quarantine');
    expect(earlier.reasons[0]).toMatch(/^signed at .*the edit ran/);
  });
});

describe('verify CLI', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'verify-cli-'));
  const write = (name: string, bytes: Buffer | string) => {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    return file;
  };
  const cli = async (...args: string[]) => cliWithEnv({}, ...args);
  const cliWithEnv = async (env: Record<string, string>, ...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, 'verify', ...args], {
        env: { ...process.env, ...env },
        timeout: 30_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it('prints a checklist and exits 0 for a file that would be published', async () => {
    const r = await cli(new URL(AZURE_IMAGE, FIXTURES).pathname, '--agent-scope', 'chain');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Signed by: +Microsoft Corporation, trusted/);
    expect(r.stdout).toMatch(/Time-stamped by: +Microsoft C2PA TimeStamping/);
    expect(r.stdout).toMatch(
      /AI-generated by: +Azure OpenAI ImageGen \(trainedAlgorithmicMedia\), on the ingredient manifest/,
    );
    expect(r.stdout).toMatch(/Tolerated: +claim\.malformed/);
    expect(r.stdout).toMatch(/Verdict: PUBLISH/);
  });

  it('prints one JSON report per line and exits 1 when any file would be quarantined', async () => {
    const empty = write('empty.png', '');
    const random = write('random.bin', randomBytes(1000));
    const r = await cli('--json', new URL(AZURE_IMAGE, FIXTURES).pathname, empty, random);
    expect(r.code).toBe(1);
    const reports = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ProvenanceReport);
    expect(reports.map((x) => x.verdict)).toEqual(['quarantine', 'quarantine', 'quarantine']);
    expect(reports[1]!.file).toBe(empty);
  });

  it("--trust adds an anchor; --no-default-trust drops Microsoft's", async () => {
    const forgedFile = write('forged.png', signed);
    const ca = write('forged-ca.pem', forged.caPem);
    expect((await cli(forgedFile)).code).toBe(1);
    expect((await cli(forgedFile, '--trust', ca)).code).toBe(0);
    const noDefault = await cli(
      '--json',
      '--no-default-trust',
      new URL(AZURE_IMAGE, FIXTURES).pathname,
      '--agent-scope',
      'chain',
    );
    expect(noDefault.code).toBe(1);
    expect((JSON.parse(noDefault.stdout) as ProvenanceReport).policy.trustAnchors).toEqual([]);
  });

  it('refuses a FIFO, a device and a directory with exit 2, without reading them', async () => {
    const fifo = path.join(dir, 'pipe.png');
    await run('mkfifo', [fifo]);
    const started = Date.now();
    for (const [file, what] of [
      [fifo, 'a FIFO'],
      ['/dev/zero', 'a device'],
      [dir, 'a directory'],
    ] as const) {
      const r = await cli(file);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`not a regular file (${what})`);
    }
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('refuses a file over MAX_IMAGE_BYTES with exit 2', async () => {
    const big = write('big.png', signed);
    const r = await cliWithEnv({ MAX_IMAGE_BYTES: String(signed.length - 1) }, big);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/larger than MAX_IMAGE_BYTES/);
    expect(
      (await cliWithEnv({ MAX_IMAGE_BYTES: String(signed.length) }, big, '--trust', write('ca.pem', forged.caPem)))
        .code,
    ).toBe(0);
  });

  it('escapes the file name in its checklist and its errors', async () => {
    const name = write('evil\u001b[2J\u202e.png', signed);
    const r = await cli(name, path.join(dir, 'missing\u001b[8m.png'));
    expect(r.stdout + r.stderr).not.toMatch(/[\u001b\u202e]/);
    expect(r.stdout).toContain('evil\\x1b[2J\\u202e.png');
    expect(r.stderr).toContain('missing\\x1b[8m.png: no such file');
    const json = await cli('--json', name);
    expect(json.stdout).not.toMatch(/[\u001b\u202e]/);
    expect((JSON.parse(json.stdout) as ProvenanceReport).file).toBe(name);
  });

  it('exits 2 on a usage or I/O error', async () => {
    expect((await cli()).code).toBe(2);
    expect((await cli('--agent-scope', 'everywhere', 'x.png')).code).toBe(2);
    const missing = await cli(path.join(dir, 'nope.png'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
  });
});
