/**
 * The image models the pipeline can use, with the facts Microsoft documents for each. Drop validation,
 * the sidecar schema, the emulator, the config and the Bicep parameter's allowed values all follow this
 * one list (a test keeps Bicep in step). Pure data plus small look-ups; no I/O.
 *
 * Sources (checked 2026-11-24; Microsoft Learn pages and their MicrosoftDocs/azure-ai-docs sources):
 * - [schedule] https://learn.microsoft.com/azure/foundry/openai/concepts/model-retirement-schedule
 *              (revision of 2026-09-02: versions, lifecycle, retirement dates, replacements)
 * - [policy]   https://learn.microsoft.com/azure/foundry/openai/concepts/model-retirements
 * - [how-to]   https://learn.microsoft.com/azure/foundry/openai/how-to/dall-e (revision of 2026-04-17: sizes,
 *              qualities, output formats, edits, masks, input_fidelity, "GPT-image-2 is generally available")
 * - [card]     https://ai.azure.com/catalog/models/gpt-image-2 (version 2026-04-21, inpainting, input_fidelity)
 * - [quota]    https://learn.microsoft.com/azure/foundry/openai/quotas-limits (revision of 2026-08-20: default
 *              quota per model, quota tiers with GlobalStandard and DataZoneStandard rows)
 * - [api]      the Azure OpenAI v1 images/edits reference, which follows OpenAI's: up to 16 input images
 *              (png, webp or jpg, under 50 MB), mask PNG under 4 MB, prompt up to 32000 characters
 * - [regions]  https://github.com/MicrosoftDocs/azure-ai-docs/blob/main/articles/foundry/openai/includes/model-matrix/standard-global-by-capability.md
 *              (revision of 2026-04-28, "Image and Video models": the same five regions for all four models)
 * - [spec]     OpenAI's API reference (openapi 2.3.0, `InputFidelity`/`BetaInputFidelity`, read 2026-12-07 via
 *              https://docs.rs/crate/openai-client-base/0.16.0/source/src/models/beta_input_fidelity.rs):
 *              "Supports high and low on gpt-image-1 and gpt-image-1.5; … For gpt-image-2, omit this parameter."
 *
 * Rechecked 2026-12-07 (issue 25):
 * - Newer models: OpenAI announced GPT Image 2.5 (tiers "Flare" and "Sunburst", `gpt-image-2.5-flare`,
 *   `gpt-image-2.5-sunburst`) on 2026-09-08. Only third-party resellers and client defaults name them
 *   (e.g. https://muapi.ai/it/gpt-image-2.5, read 2026-12-07); no Microsoft page found today ([how-to],
 *   [schedule], the Foundry catalog, https://techcommunity.microsoft.com/blog/azure-ai-foundry-blog/
 *   introducing-openais-gpt-image-2-in-microsoft-foundry/4500571) lists them for Azure, in any status. They
 *   are not listed here until [schedule] does: a deployment of an unlisted model is refused by name.
 * - input_fidelity: [how-to] documents it for "image editing models" and excludes only gpt-image-1-mini,
 *   in a section written for the GPT-image-1 series; [card] says gpt-image-2 "supports high input_fidelity"
 *   (a capability line, no parameter table) while [spec] says to omit it for gpt-image-2 and OpenAI's API
 *   answers 400 `invalid_input_fidelity_model` for it. No Azure page documents the parameter as accepted by
 *   gpt-image-2, so it is never sent to gpt-image-2 (a sidecar asking for it is told so).
 * - Sizes, SKUs, regions and quotas: unchanged from the 2026-11-24 reading above (no newer revision found).
 * - [price]    list prices in US dollars per million tokens, read 2026-12-07: gpt-image-1-mini from
 *              https://developers.openai.com/api/docs/models/gpt-image-1-mini ; gpt-image-2 from
 *              https://xairouter.com/en/models/gpt-image-2/ (which quotes openai.com/api/pricing). Prices for
 *              gpt-image-1 and gpt-image-1.5 were not read again, so the catalog gives none (no cost shown).
 */

