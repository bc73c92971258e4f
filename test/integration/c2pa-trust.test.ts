/**
 * What the gate takes from c2pa-rs 0.92 (`@contentauth/c2pa-wasm` 0.15.0) and what it checks again:
 * trust lists by kind (claim roots as manifest anchors, time-stamp roots as time-stamp anchors), the
 * signing time a trusted time-stamp proves for an expired signer, extra hard-binding exclusions, and
 * ingredient manifests that c2pa-rs's whole-file reading does not judge. Every CA but Microsoft's real
 * roots is made here.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadC2pa } from '../../shared/adapters/c2pa/c2pa-wasm.js';
import { loadGateConfig } from '../../shared/core/config.js';
import { claimSignerChain, coseSign1Parts } from '../../shared/core/provenance/cose-signer.js';
import { readContainer } from '../../shared/core/provenance/container.js';
import {
  MICROSOFT_C2PA_ROOTS_PEM,
  MICROSOFT_CLAIM_ROOT_PEM,
  MICROSOFT_TIME_STAMP_ROOT_PEM,
} from '../../shared/core/provenance/default-trust.js';
import type { ManifestStoreJson, ProvenanceReport, StatusCodes } from '../../shared/core/provenance/gate.js';
import { readManifestStore } from '../../shared/core/provenance/jumbf.js';
import { readerSettings, type TrustLists } from '../../shared/core/provenance/trust-settings.js';
import { createVerifier } from '../../shared/adapters/c2pa/verifier.js';
import { type Verifier } from '../../shared/ports/verifier.js';
import { agentAction, craft, issue, makePki, OID, type Pki, pkiSigner } from '../helpers/crafted-c2pa.js';
import { craftWithPixelsExcluded } from '../helpers/extra-exclusion.js';
import { gradientImage } from '../helpers/images.js';

const HOUR = 3_600_000;
const AZURE_IMAGE = readFileSync(new URL('../fixtures/c2pa/azure-imagegen-in-designer-manifest.png', import.meta.url));

let trusted: Pki;
let attacker: Pki;
let png: Buffer;
let verifier: Verifier;

beforeAll(async () => {
  [trusted, attacker] = await Promise.all([makePki('Trusted Generator'), makePki('Attacker')]);
  png = await gradientImage(64, 64, 'png');
  verifier = await createVerifier(loadGateConfig({ AGENT_SCOPE: 'chain' }), undefined, {
    noDefaultTrust: true,
    extraPems: [trusted.anchorsPem],
  });
});

const judge = (bytes: Uint8Array) => verifier.verify(bytes, { file: 'crafted.png' });
const failed = (r: ProvenanceReport) => r.checks.filter((c) => !c.ok).map((c) => c.name);

/** c2pa-rs's own report on the active manifest, read with the gate's settings for `lists`. */
async function c2paReport(bytes: Uint8Array, lists: TrustLists, format = 'image/png') {
  const c2pa = await loadC2pa();
  const reader = await c2pa.WasmReader.fromBytes(format, bytes, readerSettings(lists));
  try {
    const store = reader.manifestStore() as ManifestStoreJson;
    const results: StatusCodes = store.validation_results?.activeManifest ?? {};
    const codes = (kind: keyof StatusCodes) => (results[kind] ?? []).map((s) => s.code);
    return { store, success: codes('success'), informational: codes('informational'), failure: codes('failure') };
  } finally {
    reader.free();
  }
}

