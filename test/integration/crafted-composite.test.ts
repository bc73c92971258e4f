/**
 * Crafted composites and signatures against the gate's reading of signatures (issue 20): decoy
 * certificates in the COSE header slots c2pa-rs does not read, other certificates of the publisher's
 * CA, anchors the publisher level must not trust, the Azure edit in the wrong role, extra hard-binding
 * exclusions, and real JPEG framing; each beside controls that must publish. Every CA is made here.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadGateConfig } from '../../shared/core/config.js';
import { readContainer } from '../../shared/core/provenance/container.js';
import { type GateContext, type ProvenanceReport } from '../../shared/core/provenance/gate.js';
import { createCompositeVerifier } from '../../shared/adapters/c2pa/composite-gate.js';
import { type CompositeVerifier } from '../../shared/ports/verifier.js';
import { createVerifier } from '../../shared/adapters/c2pa/verifier.js';
import { type Verifier } from '../../shared/ports/verifier.js';
import {
  agentAction,
  craft,
  type Issued,
  issue,
  makePki,
  OID,
  type Pki,
  pkiSigner,
  rootCa,
} from '../helpers/crafted-c2pa.js';
import { craftComposite, type CraftedIngredient, type HeaderLayout, standard } from '../helpers/crafted-composite.js';
import { gradientImage } from '../helpers/images.js';
import { forgedIdentity } from '../helpers/forged-ca.js';
import { signImage } from '../../local/emulator/sign.js';

const BIN = new URL('../../bin/imagegen-pipeline.js', import.meta.url).pathname;
const HOUR = 3_600_000;

let azure: Pki;
let camera: Pki;
let forger: Pki;
let publisherRoot: Issued;
let publisher: Issued;
let otherCustomer: Issued;
let smime: Issued;
let chainPem: string;
let composites: CompositeVerifier;
let models: Verifier;
let images: Record<'png' | 'jpeg' | 'webp', Buffer>;
let edit: Buffer;

beforeAll(async () => {
  [azure, camera, forger, publisherRoot] = await Promise.all([
    makePki('Azure-like'),
    makePki('Camera'),
    makePki('Forger'),
    rootCa('Publisher Root'),
  ]);
  publisher = await issue(publisherRoot, 'Pipeline Publisher');
  otherCustomer = await issue(publisherRoot, 'Another Customer');
  smime = await issue(publisherRoot, 'Someone by e-mail', { ekus: [OID.emailProtection] });
  chainPem = `${publisher.pem}\n${publisherRoot.pem}`;
  const gate = loadGateConfig({});
  composites = await createCompositeVerifier(gate, chainPem, undefined, { extraPems: [azure.anchorsPem] });
  models = await createVerifier(gate, undefined, { noDefaultTrust: true, extraPems: [azure.anchorsPem] });
  const [png, jpeg, webp] = await Promise.all((['png', 'jpeg', 'webp'] as const).map((f) => gradientImage(48, 48, f)));
  images = { png: png!, jpeg: jpeg!, webp: webp! };
  edit = await craft(pkiSigner(azure), images.png);
}, 60_000);

const window = (): GateContext['editWindow'] => ({ start: new Date(Date.now() - 60_000), end: new Date() });
const context = (): GateContext => ({ file: 'crafted', editWindow: window() });
const photo = (bytes: Buffer, mime = 'image/png'): CraftedIngredient => ({
  bytes,
  mime,
  relationship: 'parentOf',
  id: 'original-photo',
});
const component = (bytes: Buffer, relationship = 'componentOf', id = 'azure-openai-edit'): CraftedIngredient => ({
  bytes,
  mime: 'image/png',
  relationship,
  id,
});
const honest = (key = publisher, layout: HeaderLayout = standard([key])) =>
  craftComposite(key.key, layout, { bytes: images.png, mime: 'image/png' }, [photo(images.png), component(edit)]);

function expectRefused(report: ProvenanceReport, reason: RegExp) {
  expect(report.verdict).toBe('quarantine');
  expect(report.reasons.join('\n')).toMatch(reason);
}

describe('controls that must publish', () => {
  it.each(['png', 'jpeg', 'webp'] as const)('an honest composite (%s)', async (format) => {
    const mime = `image/${format}`;
    const file = await craftComposite(publisher.key, standard([publisher]), { bytes: images[format], mime }, [
      photo(images[format], mime),
      component(edit),
    ]);
    const report = await composites.verify(file, context());
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe('publish');
    expect(report.checks.map((c) => c.name)).toContain('Publisher: One reading of the signer');
  });

  it('an iterative edit: the photo is an earlier Azure output; the window is the new edit’s own time-stamp', async () => {
    const earlier = new Date(Date.now() - 2 * HOUR);
    const before = await craft(pkiSigner(azure, { tsa: { cert: azure.tsa, at: earlier } }), images.png, {
      actions: { actions: [agentAction({ when: earlier.toISOString() })] },
    });
    const file = await craftComposite(publisher.key, standard([publisher]), { bytes: images.png, mime: 'image/png' }, [
      photo(before),
      component(edit),
    ]);
    const report = await composites.verify(file, context());
    expect(report.reasons).toEqual([]);
    expect(report.signingTime?.source).toBe('timestamp');
    expect(Date.parse(report.signingTime!.at!)).toBeGreaterThan(Date.now() - 5 * 60_000);
  });

  it('an iterative edit of a published composite: the photo carries the publisher’s manifest and its own edit', async () => {
    const file = await craftComposite(publisher.key, standard([publisher]), { bytes: images.png, mime: 'image/png' }, [
      photo(await honest()),
      component(edit),
    ]);
    expect((await composites.verify(file, context())).reasons).toEqual([]);
  });

  it('a photo that carries a camera manifest of its own', async () => {
    const shot = await craft(pkiSigner(camera), images.png, {
      actions: {
        actions: [
          {
            action: 'c2pa.created',
            digitalSourceType: 'http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture',
          },
        ],
      },
    });
    const file = await craftComposite(publisher.key, standard([publisher]), { bytes: images.png, mime: 'image/png' }, [
      photo(shot),
      component(edit),
    ]);
    expect((await composites.verify(file, context())).reasons).toEqual([]);
  });
});

describe('one reading of the signer', () => {
  it('refuses a decoy of the pinned leaf in the unprotected header while another leaf signs', async () => {
    const layout: HeaderLayout = { protected: [['x5chain', [otherCustomer]]], unprotected: [[33, [publisher]]] };
    expectRefused(await composites.verify(await honest(otherCustomer, layout), context()), /unprotected header/);
  });

  it.each([
    ['"x5chain" first', false],
    ['label 33 first', true],
  ])('refuses both keys in the protected header (%s)', async (_, labelFirst) => {
    const prot: HeaderLayout['protected'] = labelFirst
      ? [
          [33, [otherCustomer]],
          ['x5chain', [publisher]],
        ]
      : [
          ['x5chain', [otherCustomer]],
          [33, [publisher]],
        ];
    const report = await composites.verify(await honest(otherCustomer, { protected: prot }), context());
    expectRefused(report, /names its certificate twice/);
  });

  it("refuses a chain in the unprotected header even with the publisher's own key", async () => {
    const layout: HeaderLayout = { protected: [], unprotected: [['x5chain', [publisher]]] };
    expectRefused(await composites.verify(await honest(publisher, layout), context()), /unprotected header/);
  });

  it.each([
    ['another leaf of the publisher CA', () => otherCustomer],
    ['an S/MIME certificate of the publisher CA', () => smime],
  ])('refuses a composite signed by %s', async (_, who) => {
    const report = await composites.verify(await honest(who()), context());
    expectRefused(report, /signed by a certificate other than the pinned publisher/);
  });

  it('refuses a model output signed by a time-stamping certificate with the claim leaf as a decoy', async () => {
    const manifest = {
      claim_generator_info: [{ name: 'crafted-test', version: '1.0' }],
      title: 'crafted',
      format: 'image/png',
      assertions: [{ label: 'c2pa.actions.v2', data: { actions: [agentAction()] } }],
    };
    const image = { bytes: images.png, mime: 'image/png' };
    const decoys: [string, HeaderLayout, RegExp][] = [
      ['unprotected', { protected: [['x5chain', [azure.tsa]]], unprotected: [[33, [azure.signer]]] }, /unprotected/],
      [
        'protected',
        {
          protected: [
            ['x5chain', [azure.tsa]],
            [33, [azure.signer]],
          ],
        },
        /twice/,
      ],
    ];
    for (const [, layout, reason] of decoys) {
      const file = await craftComposite(azure.tsa.key, layout, image, [], manifest);
      expectRefused(await models.verify(file, { file: 'crafted' }), reason);
    }
  });

  it('the publisher level trusts only PUBLISHER_CERT_CHAIN’s root, not EXTRA_TRUST_ANCHORS', async () => {
    const underExtra = await issue(azure.root, 'Publisher under an extra anchor');
    const stray = await rootCa('Unrelated Root');
    const gate = loadGateConfig({ EXTRA_TRUST_ANCHORS: azure.anchorsPem });
    const verifier = await createCompositeVerifier(gate, `${underExtra.pem}\n${stray.pem}`);
    const report = await verifier.verify(await honest(underExtra), context());
    expectRefused(report, /is not trusted/);
    expect(report.checks.find((c) => !c.ok)?.name).toBe('Publisher: Signer trusted');
  });
});

describe('roles: the Azure edit is the one componentOf ingredient c2pa.edited names', () => {
  const composite = (ingredients: CraftedIngredient[]) =>
    craftComposite(publisher.key, standard([publisher]), { bytes: images.png, mime: 'image/png' }, ingredients);

  it('refuses the Azure edit as the parentOf ingredient', async () => {
    const file = await composite([{ ...component(edit, 'parentOf', 'original-photo') }, component(images.png)]);
    expectRefused(await composites.verify(file, context()), /the Azure edit is not the composite's component/);
  });

  it('refuses the Azure edit as an inputTo ingredient', async () => {
    const file = await composite([photo(images.png), component(edit, 'inputTo')]);
    expectRefused(await composites.verify(file, context()), /no componentOf ingredient/);
  });

  it.each([
    ['after', false],
    ['before', true],
  ])('refuses a second, forged componentOf %s the Azure edit', async (_, forgedFirst) => {
    const forged = component(await craft(pkiSigner(forger), images.png), 'componentOf', 'forged');
    const parts = forgedFirst ? [forged, component(edit)] : [component(edit), forged];
    const file = await composite([photo(images.png), ...parts]);
    expectRefused(await composites.verify(file, context()), /2 componentOf ingredients/);
  });

  it('refuses another ingredient that claims AI-made content', async () => {
    const file = await composite([photo(images.png), component(edit), component(edit, 'inputTo', 'reference')]);
    expectRefused(await composites.verify(file, context()), /another ingredient .*claims AI-made content/);
  });
});

describe('binding and framing', () => {
  it('refuses a data hash with a second exclusion range, which c2pa-rs validates as Trusted', async () => {
    const file = await withSecondExclusion(images.png);
    const report = await models.verify(file, { file: 'crafted' });
    expect(report.validation.state).toBe('Trusted');
    expect(report.checks.find((c) => c.name === 'Pixels intact')?.ok).toBe(true);
    expect(report.reasons).toEqual([expect.stringMatching(/^the hard binding leaves other bytes unchecked/)]);
  });

  it('accepts a JPEG whose single C2PA APP11 segment is numbered 0, as c2pa-rs does', async () => {
    const file = await craft(pkiSigner(azure), images.jpeg, { format: 'image/jpeg' });
    const renumbered = withApp11Sequence(file, 0);
    expect(renumbered.equals(file)).toBe(false);
    const report = await models.verify(renumbered, { file: 'seq0.jpg' });
    expect(report.reasons).toEqual([]);
  });

  it("reads Microsoft's real manifest store framed as Microsoft frames JPEG (one APP11, number 0) as c2pa-rs does", async () => {
    const real = readFileSync('test/fixtures/c2pa/azure-imagegen-in-designer-manifest.png');
    const store = readContainer(real, 'png');
    if (!store.ok || !store.jumbf) throw new Error('no store');
    const jpeg = jpegWithStore(images.jpeg, Buffer.from(store.jumbf), 0);
    const reading = readContainer(jpeg, 'jpeg');
    expect(reading.ok && Buffer.from(reading.jumbf!).equals(Buffer.from(store.jumbf))).toBe(true);
    const gate = loadGateConfig({ AGENT_SCOPE: 'chain' });
    const report = await (
      await createVerifier(gate)
    ).verify(jpeg, { file: 'microsoft.jpg', now: new Date('2026-09-01') });
    // Same signature, same signer read both ways; only the pixels (another image) and their binding differ.
    const failedChecks = report.checks.filter((c) => !c.ok).map((c) => c.name);
    expect(failedChecks).not.toContain('One reading of the signer');
    expect(failedChecks).not.toContain('Claim signature valid');
    expect(failedChecks).toContain('Pixels intact');
  });
});

describe('imagegen-pipeline verify --json --publisher', () => {
  it('publishes the model output in model mode and refuses each crafted file with the gate’s reason', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'crafted-composite-'));
    const write = (name: string, bytes: Buffer | string) => (
      writeFileSync(path.join(dir, name), bytes),
      path.join(dir, name)
    );
    const chain = write('chain.pem', chainPem);
    const emulator = await forgedIdentity();
    const anchors = write('anchors.pem', `${azure.anchorsPem}\n${emulator.caPem}`);
    // The emulator's own model output, as `npm start` makes it in model mode.
    const modelOutput = Buffer.from(await signImage(emulator, images.png, { format: 'image/png', title: 'model.png' }));
    const crafted = {
      'other-leaf.png': await honest(otherCustomer),
      'edit-as-parent.png': await craftComposite(
        publisher.key,
        standard([publisher]),
        { bytes: images.png, mime: 'image/png' },
        [component(edit, 'parentOf', 'original-photo'), component(images.png)],
      ),
      'decoy.png': await honest(otherCustomer, {
        protected: [['x5chain', [otherCustomer]]],
        unprotected: [[33, [publisher]]],
      }),
    };
    const files = [write('model.png', modelOutput), ...Object.entries(crafted).map(([n, b]) => write(n, b))];
    const run = await promisify(execFile)(process.execPath, [
      BIN,
      'verify',
      '--json',
      '--no-default-trust',
      '--trust',
      anchors,
      '--publisher',
      chain,
      ...files,
    ]).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    expect(run.code).toBe(1);
    const [model, ...refused] = run.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ProvenanceReport);
    expect(model!.verdict).toBe('publish');
    for (const [i, bytes] of Object.values(crafted).entries()) {
      const inProcess = await composites.verify(bytes, { file: 'x' });
      expect(refused[i]!.verdict).toBe('quarantine');
      expect(refused[i]!.reasons).toEqual(inProcess.reasons);
    }
  }, 120_000);
});

/**
 * A model output whose `c2pa.hash.data` lists the manifest store's range and 50 more bytes, hashed
 * correctly: c2pa-rs takes a data hash assertion given to its builder as it is, so two passes find the
 * store's place (the image bytes around it do not depend on the signing) and the hash of what is left.
 */
