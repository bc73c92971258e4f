/** The actions of a manifest (c2pa.actions v1 and v2) with the software agent each names. Pure. */
import type { ManifestJson } from './gate.js';

export interface Action {
  action?: unknown;
  when?: unknown;
  softwareAgent?: unknown;
  softwareAgentIndex?: unknown;
  digitalSourceType?: unknown;
}

export interface NamedAction {
  action: Action;
  /** The software agent's name, whether given as a string, as `{ name }`, or through softwareAgentIndex. */
  agent: string | null;
}

export const IPTC_SOURCE_TYPES = 'http://cv.iptc.org/newscodes/digitalsourcetype/';

/**
 * Actions whose software agent made the pixels: `c2pa.created` (generated) and `c2pa.edited` (an edit
 * of an input). Others (`c2pa.watermarked`, `c2pa.opened`, `c2pa.converted`, …) name tools that
 * touched the file without making it, so they never count as the agent's.
 */
export const MAKING_ACTIONS = ['c2pa.created', 'c2pa.edited'] as const;

const ACTIONS_LABEL = /^c2pa\.actions(\.v2)?(__\d+)?$/;

/** A configured source type as the full IPTC URI it stands for (`trainedAlgorithmicMedia` → `http://cv.iptc.org/…`). */
export function fullSourceType(configured: string): string {
  return /^[A-Za-z]+$/.test(configured) ? `${IPTC_SOURCE_TYPES}${configured}` : configured;
}

function agentName(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, 'name')) {
    const name = (value as { name: unknown }).name;
    return typeof name === 'string' ? name : null;
  }
  return null;
}

export function actionsOf(m: ManifestJson): NamedAction[] {
  const out: NamedAction[] = [];
  for (const a of m.assertions ?? []) {
    if (!ACTIONS_LABEL.test(a.label) || !a.data || typeof a.data !== 'object') continue;
    const data = a.data as { actions?: unknown; softwareAgents?: unknown };
    if (!Array.isArray(data.actions)) continue;
    for (const action of data.actions as unknown[]) {
      if (!action || typeof action !== 'object') continue;
      const act = action as Action;
      let agent = agentName(act.softwareAgent);
      if (agent === null && Number.isInteger(act.softwareAgentIndex) && Array.isArray(data.softwareAgents)) {
        agent = agentName((data.softwareAgents as unknown[])[act.softwareAgentIndex as number]);
      }
      out.push({ action: act, agent });
    }
  }
  return out;
}

/** The first making action that names an allowed agent with an allowed source type (full URIs, compared exactly). */
export function findAgentAction(
  m: ManifestJson,
  allowedAgents: string[],
  allowedSourceTypes: string[],
): (NamedAction & { agent: string }) | undefined {
  for (const named of actionsOf(m)) {
    const { action, agent } = named;
    if (
      agent !== null &&
      allowedAgents.includes(agent) &&
      typeof action.digitalSourceType === 'string' &&
      allowedSourceTypes.includes(action.digitalSourceType) &&
      (MAKING_ACTIONS as readonly unknown[]).includes(action.action)
    ) {
      return { action, agent };
    }
  }
  return undefined;
}
