/**
 * Drop names are chosen by whoever drops a file: the console serves a part only when its recorded name
 * stays in its container, downloads carry a sanitized RFC 6266 name, and drop-derived text in console
 * answers and outcome events shows control, bidi and invisible characters as visible escapes.
 */
import { describe, expect, it } from 'vitest';
import { isServableDropPart, staysInContainer } from '../../shared/core/blob-names.js';
import { attachmentDisposition } from '../../shared/core/download-name.js';
import { jobView, partLocation } from '../../shared/app/console/views.js';
import { classifyBlobName } from '../../shared/core/drop.js';
import { outcomeEvent } from '../../shared/core/outcome-event.js';
import { newJob, type JobRecord } from '../../shared/core/job.js';
import type { JobContext } from '../../shared/app/job-context.js';

const ESC = '\u001b';
const RLO = '\u202e';
const ZWSP = '\u200b';

describe('names that may go into a URL', () => {
  it.each(['a/b/photo.png', 'photo.mask.png', 'x~0123456789ab.provenance.json'])('%s stays in its container', (name) =>
    expect(staysInContainer(name)).toBe(true),
  );

  it.each([
    '../published/y.png',
    'a/../../published/y.png',
    'a/./b.png',
    '/leading.png',
    'a//b.png',
    'a\\..\\b.png',
    'a/%2e%2e/b.png',
    'a/b.png?x',
    'a/b.png#x',
    'a b.png',
    `a${RLO}gnp.exe`,
    '',
  ])('%j does not', (name) => expect(staysInContainer(name)).toBe(false));

  it('a drop part is servable only under the drop contract too', () => {
    expect(isServableDropPart('trip/beach.png')).toBe(true);
    expect(isServableDropPart('trip/beach.exe')).toBe(false);
    expect(isServableDropPart('trip/../beach.png')).toBe(false);
  });

  it('intake refuses a dot-segment name with a clear problem', () => {
    expect(classifyBlobName('sec/../../published/y.png')).toMatchObject({
      ok: false,
      problem: "the name contains a '.' or '..' path segment",
    });
  });
});

describe('download names (RFC 6266)', () => {
  it('sends the last segment, sanitized, as filename and filename*', () => {
    expect(attachmentDisposition('trip/beach.png')).toBe(
      `attachment; filename="beach.png"; filename*=UTF-8''beach.png`,
    );
    expect(attachmentDisposition(`x/a"b;${RLO}c\r\n.png`)).toBe(
      `attachment; filename="a_b__c__.png"; filename*=UTF-8''a_b__c__.png`,
    );
    expect(attachmentDisposition('x/.hidden')).toBe(`attachment; filename="_hidden"; filename*=UTF-8''_hidden`);
  });
});

/** A job intake rejected for a name carrying a terminal escape, a bidi override and a zero-width space. */
function rejectedJob(name: string): JobRecord {
  const classified = classifyBlobName(name);
  if (classified.ok) throw new Error('expected a refused name');
  const problem = `${JSON.stringify(name)}: ${classified.problem}`;
  return newJob(
    'f'.repeat(32),
    classified.drop,
    { image: { name, etag: '', bytes: 0 } } as JobRecord['inputs'],
    { state: 'rejected', problems: [problem], error: { code: 'bad_name', message: `bad ${name}` } },
    new Date('2026-12-07T12:00:00Z'),
  );
}

const EVIL = `in/${ESC}[2J${RLO}gnp${ZWSP}.png`;
const visible = (text: string) => {
  // ESC may already be JSON-escaped (a quoted name); the bidi override and zero-width space are not.
  expect(text).not.toMatch(/[\u001b\u202e\u200b]/);
  expect(text).toContain('\\u202e');
  expect(text).toContain('\\u200b');
};

describe('drop-derived text a person may read', () => {
  it('is escaped in outcome events (data.reasons, data.error.message), and a dotted input gets no URL', () => {
    const event = outcomeEvent(rejectedJob(EVIL), '/s', 'https://st.blob.core.windows.net')!;
    event.data.reasons.forEach(visible);
    visible(event.data.error!.message);
    expect(event.data.blobs.image).toBeUndefined();
    const dotted = outcomeEvent(rejectedJob('a/../../published/y.png'), '/s', 'https://st')!;
    expect(dotted.data.blobs.image).toBeUndefined();
  });

  it('is escaped in the console job view, which lists no input it cannot serve', async () => {
    // A rejected job has no report to read: the view needs nothing from storage.
    const rt = {} as unknown as JobContext;
    const job = rejectedJob(EVIL);
    const view = await jobView(rt, job);
    view.problems.forEach(visible);
    visible(view.history[0]!.error!.message);
    expect(view.files.input).toBeUndefined();
    expect(partLocation(rejectedJob('a/../../published/y.png'), 'input')).toBeUndefined();
    expect(partLocation(rejectedJob('a/../../published/y.png'), 'report')?.container).toBe('rejected');
  });
});