export type ModelLifecycle = 'ga' | 'preview';
export type ImageQualityValue = 'low' | 'medium' | 'high';
export type OutputFormatValue = 'png' | 'jpeg';
export type InputFormatValue = 'png' | 'jpeg' | 'webp';

export interface ModelVersion {
  /** The version string Azure deploys (`properties.model.version`). */
  readonly version: string;
  readonly lifecycle: ModelLifecycle;
  /** ISO date the version became available. */
  readonly released: string;
  /** ISO date after which deployments answer only errors and new ones are refused. */
  readonly retires: string;
  /** What Microsoft's retirement schedule names instead, when it names one. */
  readonly replacement?: string;
}

/** Sizes beyond the named ones: `WIDTHxHEIGHT` within these bounds ([how-to], gpt-image-2). */
export interface FlexibleSizes {
  readonly multipleOf: number;
  /** Longest edge, inclusive. */
  readonly maxEdge: number;
  /** Longest edge over shortest edge, inclusive. */
  readonly maxAspectRatio: number;
  readonly minPixels: number;
  readonly maxPixels: number;
}

export interface ImageModelSpec {
  readonly name: string;
  readonly versions: readonly ModelVersion[];
  /** Deployment SKUs the model is offered under. */
  readonly skus: readonly string[];
  /** Regions offering the Global Standard SKU. */
  readonly regions: readonly string[];
  /** Requests per minute one capacity unit allows, where documented. */
  readonly rpmPerCapacityUnit: number | undefined;
  /** Default quota (requests per minute per deployment) of a new subscription, where documented. */
  readonly defaultRpm: number | undefined;
  /** Named sizes, `auto` included. */
  readonly sizes: readonly string[];
  /** Other `WIDTHxHEIGHT` sizes the model accepts, when it accepts any. */
  readonly flexibleSizes?: FlexibleSizes;
  readonly qualities: readonly ImageQualityValue[];
  readonly outputFormats: readonly OutputFormatValue[];
  readonly inputFormats: readonly InputFormatValue[];
  readonly inputFidelity: boolean;
  /** Whether `background: transparent` is accepted (always with PNG output). */
  readonly transparentBackground: boolean;
  readonly maxInputImages: number;
  readonly maxPromptChars: number;
  readonly mask: {
    /** The mask must be a PNG with an alpha channel. */
    readonly format: 'png-alpha';
    /** The mask must have the first image's size. */
    readonly sameSizeAsImage: true;
    /** Strictly under this many bytes. */
    readonly maxBytesExclusive: number;
  };
  /** Largest input image, in bytes (strictly under). */
  readonly maxImageBytes: number;
  /** US dollars per million tokens ([price]), for the cost of a job; absent where not read. */
  readonly price?: TokenPrice;
}

export interface TokenPrice {
  readonly textInput: number;
  readonly imageInput: number;
  readonly imageOutput: number;
}

const FOUR_MB = 4 * 1024 * 1024;
const FIFTY_MB = 50 * 1024 * 1024;
const GLOBAL_STANDARD_REGIONS = ['eastus2', 'polandcentral', 'swedencentral', 'uaenorth', 'westus3'] as const;
/** [how-to]: "For GPT-image-1 series models, … one of 1024x1024, 1024x1536, or 1536x1024". */
const CLASSIC_SIZES = ['auto', '1024x1024', '1024x1536', '1536x1024'] as const;

