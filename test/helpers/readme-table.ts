/**
 * The names a README table lists: the first column of the first table under a heading, each cell a name in
 * backticks. The tests that hold the README to a list in the code (settings, error codes) read it this way.
 */
export function firstColumnNames(markdown: string, heading: string): string[] {
  const level = /^#+/.exec(heading)![0].length;
  const lines = markdown.split(/\r?\n/);
  const start = lines.findIndex((l) => l.trim().replace(/\s+/g, ' ') === heading);
  if (start < 0) throw new Error(`README.md has no "${heading}" section`);
  const sectionEnd = new RegExp(`^#{1,${level}}\\s`);
  const rows: string[] = [];
  let inTable = false;
  for (const line of lines.slice(start + 1)) {
    if (sectionEnd.test(line)) break;
    if (!line.trim().startsWith('|')) {
      if (inTable) break;
      continue;
    }
    const first = line.trim().replace(/^\|/, '').split('|')[0]!.trim();
    if (!inTable) {
      inTable = true; // header row
      continue;
    }
    if (/^:?-{3,}:?$/.test(first)) continue;
    const m = /^`([^`]+)`$/.exec(first);
    if (!m) throw new Error(`README "${heading}" table: the first cell must be a name in backticks, got ${first}`);
    rows.push(m[1]!);
  }
  return rows;
}
