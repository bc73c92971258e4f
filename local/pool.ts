/**
 * A pool of emulated deployments for `npm start --pool`, the pool benchmark and the chaos run: one
 * emulator per "region", each with its own requests-per-minute quota (and faults), all signing with the
 * same local CA, and the IMAGE_MODEL_POOL setting that lists them.
 */
import { DEFAULT_IMAGE_MODEL } from '../shared/core/model-catalog.js';
import { startEmulator, WELL_KNOWN_API_KEY, type Emulator, type EmulatorOptions } from './emulator/server.js';

export interface EmulatedRegion {
  region: string;
  rpm: number;
}

export interface EmulatorPool {
  regions: readonly EmulatedRegion[];
  /** By region, in the order given. */
  emulators: Map<string, Emulator>;
  /** IMAGE_MODEL_POOL, the key and the emulators' roots. */
  settings: Record<string, string>;
  close(): Promise<void>;
}

/** `eastus2=12,westus3=6,swedencentral=3` → regions with their RPM. */
export function parsePoolSpec(text: string): EmulatedRegion[] {
  const regions = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = /^([a-z0-9-]+)=(\d+)$/i.exec(entry);
      if (!m || Number(m[2]) < 1)
        throw new Error(`--pool entries must be REGION=RPM (e.g. eastus2=12,westus3=6), got "${entry}"`);
      return { region: m[1]!.toLowerCase(), rpm: Number(m[2]) };
    });
  if (regions.length === 0) throw new Error('--pool needs at least one REGION=RPM');
  if (new Set(regions.map((r) => r.region)).size !== regions.length) throw new Error('--pool names a region twice');
  return regions;
}

export async function startEmulatorPool(
  regions: readonly EmulatedRegion[],
  options: EmulatorOptions & { model?: string } = {},
): Promise<EmulatorPool> {
  const model = options.model ?? DEFAULT_IMAGE_MODEL;
  const emulators = new Map<string, Emulator>();
  try {
    for (const { region, rpm } of regions) {
      // Port 0 for all but a given first port, which the others follow.
      const port = options.port ? options.port + emulators.size : 0;
      emulators.set(
        region,
        await startEmulator({ ...options, port, rpm, apiKey: WELL_KNOWN_API_KEY, deployments: { [model]: model } }),
      );
    }
  } catch (err) {
    await Promise.all([...emulators.values()].map((e) => e.close()));
    throw err;
  }
  const pool = regions.map(({ region, rpm }) => ({
    endpoint: emulators.get(region)!.url,
    deployment: model,
    model,
    rpm,
    region,
  }));
  return {
    regions,
    emulators,
    settings: {
      IMAGE_MODEL_POOL: JSON.stringify(pool),
      IMAGE_MODEL: model,
      AZURE_OPENAI_API_KEY: WELL_KNOWN_API_KEY,
      EXTRA_TRUST_ANCHORS: [...new Set([...emulators.values()].map((e) => e.caPem))].join('\n'),
    },
    close: async () => void (await Promise.all([...emulators.values()].map((e) => e.close()))),
  };
}
