import { describe, expect, it } from 'vitest';
import {
  classifyBlobName,
  dropBlobName,
  dropKey,
  MAX_BLOB_NAME,
  MAX_DROP_KEY,
  orphanDestination,
} from '../../shared/core/drop.js';

describe('drop contract', () => {
  it.each([
    ['photo.png', 'image', '', 'photo'],
    ['a/b/photo.JPG', 'image', 'a/b', 'photo'],
    ['a/photo.jpeg', 'image', 'a', 'photo'],
    ['photo.webp', 'image', '', 'photo'],
    ['a/photo.mask.png', 'mask', 'a', 'photo'],
    ['a/photo.MASK.PNG', 'mask', 'a', 'photo'],
    ['a/photo.json', 'sidecar', 'a', 'photo'],
    ['shots/v1.2/cat.v2.png', 'image', 'shots/v1.2', 'cat.v2'],
  ])('%s is the %s of %s/%s', (name, kind, path, stem) => {
    const c = classifyBlobName(name);
    expect(c).toMatchObject({ ok: true, kind, drop: { path, stem } });
  });

  it.each([
    ['my photo.png', /spaces/],
    ['photos/café.png', /non-ASCII/],
    ['a/../b/photo.png', /'\.\.' path segment/],
    ['a//photo.png', /empty path segment/],
    ['photo.gif', /"\.gif" files are not part of the drop contract/],
    ['photo', /no extension/],
    ['photo.mask.jpg', /mask must be a PNG/],
    ['.hidden.png', /starts with '\.'/],
    ['a~b.png', /characters other than/],
  ])('%s is refused: %s', (name, problem) => {
    const c = classifyBlobName(name);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.problem).toMatch(problem);
  });

  it('gives unusable names a readable report of their own, never inside another folder', () => {
    expect(dropBlobName(classifyBlobName('a/../b/my photo.png').drop, '.json')).toBe(
      'a/__/b/my_photo~d483abbd67d6.json',
    );
    expect(dropBlobName(classifyBlobName('../../etc/pässwd.png').drop, '.json')).toBe(
      '__/__/etc/p_sswd~f97a9b61af69.json',
    );
  });

  it('the examples from issue 11 no longer collide', () => {
    const report = (name: string) => dropBlobName(classifyBlobName(name).drop, '.json');
    expect(report('x.y z.png')).not.toBe(report('x.png'));
    expect(report('x.y z.png')).toMatch(/^x\.y_z~[0-9a-f]{12}\.json$/);
    expect(orphanDestination('a b.png').blob).not.toBe(orphanDestination('a_b.png').blob);
    expect(orphanDestination('é.png').blob).not.toBe(orphanDestination('_.png').blob);
    expect(orphanDestination('a_b.png')).toEqual({ blob: 'a_b.png', report: 'a_b.provenance.json' });
    // A mask or a sidecar written to edited/ never lands on the drop's image or report.
    expect(orphanDestination('x.mask.png').blob).toMatch(/^x\.mask~[0-9a-f]{12}\.png$/);
    expect(orphanDestination('x.provenance.json').blob).not.toBe('x.provenance.json');
  });

  it('counts the longest suffix against the name limit', () => {
    expect(MAX_DROP_KEY).toBe(MAX_BLOB_NAME - '.provenance.json'.length);
    const longest = `${'d/'.repeat(4)}${'s'.repeat(MAX_DROP_KEY - 8)}`;
    expect(classifyBlobName(`${longest}.mask.png`)).toMatchObject({ ok: true, kind: 'mask' });
    const tooLong = classifyBlobName(`${longest}s.png`);
    expect(tooLong.ok).toBe(false);
    if (!tooLong.ok) expect(tooLong.problem).toMatch(/at most 1008 fit, so that <stem>\.provenance\.json stays within/);
    expect(dropBlobName(tooLong.drop, '.provenance.json').length).toBeLessThanOrEqual(MAX_BLOB_NAME);
  });
});

