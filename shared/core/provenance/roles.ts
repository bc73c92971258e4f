/**
 * Which ingredient of a composite is the Azure edit, by role, as the file stores it: the one
 * `componentOf` ingredient that the pipeline's `c2pa.edited` action names (its `ingredients` /
 * `ingredient` hashed URIs). The `parentOf` photo may carry any history of its own (an earlier edit, a
 * camera's manifest): it is never the evidence and never a reason to refuse. Any other ingredient
 * claiming AI-made content, a second `componentOf`, or an edit that names something else is refused:
 * each would let a reader credit a different ingredient than the one the composite says it used.
 */
import { fullSourceType, type NamedAction } from './actions.js';
import type { ManifestEvidence } from './byte-evidence.js';

export type CompositeRoles = { credited: string; problem: null } | { credited: null; problem: string };

const ASSERTION_URI = /^self#jumbf=(?:\/c2pa\/[^/]+\/)?c2pa\.assertions\/([^/]+)$/;

/** The ingredient assertion labels an action's parameters point at. */
function namedIngredients(action: NamedAction): string[] {
  const p = (action.action.parameters ?? {}) as { ingredients?: unknown; ingredient?: unknown };
  const refs = [...(Array.isArray(p.ingredients) ? p.ingredients : []), ...(p.ingredient ? [p.ingredient] : [])];
  return refs.map((r) => ASSERTION_URI.exec(String((r as { url?: unknown })?.url ?? ''))?.[1] ?? '?');
}

/** Whether a manifest's stored actions claim AI-made content (an allowed agent or an allowed source type). */
export function claimsAi(actions: NamedAction[], agents: string[], sourceTypes: string[]): boolean {
  return actions.some(
    ({ action, agent }) =>
      (agent !== null && agents.includes(agent)) ||
      (typeof action.digitalSourceType === 'string' && sourceTypes.includes(fullSourceType(action.digitalSourceType))),
  );
}

export function compositeRoles(
  active: ManifestEvidence,
  manifests: Map<string, ManifestEvidence>,
  editedBy: string,
  ai: { agents: string[]; sourceTypes: string[] },
): CompositeRoles {
  const refuse = (problem: string): CompositeRoles => ({ credited: null, problem });
  const ingredients = [...active.ingredients];
  const components = ingredients.filter(([, i]) => i.relationship === 'componentOf').map(([label]) => label);
  if (components.length !== 1) {
    return refuse(
      components.length === 0
        ? "the composite has no componentOf ingredient, so no Azure edit is the composite's component"
        : `the composite has ${components.length} componentOf ingredients; exactly one, the Azure edit, may be`,
    );
  }
  const component = components[0]!;
  const edits = active.actions.filter((a) => a.action.action === 'c2pa.edited' && a.agent === editedBy);
  const named = [...new Set(edits.flatMap(namedIngredients))];
  if (named.length !== 1 || named[0] !== component) {
    return refuse(
      `the Azure edit is not the composite's component: the c2pa.edited action names ${named.join(', ') || 'no ingredient'}, ` +
        `while its componentOf ingredient is ${component}`,
    );
  }
  const aiIn = (label: string) => {
    const manifest = manifests.get(active.ingredients.get(label)?.manifest ?? '');
    return manifest !== undefined && claimsAi(manifest.actions, ai.agents, ai.sourceTypes);
  };
  for (const [label, ingredient] of ingredients) {
    if (label === component) continue;
    if (ingredient.relationship !== 'parentOf' && aiIn(label))
      return refuse(
        `another ingredient (${label}, ${ingredient.relationship ?? 'no relationship'}) claims AI-made content; ` +
          'only the componentOf Azure edit may',
      );
  }
  if (!aiIn(component)) {
    const elsewhere = ingredients.find(([label]) => label !== component && aiIn(label));
    if (elsewhere)
      return refuse(
        `the Azure edit is not the composite's component: it is its ${elsewhere[1].relationship} ingredient (${elsewhere[0]})`,
      );
  }
  return { credited: component, problem: null };
}
