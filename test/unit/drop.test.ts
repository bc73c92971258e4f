import { describe, expect, it } from 'vitest';
import { classifyBlobName, dropBlobName, sanitizeName } from '../../shared/drop.js';

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
  ])('%s is refused: %s', (name, problem) => {
    const c = classifyBlobName(name);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.problem).toMatch(problem);
  });

  it('gives unusable names a safe place for their report', () => {
    expect(sanitizeName('a/../b/my photo.png')).toBe('a/__/b/my_photo.png');
    const c = classifyBlobName('../../etc/pässwd.png');
    expect(dropBlobName(c.drop, '.json')).toBe('__/__/etc/p_sswd.json');
  });
});