/** A deterministic stream of names built from the pieces that break naive sanitizing. */
function trickyNames(count: number, seed: number): string[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const pieces = [
    'a',
    'b',
    'B',
    'x',
    '_',
    '-',
    '.',
    '..',
    '/',
    '//',
    ' ',
    '\t',
    '\n',
    '~',
    'é',
    'e\u0301',
    '\u00a0',
    '\u202e',
    '\ud800',
    '\udc00',
    '😀',
    '%20',
    '\\',
    ':',
    '*',
    'mask',
    'provenance',
    '\u0000',
  ];
  const endings = [
    '.png',
    '.PNG',
    '.jpg',
    '.jpeg',
    '.webp',
    '.mask.png',
    '.json',
    '.provenance.json',
    '.gif',
    '',
    '.',
    '/',
  ];
  const names = new Set<string>([
    'a b.png',
    'a_b.png',
    'é.png',
    '_.png',
    'x.y z.png',
    'x.png',
    'x.mask.png',
    'x.json',
    'x.provenance.json',
    'x.jpg',
    'photo.gif',
    'photo.png',
    `${'s'.repeat(MAX_DROP_KEY)}.png`,
    `${'s'.repeat(MAX_DROP_KEY + 1)}.png`,
  ]);
  while (names.size < count) {
    const parts = Array.from({ length: 1 + Math.floor(random() * 6) }, () => pick(pieces));
    if (random() < 0.05) parts.push('y'.repeat(900 + Math.floor(random() * 300)));
    names.add(parts.join('') + pick(endings));
  }
  return [...names];
}

describe('names never share a blob (property)', () => {
  const names = trickyNames(5000, 11);

  /** Who a blob belongs to: a drop (all its parts share its blobs) or, for a name outside the contract, that name alone. */
  const ownerOf = (name: string) => {
    const c = classifyBlobName(name);
    return c.ok ? `drop:${dropKey(c.drop)}` : `name:${name}`;
  };

  function expectOneOwnerPerBlob(entries: [blob: string, owner: string][]): void {
    const owners = new Map<string, string>();
    const clashes: string[] = [];
    for (const [blob, owner] of entries) {
      const first = owners.get(blob);
      if (first === undefined) owners.set(blob, owner);
      else if (first !== owner)
        clashes.push(`${JSON.stringify(blob)}: ${JSON.stringify(first)} and ${JSON.stringify(owner)}`);
    }
    expect(clashes).toEqual([]);
  }

  it('rejected/: one report per drop, one per name outside the contract', () => {
    expectOneOwnerPerBlob(names.map((n) => [dropBlobName(classifyBlobName(n).drop, '.json'), ownerOf(n)]));
  });

  it('published/ and quarantine/: job outputs and orphans from edited/ never land on each other', () => {
    const entries: [string, string][] = [];
    for (const name of names) {
      const c = classifyBlobName(name);
      if (c.ok && c.kind === 'image') {
        for (const suffix of ['.png', '.jpg', '.provenance.json'] as const)
          entries.push([dropBlobName(c.drop, suffix), ownerOf(name)]);
      }
      // The same name written straight into edited/: it belongs to a drop only if a job would have written it.
      const orphan = orphanDestination(name);
      const jobShaped = orphan.blob === name;
      const owner = jobShaped ? ownerOf(name) : `name:${name}`;
      entries.push([orphan.blob, owner], [orphan.report, owner]);
    }
    expectOneOwnerPerBlob(entries);
  });

  it('every name written fits Azure, has no empty, "." or ".." segment, and outputs never equal reports', () => {
    for (const name of names) {
      const c = classifyBlobName(name);
      const orphan = orphanDestination(name);
      const written = [
        dropBlobName(c.drop, '.json'),
        dropBlobName(c.drop, '.provenance.json'),
        dropBlobName(c.drop, '.png'),
        orphan.blob,
        orphan.report,
      ];
      for (const blob of written) {
        expect(blob.length).toBeLessThanOrEqual(MAX_BLOB_NAME);
        expect(blob.split('/').filter((s) => s === '' || s === '.' || s === '..')).toEqual([]);
      }
      expect(orphan.blob).not.toBe(orphan.report);
    }
  });
});
