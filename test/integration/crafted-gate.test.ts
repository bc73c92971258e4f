/**
 * Crafted files against the gate, one class of attack at a time, each beside controls that must still
 * publish. Every CA, key and time-stamp authority is made here; "trusted" means only that the verifier
 * is given that PKI's roots (as `verify --no-default-trust --trust ROOT` would be).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadGateConfig } from '../../shared/core/config.js';
import { readContainer } from '../../shared/core/provenance/container.js';
import type { ProvenanceReport } from '../../shared/core/provenance/gate.js';
import { readManifestStore } from '../../shared/core/provenance/jumbf.js';
import { createVerifier } from '../../shared/adapters/c2pa/verifier.js';
import { type Verifier } from '../../shared/ports/verifier.js';
import {
  AGENT,
  agentAction,
  craft,
  type CraftOptions,
  issue,
  KeyUsage,
  makePki,
  OID,
  type Pki,
  pkiSigner,
  TRAINED,
} from '../helpers/crafted-c2pa.js';
import { gradientImage } from '../helpers/images.js';
import { jpegSegmentAt } from '../helpers/jpeg-segments.js';
import { manifestBox, swapManifest } from '../helpers/jumbf-surgery.js';

const DAY = 86_400_000;
const BIN = new URL('../../bin/imagegen-pipeline.js', import.meta.url).pathname;

let trusted: Pki;
let attacker: Pki;
let png: Buffer;
let jpeg: Buffer;
let webp: Buffer;
const verifiers: Partial<Record<'active' | 'chain', Verifier>> = {};

beforeAll(async () => {
  [trusted, attacker] = await Promise.all([makePki('Trusted Generator'), makePki('Attacker')]);
  [png, jpeg, webp] = await Promise.all([
    gradientImage(64, 64, 'png'),
    gradientImage(64, 64, 'jpeg'),
    gradientImage(64, 64, 'webp'),
  ]);
  for (const scope of ['active', 'chain'] as const) {
    verifiers[scope] = await createVerifier(loadGateConfig({ AGENT_SCOPE: scope }), undefined, {
      noDefaultTrust: true,
      extraPems: [trusted.anchorsPem],
    });
  }
});

const judge = (bytes: Buffer, scope: 'active' | 'chain' = 'active') =>
  verifiers[scope]!.verify(bytes, { file: 'crafted' });
const failed = (r: ProvenanceReport) => r.checks.filter((c) => !c.ok).map((c) => c.name);
const imageFor = (format: CraftOptions['format']) =>
  format === 'image/jpeg' ? jpeg : format === 'image/webp' ? webp : png;
const byTrusted = (options: CraftOptions = {}) => craft(pkiSigner(trusted), imageFor(options.format), options);
const actions = (...list: Record<string, unknown>[]) => ({ actions: list });

describe('controls: trusted credentials shaped in every accepted way publish', () => {
  it.each<[string, () => Promise<Buffer>]>([
    ['root → intermediate → signer, agent as { name }, c2pa.actions.v2', () => byTrusted()],
    ['agent as a plain string', () => byTrusted({ actions: actions(agentAction({ softwareAgent: AGENT })) })],
    [
      'c2pa.actions v1',
      () => byTrusted({ actionsLabel: 'c2pa.actions', actions: actions(agentAction({ softwareAgent: AGENT })) }),
    ],
    [
      'softwareAgentIndex into softwareAgents',
      () =>
        byTrusted({
          actions: {
            actions: [agentAction({ softwareAgent: undefined, softwareAgentIndex: 0 })],
            softwareAgents: [{ name: AGENT }],
          },
        }),
    ],
    [
      'a c2pa.edited action (an edit of an input)',
      () =>
        byTrusted({
          actions: actions(
            { action: 'c2pa.opened', parameters: { ingredientIds: ['input'] } },
            agentAction({ action: 'c2pa.edited' }),
          ),
          ingredients: [{ bytes: png, format: 'image/png', id: 'input', relationship: 'parentOf' }],
        }),
    ],
    [
      'compositeWithTrainedAlgorithmicMedia',
      () =>
        byTrusted({
          actions: actions(
            agentAction({
              digitalSourceType: 'http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia',
            }),
          ),
        }),
    ],
    [
      'a JPEG whose manifest spans several APP11 segments',
      () =>
        byTrusted({
          format: 'image/jpeg',
          assertions: [{ label: 'org.example.padding', data: { text: 'x'.repeat(150_000) } }],
        }),
    ],
    [
      'a signer with the C2PA claim-signing EKU',
      async () =>
        craft(
          {
            ...pkiSigner(trusted),
            chain: [
              await issue(trusted.intermediate, 'C2PA EKU signer', { ekus: [OID.c2paClaimSigning] }),
              trusted.intermediate,
            ],
          },
          png,
        ),
    ],
    [
      "a signer with Microsoft's C2PA EKU",
      async () =>
        craft(
          {
            ...pkiSigner(trusted),
            chain: [
              await issue(trusted.intermediate, 'MS EKU signer', { ekus: [OID.microsoftC2pa] }),
              trusted.intermediate,
            ],
          },
          png,
        ),
    ],
    [
      'a signer with emailProtection',
      async () =>
        craft(
          {
            ...pkiSigner(trusted),
            chain: [
              await issue(trusted.intermediate, 'S/MIME signer', { ekus: [OID.emailProtection] }),
              trusted.intermediate,
            ],
          },
          png,
        ),
    ],
    ['a WebP', () => byTrusted({ format: 'image/webp' })],
    ['no time-stamp (validity judged at now)', () => craft(pkiSigner(trusted, { tsa: undefined }), png)],
  ])('%s', async (_name, make) => {
    const report = await judge(await make());
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('publish');
  });

  it('the multi-segment JPEG control really spans several APP11 segments', async () => {
    const bytes = await byTrusted({
      format: 'image/jpeg',
      assertions: [{ label: 'org.example.padding', data: { text: 'x'.repeat(150_000) } }],
    });
    let segments = 0;
    for (
      let at = bytes.indexOf(Buffer.from([0xff, 0xeb]));
      at >= 0;
      at = bytes.indexOf(Buffer.from([0xff, 0xeb]), at + 2)
    )
      segments++;
    expect(segments).toBeGreaterThan(2);
  });
});

describe('signer certificate profile: only claim-signing certificates with digitalSignature sign claims', () => {
  const leaf = (name: string, options: Parameters<typeof issue>[2]) => async () =>
    craft(
      { ...pkiSigner(trusted), chain: [await issue(trusted.intermediate, name, options), trusted.intermediate] },
      png,
    );
  it.each<[string, () => Promise<Buffer>, RegExp]>([
    [
      "the trusted TSA's own certificate signs the claim",
      () => craft({ chain: [trusted.tsa], tsa: { cert: trusted.tsa } }, png),
      /timeStamping/,
    ],
    ['a leaf with the timeStamping EKU', leaf('TSA-shaped signer', { ekus: [OID.timeStamping] }), /timeStamping/],
    ['a leaf with the OCSPSigning EKU', leaf('OCSP signer', { ekus: [OID.ocspSigning] }), /OCSPSigning/],
    [
      'a leaf with documentSigning and timeStamping',
      leaf('Both', { ekus: [OID.documentSigning, OID.timeStamping] }),
      /timeStamping/,
    ],
    [
      'a leaf whose keyUsage lacks digitalSignature',
      leaf('No DS', { keyUsage: KeyUsage.nonRepudiation }),
      /digitalSignature/,
    ],
    ['a leaf with no keyUsage at all', leaf('No KU', { keyUsage: null }), /digitalSignature/],
    ['a leaf with no EKU at all', leaf('No EKU', { ekus: null }), /extended key usage|EKU/],
    [
      'a CA certificate with documentSigning and digitalSignature',
      leaf('CA signer', {
        ca: true,
        ekus: [OID.documentSigning],
        keyUsage: KeyUsage.digitalSignature | KeyUsage.keyCertSign,
      }),
      /certificate authority|signingCredential/,
    ],
  ])('%s is quarantined', async (_name, make, why) => {
    const report = await judge(await make());
    expect(report.verdict).toBe('quarantine');
    expect(report.reasons.join('\n')).toMatch(why);
  });
});

// A bare source type word cannot be crafted here: c2pa-rs writes the full IPTC URI for it when signing.
// test/unit/gate.test.ts covers a manifest that reports the bare word.
describe('exact values', () => {
  it.each<[string, Record<string, unknown>]>([
    [
      'a look-alike source type URI',
      agentAction({ digitalSourceType: 'https://evil.example/not-iptc/trainedAlgorithmicMedia' }),
    ],
    ['the IPTC URI over https', agentAction({ digitalSourceType: TRAINED.replace('http:', 'https:') })],
    [
      'a non-AI source type',
      agentAction({ digitalSourceType: 'http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture' }),
    ],
    ['the agent on a c2pa.watermarked action', agentAction({ action: 'c2pa.watermarked' })],
    ['the agent on a c2pa.converted action', agentAction({ action: 'c2pa.converted' })],
    ['an agent name with a trailing space', agentAction({ softwareAgent: `${AGENT} ` })],
    ['an agent name in other case', agentAction({ softwareAgent: AGENT.toLowerCase() })],
  ])('%s is quarantined', async (_name, action) => {
    // After a creating action by another tool when needed, so that c2pa-rs finds the action list well formed.
    const first = {
      action: 'c2pa.created',
      softwareAgent: 'Some Tool',
      digitalSourceType: 'http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture',
    };
    const report = await judge(
      await byTrusted({ actions: action.action === 'c2pa.created' ? actions(action) : actions(first, action) }),
    );
    expect(report.verdict).toBe('quarantine');
    expect(failed(report)).toContain('Made by an allowed AI agent');
  });

  it('a not-yet-valid signer with a trusted time-stamp 15 days ahead is quarantined', async () => {
    const now = Date.now();
    const future = await issue(trusted.intermediate, 'Future signer', {
      notBefore: new Date(now + 10 * DAY),
      notAfter: new Date(now + 400 * DAY),
    });
    const bytes = await craft(
      { chain: [future, trusted.intermediate], tsa: { cert: trusted.tsa, at: new Date(now + 15 * DAY) } },
      png,
      {
        actions: actions(agentAction({ when: new Date(now + 15 * DAY).toISOString() })),
      },
    );
    const report = await judge(bytes);
    expect(report.verdict).toBe('quarantine');
    expect(failed(report)).toContain('Not signed in the future');
  });

  it('an action time in the future, without a time-stamp, is quarantined', async () => {
    const bytes = await craft(pkiSigner(trusted, { tsa: undefined }), png, {
      actions: actions(agentAction({ when: new Date(Date.now() + 2 * DAY).toISOString() })),
    });
    expect(failed(await judge(bytes))).toEqual(['Not signed in the future']);
  });
});

describe('corrupt containers', () => {
  it('a PNG whose manifest chunk has a wrong CRC is quarantined', async () => {
    const signed = await byTrusted();
    expect((await judge(signed)).verdict).toBe('publish');
    const at = signed.indexOf(Buffer.from('caBX', 'latin1'));
    const length = signed.readUInt32BE(at - 4);
    const bad = Buffer.from(signed);
    bad[at + 4 + length + 3]! ^= 0xff;
    const report = await judge(bad);
    expect(report.verdict).toBe('quarantine');
    expect(report.reasons).toEqual([
      expect.stringMatching(/the PNG is corrupt: chunk "caBX" at byte \d+ has a wrong CRC/),
    ]);
  });

  it('a PNG with any other chunk CRC wrong is quarantined', async () => {
    const signed = await byTrusted();
    const at = signed.indexOf(Buffer.from('IEND', 'latin1'));
    const bad = Buffer.from(signed);
    bad[at + 4]! ^= 0xff;
    expect((await judge(bad)).reasons[0]).toMatch(/chunk "IEND" .* wrong CRC/);
  });

  it.each<[string, (b: Buffer) => Buffer, RegExp]>([
    [
      'cut inside the manifest segment',
      (b) => b.subarray(0, jpegSegmentAt(b, 0xeb) + 200),
      /segment 0xFFEB .* truncated/,
    ],
    ['cut inside the scan data', (b) => b.subarray(0, b.length - 40), /no end-of-image marker/],
    [
      'a segment length past the end',
      (b) => {
        const out = Buffer.from(b);
        out.writeUInt16BE(0xfff0, jpegSegmentAt(out, 0xdb) + 2);
        return out;
      },
      /truncated|no marker/,
    ],
  ])('a JPEG %s is quarantined', async (_name, cut, why) => {
    const signed = await byTrusted({ format: 'image/jpeg' });
    expect((await judge(signed)).verdict).toBe('publish');
    const report = await judge(cut(signed));
    expect(report.verdict).toBe('quarantine');
    expect(report.reasons[0]).toMatch(why);
  });
});

describe('chain scope: an ingredient counts only when its own manifest is proven', () => {
  const withIngredients = (ingredients: Buffer[]) =>
    byTrusted({
      actions: actions(
        { action: 'c2pa.opened', softwareAgent: 'Designer', parameters: { ingredientIds: ['i0'] } },
        ...ingredients.slice(1).map((_, i) => ({
          action: 'c2pa.placed',
          softwareAgent: 'Designer',
          parameters: { ingredientIds: [`i${i + 1}`] },
        })),
      ),
      ingredients: ingredients.map((bytes, i) => ({
        bytes,
        format: 'image/png' as const,
        id: `i${i}`,
        relationship: i === 0 ? 'parentOf' : 'componentOf',
      })),
    });
  // Shaped like the agent's own manifest, by another tool with a name of the same length: a forgery can match its size.
  const camera = () =>
    byTrusted({ actions: actions(agentAction({ softwareAgent: { name: 'Contoso Camera 2000 X' } })) });

  it('control: a trusted ingredient made by the agent publishes under chain, and not under active', async () => {
    const bytes = await withIngredients([await byTrusted()]);
    const chain = await judge(bytes, 'chain');
    expect(chain.reasons).toEqual([]);
    expect(chain.manifest?.agentFoundIn).toBe('ingredient');
    const active = await judge(bytes, 'active');
    expect(active.verdict).toBe('quarantine');
    expect(active.reasons[0]).toMatch(/AGENT_SCOPE=chain would accept it/);
  });

  it("a forged ingredient cannot borrow another ingredient's validation", async () => {
    const forged = await craft(pkiSigner(attacker), png);
    const bytes = await withIngredients([await camera(), forged]);
    const report = await judge(bytes, 'chain');
    expect(report.verdict).toBe('quarantine');
    expect(report.reasons.join('\n')).toMatch(
      /names Azure OpenAI ImageGen but is not proven: validated on its own, it lacks signingCredential\.trusted/,
    );
  });

  it('a forged ingredient alone is not proven either', async () => {
    const report = await judge(await withIngredients([await craft(pkiSigner(attacker), png)]), 'chain');
    expect(report.verdict).toBe('quarantine');
  });

  it('an ingredient time-stamped in the future by a not-yet-valid signer is not proven', async () => {
    const now = Date.now();
    const future = await issue(trusted.intermediate, 'Future signer', {
      notBefore: new Date(now + 10 * DAY),
      notAfter: new Date(now + 400 * DAY),
    });
    const ingredient = await craft(
      { chain: [future, trusted.intermediate], tsa: { cert: trusted.tsa, at: new Date(now + 15 * DAY) } },
      png,
      {
        actions: actions(agentAction({ when: new Date(now + 15 * DAY - 1000).toISOString() })),
      },
    );
    const report = await judge(await withIngredients([ingredient]), 'chain');
    expect(report.verdict).toBe('quarantine');
    expect(report.reasons.join('\n')).toMatch(/in the future/);
  });

  it('an ingredient signed by a TSA certificate is not proven', async () => {
    const byTsa = await craft({ chain: [trusted.tsa], tsa: { cert: trusted.tsa } }, png);
    const report = await judge(await withIngredients([byTsa]), 'chain');
    expect(report.verdict).toBe('quarantine');
    expect(report.reasons.join('\n')).toMatch(/not proven/);
  });

  /** An honest file whose ingredient (a camera's) is swapped afterwards for a same-size, same-label manifest naming the agent. */
  async function swapped(forger: Pki): Promise<Buffer> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const ingredient = await camera();
      const honest = await withIngredients([ingredient]);
      const label = labelOfIngredient(honest);
      const forgery = await craft(pkiSigner(forger), png, { label });
      const replacement = manifestBox(forgery, label);
      if (replacement.length === manifestBox(honest, label).length) return swapManifest(honest, label, replacement);
    }
    throw new Error('could not make a same-size forgery');
  }

  it('an ingredient manifest swapped for a trusted same-size manifest naming the agent is quarantined (hash recomputed)', async () => {
    const report = await judge(await swapped(trusted), 'chain');
    expect(report.verdict).toBe('quarantine');
    expect(report.reasons.join('\n')).toMatch(
      /do not hash to what the active manifest recorded|ingredient\.manifest\.mismatch/,
    );
  });

  it("an ingredient manifest swapped for the attacker's same-size forgery is quarantined", async () => {
    const report = await judge(await swapped(attacker), 'chain');
    expect(report.verdict).toBe('quarantine');
  });
});