describe("Microsoft's real image under c2pa-rs 0.92", () => {
  it('is trusted through its trusted time-stamp, although its one-year signing certificate has expired', async () => {
    const report = await (
      await createVerifier(loadGateConfig({ AGENT_SCOPE: 'chain' }))
    ).verify(AZURE_IMAGE, {
      file: 'azure.png',
    });
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('publish');
    expect(report.checks.filter((c) => /trusted|validity/i.test(c.name))).toEqual([
      expect.objectContaining({ name: 'Signed inside the certificate validity', ok: true }),
      expect.objectContaining({ name: 'Signer trusted', ok: true }),
      expect.objectContaining({
        name: 'Time-stamp trusted',
        ok: true,
        detail: 'time-stamped by Microsoft C2PA TimeStamping at 2026-08-01T18:35:54+00:00',
      }),
    ]);
    // The signer is judged at the time-stamp, not today: its certificate ran out on 2026-10-01.
    const reading = readContainer(AZURE_IMAGE, 'png');
    if (!reading.ok || !reading.jumbf) throw new Error('the fixture has no manifest store');
    const active = [...readManifestStore(reading.jumbf).values()].at(-1)!;
    const leaf = new X509Certificate(claimSignerChain(coseSign1Parts(active.signature))[0]!);
    expect(leaf.subject).toContain('CN=Microsoft Corporation');
    expect(new Date(leaf.validTo).toISOString().slice(0, 10)).toBe('2026-10-01');
    expect(Date.parse(leaf.validTo)).toBeLessThan(Date.now());
  });

  it('counts each Microsoft root only in its own kind', async () => {
    const byKind = await c2paReport(AZURE_IMAGE, {
      manifest: MICROSOFT_CLAIM_ROOT_PEM,
      timeStamp: MICROSOFT_TIME_STAMP_ROOT_PEM,
    });
    expect(byKind.success).toEqual(expect.arrayContaining(['signingCredential.trusted', 'timeStamp.trusted']));

    // One list for both, as 0.91 took it: the time-stamp root no longer vouches for time-stamps.
    const oneList = await c2paReport(AZURE_IMAGE, { manifest: MICROSOFT_C2PA_ROOTS_PEM, timeStamp: '' });
    expect(oneList.informational).toContain('timeStamp.untrusted');
    expect(oneList.failure).toEqual(
      expect.arrayContaining(['signingCredential.untrusted', 'signingCredential.expired']),
    );

    const swapped = await c2paReport(AZURE_IMAGE, {
      manifest: MICROSOFT_TIME_STAMP_ROOT_PEM,
      timeStamp: MICROSOFT_CLAIM_ROOT_PEM,
    });
    expect(swapped.success).not.toContain('signingCredential.trusted');
    expect(swapped.informational).toContain('timeStamp.untrusted');
  });
});

describe('an expired signer', () => {
  const now = Date.now();
  const signedAt = new Date(now - 12 * HOUR);
  // Valid from 20 h ago until 2 h ago: the claim was signed 12 h ago, inside that validity.
  const expiredSigner = async () =>
    issue(trusted.intermediate, 'Short-lived signer', {
      notBefore: new Date(now - 20 * HOUR),
      notAfter: new Date(now - 2 * HOUR),
    });
  const signed = async (tsa?: { cert: Pki['tsa']; at: Date }) =>
    craft({ chain: [await expiredSigner(), trusted.intermediate], ...(tsa ? { tsa } : {}) }, png, {
      actions: { actions: [agentAction({ when: signedAt.toISOString() })] },
    });

  it('publishes when a trusted time-stamp proves it signed while valid', async () => {
    const report = await judge(await signed({ cert: trusted.tsa, at: signedAt }));
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('publish');
  });

  it('is quarantined without a time-stamp, whatever time the manifest claims', async () => {
    const report = await judge(await signed());
    expect(report.verdict).toBe('quarantine');
    expect(failed(report)).toEqual(
      expect.arrayContaining(['Signed inside the certificate validity', 'Signer trusted']),
    );
    expect(report.reasons.join('\n')).toMatch(/signingCredential\.expired \(certificate expired\)/);
  });

  it("is quarantined with a time-stamp from an untrusted authority (the attacker's TSA)", async () => {
    const report = await judge(await signed({ cert: attacker.tsa, at: signedAt }));
    expect(report.verdict).toBe('quarantine');
    expect(failed(report)).toEqual(expect.arrayContaining(['Time-stamp trusted', 'Signer trusted']));
    expect(report.reasons.join('\n')).toMatch(/signingCredential\.expired/);
  });

  it('is quarantined when the trusted time-stamp falls after the certificate expired', async () => {
    const report = await judge(await signed({ cert: trusted.tsa, at: new Date(now - HOUR) }));
    expect(report.verdict).toBe('quarantine');
    expect(report.reasons.join('\n')).toMatch(/signingCredential\.expired/);
  });
});

