/**
 * The actions of a manifest (c2pa.actions v1 and v2) with the software agent each names, read from the
 * assertion's CBOR as stored in the file (c2pa-rs reports normalised values, e.g. a bare source type as
 * the full IPTC URI, so its JSON is not what the file says). Pure.
 */
import { type CborValue, plainCbor } from './cbor.js';

export interface Action {
  action?: unknown;
  when?: unknown;
  softwareAgent?: unknown;
  softwareAgentIndex?: unknown;
  digitalSourceType?: unknown;
  parameters?: unknown;
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

/** The actions of a manifest's stored assertions (by exact label, as `readManifestStore` decodes them). */
export function actionsOf(assertions: Map<string, CborValue>): NamedAction[] {
  const out: NamedAction[] = [];
  for (const [label, stored] of assertions) {
    const data = plainCbor(stored) as { actions?: unknown; softwareAgents?: unknown } | null;
    if (!ACTIONS_LABEL.test(label) || !data || typeof data !== 'object') continue;
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

/**
 * The first making action that names an allowed agent with an allowed source type (full URIs). The
 * stored value is compared as the file says it: a bare IPTC name (`trainedAlgorithmicMedia`) stands for
 * its IPTC URI, as in the policy's own list; any other spelling is not the allowed type.
 */
export function findAgentAction(
  actions: NamedAction[],
  allowedAgents: string[],
  allowedSourceTypes: string[],
): (NamedAction & { agent: string }) | undefined {
  for (const named of actions) {
    const { action, agent } = named;
    if (
      agent !== null &&
      allowedAgents.includes(agent) &&
      typeof action.digitalSourceType === 'string' &&
      allowedSourceTypes.includes(fullSourceType(action.digitalSourceType)) &&
      (MAKING_ACTIONS as readonly unknown[]).includes(action.action)
    ) {
      return { action, agent };
    }
  }
  return undefined;
}