function withBadIendCrc(png: Buffer): Buffer {
  const out = Buffer.from(png);
  out[out.length - 1]! ^= 0xff;
  return out;
}

/** The label of the one manifest in a PNG's store that is not the active (last) one. */
function labelOfIngredient(file: Buffer): string {
  const reading = readContainer(file, 'png');
  if (!reading.ok || !reading.jumbf) throw new Error('no manifest store');
  const labels = [...readManifestStore(reading.jumbf).keys()];
  return labels[labels.length - 2]!;
}

describe('verify --json --no-default-trust --trust ROOT on the crafted files', () => {
  it('gives every file its right verdict in one run', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'crafted-'));
    const roots = path.join(dir, 'roots.pem');
    writeFileSync(roots, trusted.anchorsPem);
    const cases: [string, Buffer, 'publish' | 'quarantine'][] = [
      ['control.png', await byTrusted(), 'publish'],
      ['control.jpg', await byTrusted({ format: 'image/jpeg' }), 'publish'],
      ['attacker.png', await craft(pkiSigner(attacker), png), 'quarantine'],
      ['tsa-signed.png', await craft({ chain: [trusted.tsa], tsa: { cert: trusted.tsa } }, png), 'quarantine'],
      [
        'evil-source.png',
        await byTrusted({
          actions: actions(agentAction({ digitalSourceType: 'https://evil.example/not-iptc/trainedAlgorithmicMedia' })),
        }),
        'quarantine',
      ],
      ['bad-crc.png', withBadIendCrc(await byTrusted()), 'quarantine'],
    ];
    const files = cases.map(([name, bytes]) => {
      const file = path.join(dir, name);
      writeFileSync(file, bytes);
      return file;
    });
    const { stdout } = await promisify(execFile)(process.execPath, [
      BIN,
      'verify',
      '--json',
      '--no-default-trust',
      '--trust',
      roots,
      ...files,
    ]).catch((e: { stdout: string }) => e);
    const verdicts = stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as ProvenanceReport).verdict);
    expect(verdicts).toEqual(cases.map(([, , v]) => v));
  });
});

describe('mangled bytes', () => {
  it('a signed file with random bytes changed or cut is a report, never a crash', async () => {
    const originals = [
      await byTrusted(),
      await byTrusted({ format: 'image/jpeg' }),
      await byTrusted({ format: 'image/webp' }),
    ];
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 90; i++) {
      const bytes = Buffer.from(originals[i % 3]!);
      const mangled = i % 5 === 0 ? bytes.subarray(0, random(bytes.length)) : bytes;
      for (let k = 0; k < 1 + random(4); k++) mangled[random(mangled.length)] = random(256);
      const report = await judge(mangled);
      expect(['publish', 'quarantine']).toContain(report.verdict);
      expect(report.verdict === 'publish' || report.reasons.length > 0).toBe(true);
    }
  });
});
