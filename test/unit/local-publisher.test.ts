import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreatePublisher } from '../../shared/adapters/signing/local-ca.js';
import { localSigner } from '../../shared/adapters/signing/local-signer.js';
import { publisherIdentity } from '../../shared/adapters/c2pa/composite-gate.js';

describe('the local publisher CA', () => {
  it('is generated once in the state folder, key readable by its owner only, and kept across starts', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'publisher-ca-')), 'publisher-ca');
    const first = await loadOrCreatePublisher(dir);
    const again = await loadOrCreatePublisher(dir);
    expect(again).toEqual(first);
    expect(statSync(path.join(dir, 'publisher.key')).mode & 0o077).toBe(0);
    expect(publisherIdentity(first.chainPem).name).toBe('imagegen-pipeline local publisher');
    expect(localSigner(first.keyPem, first.chainPem).alg).toBe('es256');
  });

  it('refuses a chain without its root, and a key that is not the leaf', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'publisher-ca-'));
    const [a, b] = await Promise.all([
      loadOrCreatePublisher(path.join(dir, 'a')),
      loadOrCreatePublisher(path.join(dir, 'b')),
    ]);
    const leafOnly = a.chainPem.slice(0, a.chainPem.indexOf('-----END CERTIFICATE-----') + 25);
    expect(() => publisherIdentity(leafOnly)).toThrow(/signer certificate first and its root CA last/);
    expect(() => localSigner(b.keyPem, a.chainPem)).toThrow(/does not belong/);
  });
});
