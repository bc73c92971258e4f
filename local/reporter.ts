/** Turns the host's log into what a person watching `npm start` wants: one line per job state change and a running summary. */
import { SETTLE_LINE, STATE_LINE } from '../shared/core/log.js';
import { isTerminal, type JobState } from '../shared/core/job.js';
import type { LogEntry } from './host/host.js';

const clock = () => new Date().toTimeString().slice(0, 8);

export interface Reporter {
  log(entry: LogEntry): void;
}

export function createReporter(options: { verbose?: boolean; write?: (line: string) => void } = {}): Reporter {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const states = new Map<string, JobState>();
  const summary = () => {
    const counts: Record<string, number> = { published: 0, quarantined: 0, rejected: 0, failed: 0 };
    let active = 0;
    for (const s of states.values()) {
      if (isTerminal(s)) counts[s] = (counts[s] ?? 0) + 1;
      else active++;
    }
    return `${counts.published} published · ${counts.quarantined} quarantined · ${counts.rejected} rejected · ${counts.failed} failed · ${active} in progress`;
  };
  return {
    log(entry) {
      const m = STATE_LINE.exec(entry.message);
      if (m) {
        const [, id, dropRaw, , to, attempt, elapsed, note] = m;
        const drop = dropRaw!.startsWith('"') ? (JSON.parse(dropRaw!) as string) : dropRaw!;
        states.set(id!, to as JobState);
        const detail = note
          ? `  ${(JSON.parse(note) as string).slice(0, 160)}`
          : Number(attempt) > 1 && to === 'editing'
            ? `  attempt ${attempt}`
            : '';
        write(`${clock()}  ${drop.padEnd(28)} ${to!.padEnd(12)} ${elapsed!.padStart(7)}${detail}`);
        if (isTerminal(to as JobState)) write(`          ${summary()}`);
        return;
      }
      const settling = SETTLE_LINE.exec(entry.message);
      if (settling) {
        write(`${clock()}  ${settling[1]!.padEnd(28)} ${settling[2]}`);
        return;
      }
      if (entry.level === 'error' || entry.level === 'critical')
        write(`  ! ${entry.functionName}: ${entry.message.split('\n')[0]}`);
      else if (entry.level === 'warning' || options.verbose)
        write(`  ${entry.level === 'warning' ? '~' : ' '} ${entry.functionName}: ${entry.message}`);
    },
  };
}
