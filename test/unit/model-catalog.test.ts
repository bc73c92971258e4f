import { describe, expect, it } from 'vitest';
import {
  checkModel,
  DEFAULT_IMAGE_MODEL,
  findModel,
  IMAGE_MODELS,
  latestVersion,
  sizeProblem,
} from '../../shared/core/model-catalog.js';

const TODAY = new Date('2026-11-24T00:00:00Z');
const DAY_MS = 86_400_000;
const gpt2 = findModel('gpt-image-2')!;

describe('model catalog', () => {
  it("lists the gpt-image family with the dates of Microsoft's retirement schedule", () => {
    expect(
      IMAGE_MODELS.map((m) => [m.name, latestVersion(m).version, latestVersion(m).lifecycle, latestVersion(m).retires]),
    ).toEqual([
      ['gpt-image-1', '2025-04-15', 'preview', '2026-10-23'],
      ['gpt-image-1-mini', '2025-10-06', 'ga', '2027-04-07'],
      ['gpt-image-1.5', '2025-12-16', 'ga', '2027-06-16'],
      ['gpt-image-2', '2026-04-21', 'ga', '2027-10-21'],
    ]);
  });

  it('defaults to a GA model that edits with a mask and does not retire within six months', () => {
    const check = checkModel(DEFAULT_IMAGE_MODEL, undefined, TODAY);
    expect(check).toMatchObject({ ok: true, version: { lifecycle: 'ga' } });
    const retires = Date.parse(`${latestVersion(findModel(DEFAULT_IMAGE_MODEL)!).retires}T00:00:00Z`);
    expect(retires - TODAY.getTime()).toBeGreaterThan(183 * DAY_MS);
    expect(check.ok && check.warning).toBeFalsy();
    expect(findModel(DEFAULT_IMAGE_MODEL)!.mask).toEqual({
      format: 'png-alpha',
      sameSizeAsImage: true,
      maxBytesExclusive: 4 * 1024 * 1024,
    });
  });

  it('refuses a retired, unknown, preview or unknown-version model with the fix', () => {
    expect(checkModel('gpt-image-1', undefined, TODAY)).toEqual({
      ok: false,
      problem: 'gpt-image-1 2025-04-15 was retired on 2026-10-23; Microsoft names no replacement; use gpt-image-2',
    });
    expect(checkModel('dall-e-3', undefined, TODAY)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^"dall-e-3" is not an image model/),
    });
    expect(checkModel('gpt-image-2', '2025-01-01', TODAY)).toEqual({
      ok: false,
      problem: 'gpt-image-2 has no version "2025-01-01" (known: 2026-04-21)',
    });
    // Before its retirement, gpt-image-1 was refused as a preview.
    expect(checkModel('gpt-image-1', undefined, new Date('2026-06-01T00:00:00Z'))).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/is a preview; choose a GA model such as gpt-image-2/),
    });
  });

  it('warns in the last 60 days before a retirement', () => {
    expect(checkModel('gpt-image-1-mini', undefined, new Date('2027-03-01T00:00:00Z'))).toMatchObject({
      ok: true,
      warning: 'gpt-image-1-mini 2025-10-06 retires on 2027-04-07 (37 days)',
    });
  });

  it('knows which sizes each model takes', () => {
    expect(sizeProblem(gpt2, 'auto')).toBeUndefined();
    expect(sizeProblem(gpt2, '3840x2160')).toBeUndefined();
    expect(sizeProblem(gpt2, '2048x1152')).toBeUndefined();
    expect(sizeProblem(gpt2, '3856x2160')).toMatch(/longest edge may be at most 3840/);
    expect(sizeProblem(findModel('gpt-image-1.5')!, '1024x1024')).toBeUndefined();
    expect(sizeProblem(findModel('gpt-image-1.5')!, '2048x1152')).toMatch(
      /gpt-image-1\.5 accepts "auto", "1024x1024", "1024x1536", "1536x1024", not "2048x1152"/,
    );
  });

  it('records the limits validation relies on', () => {
    for (const m of IMAGE_MODELS) {
      expect(m.maxInputImages).toBe(16);
      expect(m.maxPromptChars).toBe(32_000);
      expect(m.outputFormats).toEqual(['png', 'jpeg']);
      expect(m.skus).toContain('GlobalStandard');
    }
    expect(IMAGE_MODELS.filter((m) => !m.inputFidelity).map((m) => m.name)).toEqual([
      'gpt-image-1-mini',
      'gpt-image-2',
    ]);
    expect(IMAGE_MODELS.filter((m) => !m.transparentBackground).map((m) => m.name)).toEqual(['gpt-image-2']);
  });
});