/** Shared by the gpt-image family unless a model says otherwise. */
const FAMILY = {
  skus: ['GlobalStandard'],
  regions: GLOBAL_STANDARD_REGIONS,
  // [quota]: quota is counted in requests; 3 per capacity unit is documented for gpt-image-1 ("2 units =
  // 6 RPM") and is what Azure shows for the family.
  rpmPerCapacityUnit: 3,
  sizes: CLASSIC_SIZES,
  // [how-to]: low, medium, high; output PNG or JPEG ("WEBP images aren't supported" on Azure).
  qualities: ['low', 'medium', 'high'],
  outputFormats: ['png', 'jpeg'],
  // [api]: png, webp or jpg. ([how-to] names only PNG and JPG; the service takes WebP.)
  inputFormats: ['png', 'jpeg', 'webp'],
  transparentBackground: true,
  maxInputImages: 16,
  maxPromptChars: 32_000,
  // [how-to] and [api]: PNG, alpha 0 marks the edit, same dimensions as the (first) image, under 4 MB.
  mask: { format: 'png-alpha', sameSizeAsImage: true, maxBytesExclusive: FOUR_MB },
  // [how-to]: "The input image must be less than 50 MB".
  maxImageBytes: FIFTY_MB,
} as const;

export const IMAGE_MODELS: readonly ImageModelSpec[] = [
  {
    ...FAMILY,
    name: 'gpt-image-1',
    // [schedule]: Preview, retired 2026-10-23, no replacement named.
    versions: [{ version: '2025-04-15', lifecycle: 'preview', released: '2025-04-15', retires: '2026-10-23' }],
    defaultRpm: 9, // [quota]
    inputFidelity: true,
  },
  {
    ...FAMILY,
    name: 'gpt-image-1-mini',
    versions: [{ version: '2025-10-06', lifecycle: 'ga', released: '2025-10-06', retires: '2027-04-07' }],
    defaultRpm: 12, // [quota]
    price: { textInput: 2, imageInput: 2.5, imageOutput: 8 }, // [price]
    // [how-to]: "Input fidelity is not supported by the gpt-image-1-mini model."
    inputFidelity: false,
  },
  {
    ...FAMILY,
    name: 'gpt-image-1.5',
    versions: [{ version: '2025-12-16', lifecycle: 'ga', released: '2025-12-16', retires: '2027-06-16' }],
    skus: ['GlobalStandard', 'DataZoneStandard'], // [quota] tier tables
    defaultRpm: 9,
    inputFidelity: true,
  },
  {
    ...FAMILY,
    name: 'gpt-image-2',
    versions: [{ version: '2026-04-21', lifecycle: 'ga', released: '2026-04-21', retires: '2027-10-21' }],
    skus: ['GlobalStandard', 'DataZoneStandard'], // [quota] tier tables
    // [quota]: "Default GPT-image-2 quota limits: 9 requests per minute" (Tier 1 lists 6 for GlobalStandard).
    defaultRpm: 9,
    price: { textInput: 5, imageInput: 8, imageOutput: 30 }, // [price]
    // [how-to]: any size with both edges a multiple of 16, long edge up to 3840 px ([card]: "less than
    // 3840px"), aspect ratio up to 3:1, 655,360 to 8,294,400 pixels.
    flexibleSizes: { multipleOf: 16, maxEdge: 3840, maxAspectRatio: 3, minPixels: 655_360, maxPixels: 8_294_400 },
    // Not documented as accepted (see "Rechecked 2026-12-07" above): [spec] "For gpt-image-2, omit this
    // parameter"; OpenAI answers 400 invalid_input_fidelity_model. [card]'s capability line is not enough.
    inputFidelity: false,
    // [how-to] describes transparent backgrounds for the gpt-image-1 series; gpt-image-2 answers 400
    // "Transparent background is not supported for this model", so it is refused before the call.
    transparentBackground: false,
  },
];

/**
 * The default: a GA model with a mask-capable edits API that is not retiring within six months of
 * today (2026-11-24). gpt-image-1.5 retires 2027-06-16 (under seven months away); gpt-image-2 retires
 * 2027-10-21 ([schedule]), needs no limited-access application ([how-to]) and is offered in the same
 * Global Standard regions ([regions]).
 */
