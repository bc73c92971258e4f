/**
 * The figures read from storage as they are now (not from the spans): the backlog and its oldest job's
 * age, dead letters, owed outcome events, and each pool member's quota offer and breaker. The sweep records
 * them as gauges each run; the console's operations view shows them.
 */
import { readDeadLetters } from '../dead-letters.js';
import type { JobContext } from '../job-context.js';
import type { OperationsGauges } from './metrics.js';

export interface MemberFigures {
  id: string;
  deployment: string;
  model: string;
  region: string;
  /** Requests per minute the deployment is configured to take (its quota). */
  rpm: number;
  breaker: 'closed' | 'open' | 'half-open';
}

export interface LiveFigures {
  at: string;
  queued: number;
  /** Jobs being edited or published. */
  working: number;
  /** Age of the oldest queued job in seconds (0 with none queued). */
  oldestQueuedSeconds: number;
  /** Event Grid deliveries given up on, waiting in the dead-letter container for the sweep to replay. */
  deadLetteredEvents: number;
  /** Outcome events given up on (outbox-dead/), each waiting for a person. */
  deadLetteredOutcomeEvents: number;
  owedOutcomeEvents: number;
  members: MemberFigures[];
}

async function count(names: AsyncIterable<unknown>, limit = 10_000): Promise<number> {
  let n = 0;
  for await (const _ of names) if (++n >= limit) break;
  return n;
}

async function backlog(rt: JobContext): Promise<Pick<LiveFigures, 'queued' | 'working' | 'oldestQueuedSeconds'>> {
  const now = rt.now().getTime();
  const records = await Promise.all((await rt.ledger.listActive()).map((id) => rt.ledger.get(id)));
  const jobs = records.flatMap((r) => (r ? [r.value] : []));
  const queued = jobs.filter((j) => j.state === 'queued');
  const oldest = Math.min(now, ...queued.map((j) => Date.parse(j.createdAt)));
  return {
    queued: queued.length,
    working: jobs.filter((j) => j.state === 'editing' || j.state === 'edited' || j.state === 'publishing').length,
    oldestQueuedSeconds: Math.round((now - oldest) / 1000),
  };
}

export async function readLiveFigures(rt: JobContext): Promise<LiveFigures> {
  const [jobs, deadEvents, deadOutcomes, owed, members] = await Promise.all([
    backlog(rt),
    count(rt.blobs.deadLetters()),
    readDeadLetters(rt, 1000).then((d) => d.length),
    count(rt.ledger.store.names('outbox/')),
    Promise.all(
      rt.pool.members.map(async (m) => ({
        id: m.id,
        deployment: m.deployment,
        model: m.model,
        region: m.region,
        rpm: m.rpm,
        breaker: await rt.pool.availability(m.id),
      })),
    ),
  ]);
  return {
    at: rt.now().toISOString(),
    ...jobs,
    deadLetteredEvents: deadEvents,
    deadLetteredOutcomeEvents: deadOutcomes,
    owedOutcomeEvents: owed,
    members,
  };
}

export function gaugesOf(live: LiveFigures): OperationsGauges {
  return {
    queued: live.queued,
    oldestQueuedSeconds: live.oldestQueuedSeconds,
    deadLetters: live.deadLetteredEvents + live.deadLetteredOutcomeEvents,
    owedOutcomeEvents: live.owedOutcomeEvents,
    breakerOpen: Object.fromEntries(live.members.map((m) => [m.id, m.breaker === 'closed' ? 0 : 1])),
  };
}
