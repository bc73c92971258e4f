import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { actionsOf } from '../../shared/core/provenance/actions.js';
import { type ByteEvidence, readByteEvidence } from '../../shared/core/provenance/byte-evidence.js';
import type { CborValue } from '../../shared/core/provenance/cbor.js';
import { readContainer } from '../../shared/core/provenance/container.js';
import { renderChecklist } from '../../shared/core/provenance/checklist.js';
import { evaluateGate, type GatePolicy, type ManifestStoreJson } from '../../shared/core/provenance/gate.js';
import { terminalSafe } from '../../shared/core/provenance/terminal-text.js';

const policy: GatePolicy = {
  trustAnchors: ['Test Root'],
  allowedAgents: ['Azure OpenAI ImageGen'],
  allowedSourceTypes: ['trainedAlgorithmicMedia', 'compositeWithTrainedAlgorithmicMedia'],
  agentScope: 'active',
  tolerated: [{ code: 'claim.malformed', label: 'c2pa.soft-binding' }],
  signingTimeSkewMs: 60_000,
};
const TRAINED = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
const url = (label: string, what: string) => `self#jumbf=/c2pa/${label}/${what}`;
const OK_CODES = [
  'claimSignature.validated',
  'claimSignature.insideValidity',
  'signingCredential.trusted',
  'assertion.dataHash.match',
];

function store(
  options: {
    actions?: unknown;
    failures?: { code: string; url: string }[];
    success?: string[];
    softwareAgents?: unknown[];
  } = {},
): ManifestStoreJson {
  return {
    active_manifest: 'urn:a',
    validation_state: 'Trusted',
    manifests: {
      'urn:a': {
        claim_generator_info: [{ name: 'gen', version: '1' }],
        signature_info: {
          issuer: 'Microsoft Corporation',
          common_name: 'Microsoft Corporation',
          cert_serial_number: REAL_SERIAL,
          time: '2026-11-21T10:00:00+00:00',
        },
        assertions: [
          {
            label: 'c2pa.actions.v2',
            data: {
              actions: options.actions ?? [
                {
                  action: 'c2pa.created',
                  softwareAgent: { name: 'Azure OpenAI ImageGen' },
                  digitalSourceType: TRAINED,
                },
              ],
              ...(options.softwareAgents ? { softwareAgents: options.softwareAgents } : {}),
            },
          },
        ],
      },
    },
    validation_results: {
      activeManifest: {
        success: (options.success ?? OK_CODES).map((code) => ({ code, url: url('urn:a', codeUri(code)) })),
        failure: options.failures ?? [],
      },
    },
  };
}

const codeUri = (code: string) =>
  code.startsWith('assertion.dataHash') ? 'c2pa.assertions/c2pa.hash.data' : 'c2pa.signature';
const DOCUMENT_SIGNER = { ekus: ['1.3.6.1.5.5.7.3.36'], digitalSignature: true, isCa: false };
/** A real signer (Microsoft's, from the fixture), so the gate's one reading has a certificate to compare. */
const REAL = (() => {
  const png = readFileSync('test/fixtures/c2pa/azure-imagegen-in-designer-manifest.png');
  const container = readContainer(png, 'png');
  const read = container.ok && container.jumbf ? readByteEvidence(container.jumbf) : undefined;
  const signer = read?.ok ? [...read.manifests.values()][0]!.signer : undefined;
  if (!signer?.ok) throw new Error('the fixture has no readable signer');
  return signer;
})();
const REAL_SERIAL = BigInt(`0x${REAL.leaf.serialNumber}`).toString();
const evidence = (profile = DOCUMENT_SIGNER): ByteEvidence => ({
  ok: true,
  manifests: new Map([
    ['urn:a', { signer: { ...REAL, profile }, ingredients: new Map(), actions: [], exclusions: null }],
  ]),
});
/** The evidence with the active manifest's actions as the store lists them (here the bytes say the same). */
const withActions = (e: ByteEvidence, s: ManifestStoreJson): ByteEvidence => {
  if (!e.ok) return e;
  const stored = new Map((s.manifests?.['urn:a']?.assertions ?? []).map((a) => [a.label, a.data as CborValue]));
  const active = e.manifests.get('urn:a')!;
  return { ok: true, manifests: new Map([['urn:a', { ...active, actions: actionsOf(stored) }]]) };
};
const NOW = new Date('2026-11-24T12:00:00Z');

const judge = (
  s: ManifestStoreJson,
  p: Partial<GatePolicy> = {},
  editWindow?: { start: Date; end: Date },
  e = evidence(),
) =>
  evaluateGate(
    { ok: true, store: s, evidence: withActions(e, s), ingredientReads: new Map(), storeRanges: [] },
    { ...policy, ...p },
    { file: 'f.png', now: NOW, ...(editWindow ? { editWindow } : {}) },
  );

