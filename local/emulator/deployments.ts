/**
 * The emulator's deployments: each a name (what the dated route's path and the v1 route's `model` field
 * carry) serving one model from the catalog, whose rules (sizes, qualities, formats, input_fidelity, mask
 * and image limits) it enforces. As on Azure, the name is free and the model is what counts.
 */
import { checkModel, DEFAULT_IMAGE_MODEL, type ImageModelSpec } from '../../shared/core/model-catalog.js';

/** Deployment name → catalog model name. */
export type DeploymentMap = Readonly<Record<string, string>>;

/** One deployment named after the default model, as `azd up` creates it. */
export const DEFAULT_DEPLOYMENTS: DeploymentMap = { [DEFAULT_IMAGE_MODEL]: DEFAULT_IMAGE_MODEL };

/** `name=model`, or a bare catalog model name serving itself. */
export function parseDeploymentSpecs(specs: readonly string[]): DeploymentMap {
  const map: Record<string, string> = {};
  for (const spec of specs) {
    const [name, model = name] = spec.split('=').map((s) => s.trim());
    if (!name || !model || spec.split('=').length > 2) {
      throw new Error(`--deployment must be NAME=MODEL (e.g. my-images=${DEFAULT_IMAGE_MODEL}), got "${spec}"`);
    }
    map[name] = model;
  }
  return map;
}

/**
 * Each deployment's model spec. A model Azure would not deploy today (unknown, preview-only, retired)
 * is refused with the reason, as Azure refuses such a deployment.
 */
export function resolveDeployments(map: DeploymentMap, today = new Date()): Map<string, ImageModelSpec> {
  const resolved = new Map<string, ImageModelSpec>();
  for (const [name, modelName] of Object.entries(map)) {
    const check = checkModel(modelName, undefined, today);
    if (!check.ok) throw new Error(`deployment "${name}": ${check.problem}`);
    resolved.set(name, check.model);
  }
  if (resolved.size === 0) throw new Error('the emulator needs at least one deployment');
  return resolved;
}