describe('time-stamp authorities', () => {
  it('a time-stamp whose certificate lacks the timeStamping EKU is not trusted', async () => {
    const notATsa = await issue(trusted.tsaRoot, 'Document signer posing as a TSA', { ekus: [OID.documentSigning] });
    const report = await judge(await craft({ ...pkiSigner(trusted), tsa: { cert: notATsa } }, png));
    expect(report.verdict).toBe('quarantine');
    expect(failed(report)).toEqual(['Time-stamp trusted']);
    expect(report.reasons[0]).toMatch(/timeStamp\.untrusted \(certificate missing required EKU\)/);
  });

  it("c2pa-rs trusts a TSA certificate as a claim signer; the gate's certificate profile refuses it", async () => {
    const bytes = await craft({ chain: [trusted.tsa], tsa: { cert: trusted.tsa } }, png);
    const lists = { manifest: trusted.anchorsPem, timeStamp: trusted.anchorsPem };
    expect((await c2paReport(bytes, lists)).success).toContain('signingCredential.trusted');
    const report = await judge(bytes);
    expect(failed(report)).toEqual(['Signer may sign claims']);
    expect(report.reasons[0]).toMatch(/timeStamping certificate, which never signs claims/);
  });
});

describe('the hard binding', () => {
  it('a data hash that also excludes the pixels is quarantined, though c2pa-rs calls the file Trusted', async () => {
    const bytes = await craftWithPixelsExcluded(pkiSigner(trusted), png);
    const c2pa = await c2paReport(bytes, { manifest: trusted.anchorsPem, timeStamp: trusted.anchorsPem });
    expect(c2pa.store.validation_state).toBe('Trusted');
    expect(c2pa.success).toContain('assertion.dataHash.match');
    expect(c2pa.informational).toContain('assertion.dataHash.additionalExclusionsPresent');

    const report = await judge(bytes);
    expect(report.verdict).toBe('quarantine');
    expect(failed(report)).toEqual(['Hard binding covers the whole file']);
    expect(report.reasons[0]).toMatch(/^the hard binding leaves other bytes unchecked/);
  });
});

describe('ingredients (contentauth/c2pa-rs #2686 is open)', () => {
  it("the gate re-validates an ingredient manifest that c2pa-rs's whole-file reading lets through", async () => {
    const forged = await craft(pkiSigner(attacker), png);
    const bytes = await craft(pkiSigner(trusted), png, {
      actions: {
        actions: [{ action: 'c2pa.opened', softwareAgent: 'Designer', parameters: { ingredientIds: ['photo'] } }],
      },
      ingredients: [{ bytes: forged, format: 'image/png', id: 'photo', relationship: 'parentOf' }],
    });
    const c2pa = await c2paReport(bytes, { manifest: trusted.anchorsPem, timeStamp: trusted.anchorsPem });
    expect(c2pa.store.validation_state).toBe('Trusted');
    const deltas = c2pa.store.validation_results?.ingredientDeltas ?? [];
    expect(deltas.flatMap((d) => d.validationDeltas.failure ?? [])).toEqual([]);

    const report = await judge(bytes);
    expect(report.verdict).toBe('quarantine');
    expect(report.reasons.join('\n')).toMatch(
      /names Azure OpenAI ImageGen but is not proven: validated on its own, it lacks signingCredential\.trusted/,
    );
  });
});