export const DEFAULT_IMAGE_MODEL = 'gpt-image-2';

export function findModel(name: string): ImageModelSpec | undefined {
  return IMAGE_MODELS.find((m) => m.name === name);
}

/** The newest version of a model (the one a deployment gets when no version is named). */
export function latestVersion(model: ImageModelSpec): ModelVersion {
  return model.versions.reduce((a, b) => (a.released >= b.released ? a : b));
}

export type ModelCheck =
  { ok: true; model: ImageModelSpec; version: ModelVersion; warning?: string } | { ok: false; problem: string };

const DAY_MS = 86_400_000;

/**
 * Whether `name` (and `version`, default its newest) may be used on `today`: unknown, preview-only and
 * retired models are refused with the fix; one retiring within 60 days is allowed with a warning.
 */
export function checkModel(name: string, version: string | undefined, today: Date): ModelCheck {
  const model = findModel(name);
  const known = IMAGE_MODELS.map((m) => m.name).join(', ');
  if (!model) return { ok: false, problem: `"${name}" is not an image model the pipeline knows (${known})` };
  const chosen = version ? model.versions.find((v) => v.version === version) : latestVersion(model);
  if (!chosen) {
    const versions = model.versions.map((v) => v.version).join(', ');
    return { ok: false, problem: `${name} has no version "${version}" (known: ${versions})` };
  }
  const retires = Date.parse(`${chosen.retires}T00:00:00Z`);
  if (today.getTime() >= retires) {
    const instead = chosen.replacement
      ? `use ${chosen.replacement}, its replacement`
      : `Microsoft names no replacement; use ${DEFAULT_IMAGE_MODEL}`;
    return { ok: false, problem: `${name} ${chosen.version} was retired on ${chosen.retires}; ${instead}` };
  }
  if (chosen.lifecycle !== 'ga') {
    return {
      ok: false,
      problem: `${name} ${chosen.version} is a preview; choose a GA model such as ${DEFAULT_IMAGE_MODEL}`,
    };
  }
  const daysLeft = Math.floor((retires - today.getTime()) / DAY_MS);
  if (daysLeft <= 60) {
    return {
      ok: true,
      model,
      version: chosen,
      warning: `${name} ${chosen.version} retires on ${chosen.retires} (${daysLeft} days)`,
    };
  }
  return { ok: true, model, version: chosen };
}

const SIZE = /^(\d{1,5})x(\d{1,5})$/;

/** Why `size` is not one `model` accepts, or `undefined` when it is. */
export function sizeProblem(model: ImageModelSpec, size: string): string | undefined {
  if (model.sizes.includes(size)) return undefined;
  const named = model.sizes.map((s) => `"${s}"`).join(', ');
  const rule = model.flexibleSizes;
  const m = SIZE.exec(size);
  if (!rule || !m) {
    const flexible = rule ? ` or WIDTHxHEIGHT (e.g. "2048x1152")` : '';
    return `${model.name} accepts ${named}${flexible}, not ${JSON.stringify(size)}`;
  }
  const [w, h] = [Number(m[1]), Number(m[2])];
  const long = Math.max(w, h);
  const short = Math.min(w, h);
  if (w % rule.multipleOf || h % rule.multipleOf)
    return `${size}: both edges must be multiples of ${rule.multipleOf} for ${model.name}`;
  if (long > rule.maxEdge) return `${size}: the longest edge may be at most ${rule.maxEdge} px for ${model.name}`;
  if (long > short * rule.maxAspectRatio)
    return `${size}: the aspect ratio may be at most ${rule.maxAspectRatio}:1 for ${model.name}`;
  if (w * h < rule.minPixels || w * h > rule.maxPixels) {
    return `${size} is ${w * h} pixels; ${model.name} accepts ${rule.minPixels} to ${rule.maxPixels}`;
  }
  return undefined;
}
