/**
 * A composite bound to its edit: the publisher's manifest records the model output's hash, the mask's,
 * the region and the blend, and `verify --publisher … --edit FILE` checks the composite's pixels against
 * that edit. Replays signed by the publisher itself (a genuine edit over other pixels, over the unedited
 * photo, other content inside the mask) verify without `--edit` and fail with it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EmulatorIdentity } from '../../local/emulator/identity.js';
import { renderEdit } from '../../local/emulator/imaging.js';
import { signImage } from '../../local/emulator/sign.js';
import { composeFullSize } from '../../shared/adapters/imaging/compose.js';
import { type CompositeImage, type PhotoFormat } from '../../shared/core/composite/composite-image.js';
import { generatePublisher, type LocalPublisher } from '../../shared/adapters/signing/local-ca.js';
import { signComposite } from '../../shared/adapters/c2pa/composite-manifest.js';
import { localSigner } from '../../shared/adapters/signing/local-signer.js';
import { loadGateConfig } from '../../shared/core/config.js';
import { bindingFor, type CompositeBinding } from '../../shared/core/provenance/composite-binding.js';
import { CORE_TOLERANCE, SURROUND_TOLERANCE } from '../../shared/adapters/imaging/edit-pixels.js';
import type { ProvenanceReport } from '../../shared/core/provenance/gate.js';
import { creditKnownEdit, knownEdit } from '../../shared/core/provenance/known-edit.js';
import { createCompositeVerifier } from '../../shared/adapters/c2pa/composite-gate.js';
import { type CompositeVerifier } from '../../shared/ports/verifier.js';
import { createVerifier } from '../../shared/adapters/c2pa/verifier.js';
import { forgedIdentity } from '../helpers/forged-ca.js';
import { rectMask, type Rect } from '../helpers/images.js';

const W = 1600;
const H = 1200;
const HOLE: Rect = { x: 500, y: 350, width: 520, height: 400 };

let azure: EmulatorIdentity;
let publisher: LocalPublisher;
let verifier: CompositeVerifier;
let mask: Buffer;

/** A photo with texture (a gradient with deterministic noise); `seed` makes another photo. */
async function photoOf(seed: number, format: PhotoFormat): Promise<Buffer> {
  const raw = Buffer.alloc(W * H * 3);
  let n = seed * 7919 + 1;
  for (let i = 0; i < raw.length; i++) {
    n = (n * 1103515245 + 12345) & 0x7fffffff;
    const p = Math.floor(i / 3);
    // Another seed shifts the red sawtooth sideways and the blue level: another picture, not a tone shift.
    const x = ((p % W) + seed * 400) % W;
    const base = i % 3 === 0 ? x / 6.3 : i % 3 === 1 ? p / W / 4.7 : (seed * 90 + p / 9000) % 255;
    raw[i] = Math.max(0, Math.min(255, base + ((n >> 8) % 24) - 12));
  }
  const image = sharp(raw, { raw: { width: W, height: H, channels: 3 } });
  return (format === 'jpeg' ? image.jpeg({ quality: 90 }) : format === 'webp' ? image.webp() : image.png()).toBuffer();
}

/**
 * What the model sends back for this photo and prompt: the emulator's edit, signed Azure-shaped;
 * `brighter` lifts the whole picture, as a model that re-renders the photo may shift its tone.
 */
async function azureEditOf(photo: Buffer, prompt: string, brighter = 0): Promise<Buffer> {
  let pixels = await renderEdit(photo, mask, { prompt, size: 'auto', format: 'png' });
  if (brighter) pixels = await sharp(pixels).linear(1, brighter).png().toBuffer();
  return Buffer.from(await signImage(azure, pixels, { format: 'image/png', title: 'edit.png' }));
}

/** Signs `image` as the publisher, crediting `edit` and recording `binding` (by default, its own). */
async function sign(image: CompositeImage, photo: Buffer, edit: Buffer, binding?: CompositeBinding) {
  return Buffer.from(
    await signComposite(
      localSigner(publisher.keyPem, publisher.chainPem),
      { bytes: image.bytes, mime: image.mime, title: 'photo' },
      { bytes: photo, mime: image.mime, title: 'photo (original)' },
      { bytes: edit, mime: 'image/png', title: 'photo (Azure OpenAI edit)' },
      new Date(),
      binding ?? bindingFor(image, { photo, mask, edit }),
    ),
  );
}

