import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../local/emulator/server.js';

/** One throwaway CA per test process: tests never touch the developer's ~/.imagegen-pipeline. */
export const TEST_CA_DIR = path.join(mkdtempSync(path.join(tmpdir(), 'imagegen-test-')), 'emulator-ca');

export function startTestEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ caDir: TEST_CA_DIR, rpm: 10_000, ...options });
}

/** c2pa-rs trust settings that trust the emulator's CA (and nothing else). */
export function emulatorTrustContext(caPem: string): string {
  return JSON.stringify({
    trust: { trust_anchors: caPem, trust_config: '1.3.6.1.5.5.7.3.36\n1.3.6.1.5.5.7.3.8' },
    verify: { verify_trust: true, remote_manifest_fetch: false },
  });
}
