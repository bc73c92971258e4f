/**
 * The image models the pipeline can use, with the facts Microsoft documents for each. Drop validation,
 * the sidecar schema, the emulator, the config and the Bicep parameter's allowed values all follow this
 * one list (a test keeps Bicep in step). Pure data plus small look-ups; no I/O.
 *
 * Sources (checked 2026-11-24):
 * - [retirements] https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements
 * - [models]      https://learn.microsoft.com/azure/ai-foundry/openai/concepts/models#image-generation-models
 * - [how-to]      https://learn.microsoft.com/azure/ai-foundry/openai/how-to/dall-e (image API, edits, masks)
 * - [quota]       https://learn.microsoft.com/azure/ai-foundry/openai/quotas-limits
 * - [regions]     https://github.com/MicrosoftDocs/azure-ai-docs/blob/main/articles/foundry/openai/includes/model-matrix/standard-global.md
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
  /** What Microsoft's retirement table suggests instead, once retired or retiring. */
  readonly replacement?: string;
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
  readonly sizes: readonly string[];
  readonly qualities: readonly ImageQualityValue[];
  readonly outputFormats: readonly OutputFormatValue[];
  readonly inputFormats: readonly InputFormatValue[];
  readonly inputFidelity: boolean;
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
  /** Largest input image, in bytes. */
  readonly maxImageBytes: number;
}

const FOUR_MB = 4 * 1024 * 1024;
const FIFTY_MB = 50 * 1024 * 1024;
const GLOBAL_STANDARD_REGIONS = ['eastus2', 'polandcentral', 'swedencentral', 'uaenorth', 'westus3'] as const;
const CLASSIC_SIZES = ['auto', '1024x1024', '1024x1536', '1536x1024'] as const;

/** Shared by the gpt-image family unless a model says otherwise ([how-to], [models]). */
const FAMILY = {
  skus: ['GlobalStandard'],
  regions: GLOBAL_STANDARD_REGIONS,
  sizes: CLASSIC_SIZES,
  qualities: ['low', 'medium', 'high'],
  outputFormats: ['png', 'jpeg'],
  inputFormats: ['png', 'jpeg', 'webp'],
  maxInputImages: 16,
  maxPromptChars: 32_000,
  mask: { format: 'png-alpha', sameSizeAsImage: true, maxBytesExclusive: FOUR_MB },
  maxImageBytes: FIFTY_MB,
} as const;

export const IMAGE_MODELS: readonly ImageModelSpec[] = [
  {
    ...FAMILY,
    name: 'gpt-image-1',
    // [retirements]: retired 2026-10-23, no automatic upgrade.
    versions: [{ version: '2025-04-15', lifecycle: 'ga', released: '2025-04-15', retires: '2026-10-23', replacement: 'gpt-image-1.5' }],
    // [quota]: 9 requests per minute by default, 3 capacity units (older docs: 2 units = 6 RPM).
    rpmPerCapacityUnit: 3,
    defaultRpm: 9,
    inputFidelity: true,
  },
  {
    ...FAMILY,
    name: 'gpt-image-1-mini',
    versions: [{ version: '2025-10-06', lifecycle: 'ga', released: '2025-10-06', retires: '2027-04-07' }],
    rpmPerCapacityUnit: 3,
    defaultRpm: 9,
    inputFidelity: false,
  },
  {
    ...FAMILY,
    name: 'gpt-image-1.5',
    versions: [{ version: '2025-12-16', lifecycle: 'ga', released: '2025-12-16', retires: '2027-06-16' }],
    rpmPerCapacityUnit: 3,
    defaultRpm: 9,
    inputFidelity: true,
  },
  {
    ...FAMILY,
    name: 'gpt-image-2',
    versions: [{ version: '2026-04-21', lifecycle: 'ga', released: '2026-04-21', retires: '2027-10-21' }],
    rpmPerCapacityUnit: 3,
    defaultRpm: 9,
    inputFidelity: true,
  },
];

/**
 * The default: a GA model with a mask-capable edits API that is not retiring within six months of
 * today (2026-11-24). gpt-image-1.5 retires 2027-06-16 (under seven months away); gpt-image-2 retires
 * 2027-10-21 ([retirements]) and is offered in the same Global Standard regions ([regions]).
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
  | { ok: true; model: ImageModelSpec; version: ModelVersion; warning?: string }
  | { ok: false; problem: string };

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
    const instead = chosen.replacement ?? DEFAULT_IMAGE_MODEL;
    return { ok: false, problem: `${name} ${chosen.version} was retired on ${chosen.retires}; use ${instead} instead` };
  }
  if (chosen.lifecycle !== 'ga') {
    return { ok: false, problem: `${name} ${chosen.version} is a preview; choose a GA model such as ${DEFAULT_IMAGE_MODEL}` };
  }
  const daysLeft = Math.floor((retires - today.getTime()) / DAY_MS);
  if (daysLeft <= 60) {
    return { ok: true, model, version: chosen, warning: `${name} ${chosen.version} retires on ${chosen.retires} (${daysLeft} days)` };
  }
  return { ok: true, model, version: chosen };
}