const failed = (r: ProvenanceReport) => r.checks.filter((c) => !c.ok).map((c) => c.name);
const detailOf = (r: ProvenanceReport, name: string) => r.checks.find((c) => c.name === name)?.detail ?? '';
const withEdit = (edit: Buffer) => ({ binding: { edit, pixels: true } });
/** The failed checks, with their measures printed for the README's table. */
const failedLogged = (r: ProvenanceReport) => (console.log(r.reasons.join(' | ')), failed(r));

let photoA: Buffer;
let editA: Buffer;
let honest: CompositeImage;

beforeAll(async () => {
  [azure, publisher] = await Promise.all([forgedIdentity(), generatePublisher()]);
  verifier = await createCompositeVerifier(loadGateConfig({}), publisher.chainPem, undefined, {
    extraPems: [azure.caPem],
  });
  mask = await rectMask(W, H, HOLE);
  photoA = await photoOf(1, 'jpeg');
  editA = await azureEditOf(photoA, 'a red kite in the sky');
  honest = await composeFullSize(photoA, mask, editA);
}, 60_000);

describe('an honest composite, checked against its edit', () => {
  it.each(['jpeg', 'png', 'webp'] as const)(
    'a %s photo: the recorded hash is the edit, the masked area shows it, the surround is the same picture',
    async (format) => {
      const photo = format === 'jpeg' ? photoA : await photoOf(1, format);
      const edit = format === 'jpeg' ? editA : await azureEditOf(photo, 'a red kite in the sky');
      const image = format === 'jpeg' ? honest : await composeFullSize(photo, mask, edit);
      const signed = await sign(image, photo, edit);
      const report = await verifier.verify(signed, { file: `honest.${format}`, ...withEdit(edit) });
      expect(failed(report)).toEqual([]);
      expect(report.verdict).toBe('publish');
      const inside = detailOf(report, 'Bound to the edit: the masked area shows the edit');
      const around = detailOf(report, 'Bound to the edit: the same picture around the mask');
      // The measured margins, printed for the README's table.
      console.log(`${format}: ${inside} | ${around}`);
      expect(inside).toMatch(/worst mean difference/);
      expect(around).toMatch(/differs from the edit by/);
    },
    60_000,
  );

  it('an edit whose whole picture came back brighter still shows the same picture around the mask', async () => {
    const edit = await azureEditOf(photoA, 'a red kite in the sky', 20);
    const image = await composeFullSize(photoA, mask, edit);
    const report = await verifier.verify(await sign(image, photoA, edit), { file: 'bright.jpg', ...withEdit(edit) });
    expect(failed(report)).toEqual([]);
    expect(detailOf(report, 'Bound to the edit: the same picture around the mask')).toMatch(
      /overall shift of \(-(19|20), -(19|20), -(19|20)\)/,
    );
  }, 60_000);

  it.each(['png', 'webp'] as const)(
    'a Display P3 %s photo: compared in P3, it passes; with its profile swapped for sRGB, it fails',
    async (format) => {
      const p3 = sharp(await photoOf(1, 'png')).withIccProfile('p3');
      const photo = await (format === 'png' ? p3.png() : p3.webp()).toBuffer();
      const edit = await azureEditOf(photo, 'a red kite in the sky');
      const image = await composeFullSize(photo, mask, edit);
      const report = await verifier.verify(await sign(image, photo, edit), { file: `p3.${format}`, ...withEdit(edit) });
      expect(failed(report)).toEqual([]);
      console.log(`Display P3 ${format}: ${detailOf(report, 'Bound to the edit: the masked area shows the edit')}`);
      // The same samples labelled sRGB: the recorded profile is not the file's, so nothing is compared.
      const relabelled = { ...image, bytes: await sharp(image.bytes).withIccProfile('srgb').toBuffer() };
      const swapped = await verifier.verify(
        await sign(relabelled, photo, edit, bindingFor(image, { photo, mask, edit })),
        {
          file: `p3-as-srgb.${format}`,
          ...withEdit(edit),
        },
      );
      expect(detailOf(swapped, 'Bound to the edit: the masked area shows the edit')).toBe(
        "the composite's ICC profile is not the one its blend recorded",
      );
    },
    60_000,
  );

  it('records the region in the photo, the hashes and the blend', async () => {
    const binding = bindingFor(honest, { photo: photoA, mask, edit: editA });
    expect(binding.region).toEqual(HOLE);
    expect(binding.blend).toMatchObject({
      resize: { kernel: 'lanczos3', fit: 'fill', from: { width: 1536, height: 1024 } },
      orientation: 1,
      colour: { profile: null, intent: 'perceptual', bitsPerChannel: 8 },
      encoding: { format: 'jpeg', quality: 95, chromaSubsampling: '4:4:4' },
    });
    const report = await verifier.verify(await sign(honest, photoA, editA), { file: 'x.jpg' });
    expect(report.verdict).toBe('publish');
    expect(detailOf(report, 'Publisher: records the edit it is bound to')).toMatch(
      new RegExp(`model output ${binding.modelOutput.sha256.slice(0, 12)}.*region 520x400 at \\(500, 350\\)`),
    );
  }, 60_000);
});

