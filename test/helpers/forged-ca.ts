import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadOrCreateIdentity, type EmulatorIdentity } from '../../local/emulator/identity.js';

/** A certificate authority made in the test, trusted by nobody unless a test says so. */
export function forgedIdentity(): Promise<EmulatorIdentity> {
  return loadOrCreateIdentity(path.join(mkdtempSync(path.join(tmpdir(), 'forged-ca-')), 'ca'));
}