async function withSecondExclusion(png: Buffer): Promise<Buffer> {
  const make = (exclusions: { start: number; length: number }[], hash: Uint8Array = new Uint8Array(32)) =>
    craft(pkiSigner(azure), png, {
      assertions: [
        {
          label: 'c2pa.hash.data',
          data: { exclusions, name: 'jumbf manifest', alg: 'sha256', hash: [...hash], pad: [] },
        },
      ],
    });
  // Placeholders whose CBOR integers are as long as the real values (256 to 65535), so nothing moves.
  const first = await make([
    { start: 33, length: 0x1000 },
    { start: 0x1000, length: 50 },
  ]);
  const found = readContainer(first, 'png');
  if (!found.ok || found.storeRanges.length !== 1) throw new Error('no store');
  const store = found.storeRanges[0]!;
  const extra = { start: first.length - 100, length: 50 };
  const kept = [
    first.subarray(0, store.start),
    first.subarray(store.start + store.length, extra.start),
    first.subarray(extra.start + extra.length),
  ];
  const hash = kept.reduce((h, part) => h.update(part), createHash('sha256')).digest();
  const file = await make([store, extra], hash);
  const placed = readContainer(file, 'png');
  if (!placed.ok || placed.storeRanges[0]!.length !== store.length) throw new Error('the store moved');
  return file;
}

/** The JPEG with its C2PA APP11 segments' packet sequence numbers set to `seq` (bytes the data hash excludes). */
function withApp11Sequence(jpeg: Buffer, seq: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let pos = 2; pos + 4 < out.length && out[pos + 1] !== 0xda; pos += 2 + out.readUInt16BE(pos + 2)) {
    if (out[pos + 1] === 0xeb && out.toString('latin1', pos + 4, pos + 6) === 'JP') out.writeUInt32BE(seq, pos + 8);
  }
  return out;
}

/** `jpeg` with `store` in one APP11 segment right after SOI, box instance 1, packet sequence number `seq`. */
function jpegWithStore(jpeg: Buffer, store: Buffer, seq: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(0xffeb, 0);
  header.writeUInt16BE(2 + 8 + store.length, 2);
  header.write('JP', 4, 'latin1');
  header.writeUInt16BE(1, 6);
  header.writeUInt32BE(seq, 8);
  return Buffer.concat([jpeg.subarray(0, 2), header, store, jpeg.subarray(2)]);
}