describe('replays signed by the publisher pass without --edit and fail with it', () => {
  const bindingA = () => bindingFor(honest, { photo: photoA, mask, edit: editA });

  it("job A's genuine edit placed over another photo", async () => {
    const photoB = await photoOf(2, 'jpeg');
    const overB = await composeFullSize(photoB, mask, editA);
    const signed = await sign(overB, photoB, editA, bindingA());
    expect((await verifier.verify(signed, { file: 'r.jpg' })).verdict).toBe('publish');
    const report = await verifier.verify(signed, { file: 'r.jpg', ...withEdit(editA) });
    expect(failedLogged(report)).toEqual(['Bound to the edit: the same picture around the mask']);
    expect(report.reasons.join()).toMatch(new RegExp(`at most ${SURROUND_TOLERANCE}`));
  }, 60_000);

  it('the unedited photo, claiming the edit', async () => {
    const unedited = { ...honest, bytes: await sharp(photoA).jpeg({ quality: 95 }).toBuffer() };
    const signed = await sign(unedited, photoA, editA, bindingA());
    expect((await verifier.verify(signed, { file: 'r.jpg' })).verdict).toBe('publish');
    const report = await verifier.verify(signed, { file: 'r.jpg', ...withEdit(editA) });
    expect(failedLogged(report)).toEqual(['Bound to the edit: the masked area shows the edit']);
    expect(report.reasons.join()).toMatch(new RegExp(`at most ${CORE_TOLERANCE}`));
  }, 60_000);

  it('other content inside the mask (another edit of the same photo), claiming edit A', async () => {
    const other = await composeFullSize(photoA, mask, await azureEditOf(photoA, 'a blue boat'));
    const signed = await sign(other, photoA, editA, bindingA());
    const report = await verifier.verify(signed, { file: 'r.jpg', ...withEdit(editA) });
    expect(failedLogged(report)).toEqual(['Bound to the edit: the masked area shows the edit']);
  }, 60_000);

  it('one block inside the mask painted over', async () => {
    const { data, info } = await sharp(honest.bytes).raw().toBuffer({ resolveWithObject: true });
    for (let y = 600; y < 640; y++) for (let x = 700; x < 740; x++) data.fill(0, (y * W + x) * 3, (y * W + x) * 3 + 3);
    const painted = { ...honest, bytes: await sharp(data, { raw: info }).jpeg({ quality: 95 }).toBuffer() };
    const report = await verifier.verify(await sign(painted, photoA, editA, bindingA()), {
      file: 'r.jpg',
      ...withEdit(editA),
    });
    expect(failedLogged(report)).toEqual(['Bound to the edit: the masked area shows the edit']);
  }, 60_000);

  it('checked against an edit other than the one it records', async () => {
    const signed = await sign(honest, photoA, editA);
    const otherEdit = await azureEditOf(photoA, 'a blue boat');
    const report = await verifier.verify(signed, { file: 'r.jpg', ...withEdit(otherEdit) });
    expect(failed(report)).toEqual(['Bound to the edit: the recorded model output']);
    expect(report.reasons[0]).toMatch(/records model output [0-9a-f]{12}…, not this edit/);
  }, 60_000);

  it('a composite that records no binding is quarantined even without --edit', async () => {
    const signed = Buffer.from(
      await signComposite(
        localSigner(publisher.keyPem, publisher.chainPem),
        { bytes: honest.bytes, mime: honest.mime, title: 'photo' },
        { bytes: photoA, mime: honest.mime, title: 'photo (original)' },
        { bytes: editA, mime: 'image/png', title: 'edit' },
        new Date(),
      ),
    );
    const report = await verifier.verify(signed, { file: 'r.jpg' });
    expect(failed(report)).toEqual(['Publisher: records the edit it is bound to']);
    expect(report.reasons).toEqual(["the publisher's manifest records no org.imagegen-pipeline.composite assertion"]);
  }, 60_000);
});

