import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../local/emulator/server.js';
import { readerSettings } from '../../shared/core/provenance/trust-settings.js';

/** One throwaway CA per test process: tests never touch the developer's ~/.imagegen-pipeline. */
export const TEST_CA_DIR = path.join(mkdtempSync(path.join(tmpdir(), 'imagegen-test-')), 'emulator-ca-v3');

export function startTestEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  return startEmulator({ caDir: TEST_CA_DIR, rpm: 10_000, ...options });
}

/** c2pa-rs trust settings that trust the emulator's roots (and nothing else) as the gate does: both kinds, its EKU list. */
export function emulatorTrustContext(caPem: string): string {
  return readerSettings({ manifest: caPem, timeStamp: caPem });
}
