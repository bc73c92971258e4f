/**
 * The line `start` prints for a drop-folder file that is not uploaded again because inbox/ already holds
 * the same bytes: when it was uploaded, and what became of its drop, so the user knows why nothing happens.
 */
import type { FoundResult } from '../shared/ports/blob-store.js';
import { classifyBlobName } from '../shared/core/drop.js';
import type { JobContext } from '../shared/app/job-context.js';

const VERB: Record<FoundResult['container'], string> = { published: 'published', quarantine: 'quarantined' };

export async function describeUnchanged(rt: JobContext, name: string, uploadedAt: Date | undefined): Promise<string> {
  const since = uploadedAt ? ` since its upload at ${uploadedAt.toISOString()}` : '';
  const part = classifyBlobName(name);
  const result = part.ok ? (await rt.blobs.findResults(part.drop))[0] : undefined;
  const outcome = result
    ? `already ${VERB[result.container]} as ${result.container}/${result.name}`
    : 'its drop has no result yet (see the console or the job list)';
  return `drop/${name}: unchanged${since}, not uploaded again; ${outcome}. Change the file to start a new edit.`;
}
