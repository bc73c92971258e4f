import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../local/emulator/server.js';
import { C2PA_EKUS } from '../../shared/provenance/default-trust.js';

/** One throwaway CA per test process: tests never touch the developer's ~/.imagegen-pipeline. */
export const TEST_CA_DIR = path.join(mkdtempSync(path.join(tmpdir(), 'imagegen-test-')), 'emulator-ca-v2');

export function startTestEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ caDir: TEST_CA_DIR, rpm: 10_000, ...options });
}

/** c2pa-rs trust settings that trust the emulator's two roots (and nothing else), with the gate's EKU list. */
export function emulatorTrustContext(caPem: string): string {
  return JSON.stringify({
    trust: { trust_anchors: caPem, trust_config: C2PA_EKUS.join('\n') },
    verify: { verify_trust: true, remote_manifest_fetch: false },
  });
}