describe('the Azure edit the pipeline just judged', () => {
  it('is credited from its own verdict only when the ingredient is byte for byte its manifest', async () => {
    const ordinary = await createVerifier(loadGateConfig({}), undefined, { extraPems: [azure.caPem] });
    const judged = await ordinary.verify(editA, { file: 'edited/a.png' });
    expect(judged.verdict).toBe('publish');
    const known = knownEdit(editA, judged)!;
    expect(known).toBeDefined();
    const signed = await sign(honest, photoA, editA);
    const reading = await verifier.verify(signed, { file: 'c.jpg', knownEdit: known });
    expect(failed(reading)).toEqual([]);
    expect(reading.manifest).toMatchObject({ softwareAgent: 'Azure OpenAI ImageGen', agentFoundIn: 'ingredient' });
    const storeOf = async (bytes: Buffer) => {
      const r = await ordinary.read(bytes);
      if (!r.ok) throw new Error(r.error);
      return r.store;
    };
    // The componentOf ingredient the composite's roles credit, by its exact assertion label.
    const credit = async (bytes: Buffer) => {
      const store = await storeOf(bytes);
      const component = store.manifests![store.active_manifest!]!.ingredients!.find(
        (i) => i.relationship === 'componentOf',
      )!;
      return creditKnownEdit(bytes, store, known, component.label!);
    };
    expect(await credit(signed)).toBeDefined();
    // The same pixels signed again by Azure are another manifest: not credited, so validated in full.
    const other = await sign(honest, photoA, await azureEditOf(photoA, 'a red kite in the sky'));
    expect(await credit(other)).toBeUndefined();
    // A model output that failed its gate is never credited.
    expect(knownEdit(editA, { ...judged, verdict: 'quarantine' })).toBeUndefined();
  }, 60_000);
});

describe('imagegen-pipeline verify --publisher … --edit FILE', () => {
  const BIN = new URL('../../bin/imagegen-pipeline.js', import.meta.url).pathname;
  const verify = async (...args: string[]) =>
    promisify(execFile)(process.execPath, [BIN, 'verify', ...args]).then(
      (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
    );

  it('exits 0 for the honest composite and 1 for the replay over another photo, with the reason', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'verify-edit-'));
    const file = (name: string, bytes: string | Buffer) => (
      writeFileSync(path.join(dir, name), bytes),
      path.join(dir, name)
    );
    const chain = file('publisher.pem', publisher.chainPem);
    const ca = file('azure-ca.pem', azure.caPem);
    const edit = file('edit.png', editA);
    const good = file('good.jpg', await sign(honest, photoA, editA));
    const photoB = await photoOf(3, 'jpeg');
    const replay = file(
      'replay.jpg',
      await sign(
        await composeFullSize(photoB, mask, editA),
        photoB,
        editA,
        bindingFor(honest, { photo: photoA, mask, edit: editA }),
      ),
    );

    const ok = await verify('--trust', ca, '--publisher', chain, '--edit', edit, good);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/Bound to the edit: the masked area shows the edit/);
    const bad = await verify('--trust', ca, '--publisher', chain, '--edit', edit, '--json', replay);
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.out) as ProvenanceReport;
    expect(report.reasons.join()).toMatch(/around the region, the composite at the edit's size differs from the edit/);
    const usage = await verify('--trust', ca, '--edit', edit, good);
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/--edit needs --publisher/);
  }, 120_000);
});
