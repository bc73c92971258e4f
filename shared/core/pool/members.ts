/**
 * The deployments the app may send edits to (IMAGE_MODEL_POOL), each with its own endpoint, model and
 * quota. Keyless: every member is reached with the app's Entra ID identity (or the emulator's key
 * locally). When the setting is unset, the single-deployment settings make a pool of one, named after
 * the deployment, so today's schedule blob and configuration keep working. Pure.
 */
import { checkModel } from '../model-catalog.js';

export interface PoolMember {
  /** Unique in the pool; names the member's schedule and circuit breaker in the ledger. */
  id: string;
  endpoint: string;
  deployment: string;
  /** Catalog name of the model the deployment serves. */
  model: string;
  rpm: number;
  /** Azure region, for ALLOWED_REGIONS; empty when unknown (a pool of one from the single settings). */
  region: string;
}

const FIELDS = ['endpoint', 'deployment', 'model', 'rpm', 'region', 'id'] as const;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `eastus2`, `East US 2` and `EASTUS2` are the same region. */
export function normalizeRegion(region: string): string {
  return region.replace(/\s+/g, '').toLowerCase();
}

/** IMAGE_MODEL_POOL's JSON → members, or every problem found, each naming the entry and field. */
export function parsePool(text: string, today = new Date()): { members: PoolMember[]; problems: string[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { members: [], problems: [`IMAGE_MODEL_POOL is not valid JSON: ${(err as Error).message}`] };
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    const problem =
      'IMAGE_MODEL_POOL must be a JSON array of {endpoint, deployment, model, rpm, region}, with at least one entry';
    return { members: [], problems: [problem] };
  }
  const problems: string[] = [];
  const members: PoolMember[] = [];
  parsed.forEach((entry: unknown, i) => {
    const where = `IMAGE_MODEL_POOL[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(
        `${where} must be an object like {"endpoint": "https://…", "deployment": "…", "model": "…", "rpm": 9, "region": "eastus2"}`,
      );
      return;
    }
    const e = entry as Record<string, unknown>;
    const before = problems.length;
    for (const key of Object.keys(e)) {
      if (!(FIELDS as readonly string[]).includes(key))
        problems.push(`${where} has an unknown field "${key}" (known: ${FIELDS.join(', ')})`);
    }
    const str = (key: string): string => {
      const v = e[key];
      if (typeof v !== 'string' || v.trim() === '') problems.push(`${where}.${key} must be a non-empty string`);
      return typeof v === 'string' ? v.trim() : '';
    };
    const endpoint = str('endpoint').replace(/\/+$/, '');
    if (endpoint && !/^https?:\/\/[^\s/]+/.test(endpoint))
      problems.push(`${where}.endpoint must be an http(s) URL, got "${endpoint}"`);
    const deployment = str('deployment');
    const model = str('model');
    if (model) {
      const check = checkModel(model, undefined, today);
      if (!check.ok) problems.push(`${where}.model: ${check.problem}`);
    }
    const region = str('region');
    const rpm = e.rpm;
    if (typeof rpm !== 'number' || !Number.isInteger(rpm) || rpm < 1 || rpm > 100_000) {
      const got = JSON.stringify(rpm);
      problems.push(
        `${where}.rpm must be a whole number from 1 to 100000 (the deployment's requests per minute), got ${got}`,
      );
    }
    const id = e.id === undefined ? `${normalizeRegion(region)}-${deployment}` : str('id');
    if (e.id !== undefined && id && !ID.test(id))
      problems.push(`${where}.id must be letters, digits, ".", "_" or "-" (at most 64), got "${id}"`);
    if (problems.length > before) return;
    if (members.some((m) => m.id === id)) {
      problems.push(`${where} repeats the deployment "${deployment}" in ${region}; give one of them an "id"`);
      return;
    }
    members.push({ id, endpoint, deployment, model, rpm: rpm as number, region: normalizeRegion(region) });
  });
  return { members, problems };
}

/** ALLOWED_REGIONS: empty allows every region. */
export function parseRegions(text: string): string[] {
  return text.split(',').map(normalizeRegion).filter(Boolean);
}

/** Whether the member may take a drop's work under the data-residency list. */
export function regionAllowed(member: PoolMember, allowedRegions: readonly string[]): boolean {
  return allowedRegions.length === 0 || allowedRegions.includes(member.region);
}