describe('gate policy', () => {
  it('publishes a trusted, intact manifest made by the allowed agent, with no reasons', () => {
    const r = judge(store());
    expect(r).toMatchObject({ verdict: 'publish', reasons: [] });
    expect(r.checks.every((c) => c.ok)).toBe(true);
  });

  it('tolerates a failure only on the assertion it is scoped to', () => {
    const onSoftBinding = judge(
      store({ failures: [{ code: 'claim.malformed', url: url('urn:a', 'c2pa.assertions/c2pa.soft-binding__1') }] }),
    );
    expect(onSoftBinding.verdict).toBe('publish');
    expect(onSoftBinding.validation.tolerated).toHaveLength(1);
    const elsewhere = judge(
      store({ failures: [{ code: 'claim.malformed', url: url('urn:a', 'c2pa.assertions/c2pa.actions.v2') }] }),
    );
    expect(elsewhere.verdict).toBe('quarantine');
    expect(elsewhere.reasons[0]).toMatch(/claim\.malformed on c2pa\.assertions\/c2pa\.actions\.v2/);
  });

  it('quarantines any failure a passing check does not explain (a revoked signer stays revoked)', () => {
    const r = judge(
      store({ failures: [{ code: 'signingCredential.ocsp.revoked', url: url('urn:a', 'c2pa.signature') }] }),
    );
    expect(r.verdict).toBe('quarantine');
    expect(r.reasons.join()).toMatch(/signingCredential\.ocsp\.revoked/);
  });

  it.each([
    ['claimSignature.validated', 'Claim signature valid'],
    ['signingCredential.trusted', 'Signer trusted'],
    ['assertion.dataHash.match', 'Pixels intact'],
    ['claimSignature.insideValidity', 'Signed inside the certificate validity'],
  ])('needs %s', (missing, check) => {
    const r = judge(store({ success: OK_CODES.filter((c) => c !== missing) }));
    expect(r.verdict).toBe('quarantine');
    expect(r.checks.find((c) => c.name === check)?.ok).toBe(false);
  });

  it('finds the agent as a plain string or through softwareAgentIndex, and needs an AI source type on the same action', () => {
    expect(
      judge(
        store({
          actions: [{ action: 'c2pa.created', softwareAgent: 'Azure OpenAI ImageGen', digitalSourceType: TRAINED }],
        }),
      ).verdict,
    ).toBe('publish');
    expect(
      judge(
        store({
          actions: [{ action: 'c2pa.created', softwareAgentIndex: 0, digitalSourceType: TRAINED }],
          softwareAgents: [{ name: 'Azure OpenAI ImageGen' }],
        }),
      ).verdict,
    ).toBe('publish');
    const split = judge(
      store({
        actions: [
          { action: 'c2pa.created', digitalSourceType: TRAINED },
          { action: 'c2pa.edited', softwareAgent: { name: 'Azure OpenAI ImageGen' } },
        ],
      }),
    );
    expect(split.verdict).toBe('quarantine');
  });

  it('binds the credential to the job: the signing time must fall in the edit window', () => {
    const window = (start: string, end: string) => ({ start: new Date(start), end: new Date(end) });
    const timestamped = store({ success: [...OK_CODES, 'timeStamp.validated', 'timeStamp.trusted'] });
    expect(judge(timestamped, {}, window('2026-11-21T09:59:30Z', '2026-11-21T10:00:10Z')).verdict).toBe('publish');
    expect(judge(timestamped, {}, window('2026-11-21T10:00:30Z', '2026-11-21T10:01:00Z')).verdict).toBe('publish'); // inside the skew
    const late = judge(timestamped, {}, window('2026-11-21T10:05:00Z', '2026-11-21T10:06:00Z'));
    expect(late.verdict).toBe('quarantine');
    // Without a trusted time-stamp the action's own signed "when" is the signing time.
    const noTimestamp = store({
      actions: [
        {
          action: 'c2pa.created',
          softwareAgent: { name: 'Azure OpenAI ImageGen' },
          digitalSourceType: TRAINED,
          when: '2026-11-21T12:00:00Z',
        },
      ],
    });
    const r = judge(noTimestamp, {}, window('2026-11-21T11:59:00Z', '2026-11-21T12:00:30Z'));
    expect(r.verdict).toBe('publish');
    expect(r.signingTime?.source).toBe('action');
    expect(
      judge(
        store({
          actions: [
            { action: 'c2pa.created', softwareAgent: { name: 'Azure OpenAI ImageGen' }, digitalSourceType: TRAINED },
          ],
        }),
        {},
        window('2026-11-21T11:59:00Z', '2026-11-21T12:00:30Z'),
      ).reasons[0],
    ).toMatch(/no signing time/);
  });

  it('explains a missing manifest', () => {
    const r = evaluateGate({ ok: false, error: 'no Content Credentials: the PNG carries no C2PA manifest' }, policy, {
      file: 'f.png',
    });
    expect(r).toMatchObject({
      verdict: 'quarantine',
      manifest: null,
      reasons: ['no Content Credentials: the PNG carries no C2PA manifest'],
    });
  });

  it.each([
    ['another serial number', { cert_serial_number: '12345' }],
    ['another common name', { common_name: 'Someone Else' }],
    ['another organisation', { issuer: 'Someone Else Inc' }],
    ['no signer at all', { cert_serial_number: undefined }],
  ])('quarantines when c2pa-rs reports %s than the certificate the file names', (_name, change) => {
    const s = store();
    Object.assign(s.manifests!['urn:a']!.signature_info!, change);
    const r = judge(s);
    expect(r.verdict).toBe('quarantine');
    expect(r.checks.find((c) => !c.ok)).toMatchObject({
      name: 'One reading of the signer',
      detail: expect.stringMatching(/^the signer cannot be read one way: c2pa-rs (verified|reported no)/),
    });
  });

  it('accepts a bare IPTC name as stored (the policy lists bare names too), and reports it as the file says', () => {
    const r = judge(
      store({
        actions: [
          {
            action: 'c2pa.created',
            softwareAgent: 'Azure OpenAI ImageGen',
            digitalSourceType: 'trainedAlgorithmicMedia',
          },
        ],
      }),
    );
    expect(r.verdict).toBe('publish');
    expect(r.manifest?.digitalSourceType).toBe('trainedAlgorithmicMedia');
  });

  it.each([
    ['a bare word of another type', 'digitalCapture'],
    ['a look-alike URI', 'https://evil.example/not-iptc/trainedAlgorithmicMedia'],
    ['the IPTC path on another host', 'http://evil.example/newscodes/digitalsourcetype/trainedAlgorithmicMedia'],
  ])('compares source types as full IPTC URIs: %s is not one', (_name, digitalSourceType) => {
    const r = judge(
      store({ actions: [{ action: 'c2pa.created', softwareAgent: 'Azure OpenAI ImageGen', digitalSourceType }] }),
    );
    expect(r.verdict).toBe('quarantine');
    expect(r.checks.find((c) => !c.ok)?.name).toBe('Made by an allowed AI agent');
  });

  it("counts a status only at its exact URI: another manifest's success proves nothing", () => {
    const s = store();
    s.validation_results!.activeManifest!.success = OK_CODES.map((code) => ({
      code,
      url: url('urn:other', codeUri(code)),
    }));
    const r = judge(s);
    expect(r.verdict).toBe('quarantine');
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual([
      'Claim signature valid',
      'Signed inside the certificate validity',
      'Signer trusted',
      'Pixels intact',
    ]);
  });

  it('needs a claim-signing certificate profile, read from the bytes', () => {
    const tsa = judge(
      store(),
      {},
      undefined,
      evidence({ ekus: ['1.3.6.1.5.5.7.3.8'], digitalSignature: true, isCa: false }),
    );
    expect(tsa.reasons).toEqual([expect.stringMatching(/timeStamping certificate, which never signs claims/)]);
    expect(
      judge(store(), {}, undefined, evidence({ ekus: ['1.3.6.1.5.5.7.3.36'], digitalSignature: false, isCa: false }))
        .reasons,
    ).toEqual([expect.stringMatching(/lacks digitalSignature/)]);
  });

  it('refuses a signing time later than now plus the skew', () => {
    const at = (when: string) =>
      store({
        success: [...OK_CODES, 'timeStamp.validated', 'timeStamp.trusted'],
        actions: [{ action: 'c2pa.created', softwareAgent: 'Azure OpenAI ImageGen', digitalSourceType: TRAINED, when }],
      });
    expect(judge(at('2026-11-24T12:00:30Z')).verdict).toBe('publish'); // inside the skew
    const late = store({
      actions: [
        {
          action: 'c2pa.created',
          softwareAgent: 'Azure OpenAI ImageGen',
          digitalSourceType: TRAINED,
          when: '2026-12-09T12:00:00Z',
        },
      ],
    });
    expect(judge(late).reasons).toEqual([expect.stringMatching(/signing time of 2026-12-09T12:00:00Z, after now/)]);
  });
});

describe('the terminal checklist', () => {
  it('shows control characters, ANSI escapes and bidi overrides visibly, so no manifest text forges a line', () => {
    const s = store();
    s.manifests!['urn:a']!.title = 'x\x1b[2J\x1b[8m\n\n  Verdict: PUBLISH\r';
    s.manifests!['urn:a']!.claim_generator_info = [{ name: 'gen\u202egnp.exe' }];
    const report = { ...judge(s, { allowedAgents: ['Nobody'] }), file: 'evil\n  Verdict: PUBLISH.png' };
    const out = renderChecklist(report);
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e]/);
    expect(out.split('\n').filter((line) => /^\s*Verdict:/.test(line))).toEqual(['  Verdict: QUARANTINE']);
    expect(out).toContain('evil\\n  Verdict: PUBLISH.png');
    expect(out).toContain('gen\\u202egnp.exe');
  });

  it('escapes every unsafe character class and doubles backslashes', () => {
    expect(terminalSafe('a\tb\\c\u0007\u009b\u2066\ufeff\u200b\ud800é')).toBe(
      'a\\tb\\\\c\\x07\\x9b\\u2066\\ufeff\\u200b\\ud800é',
    );
  });
});
