/**
 * The deployment pool: IMAGE_MODEL_POOL as a user writes it, the choice of member for each slot, the
 * circuit breaker, and intake and edit over a pool of three in memory (a failing member is taken out,
 * its jobs move to the others, and it comes back on its own).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ModelOutcome } from '../../shared/ports/image-model.js';
import { ConfigError, loadConfig } from '../../shared/core/config.js';
import type { JobRecord } from '../../shared/core/job.js';
import { serviceErrorCode } from '../../shared/core/job-errors.js';
import { processEditMessage } from '../../shared/app/edit.js';
import { rebalancePool } from '../../shared/app/rebalance-pool.js';
import { intakeBlob } from '../../shared/app/intake.js';
import { EARLY_RETURN_MS, slotIntervalMs } from '../../shared/core/pacing.js';
import {
  admit,
  availability,
  recordBlocked,
  recordFailure,
  recordSuccess,
  type BreakerState,
} from '../../shared/core/pool/breaker.js';
import { parsePool, type PoolMember } from '../../shared/core/pool/members.js';
import { MIN_MOVE_AHEAD_MS, planMoves, type Reservation } from '../../shared/core/pool/rebalance-plan.js';
import { chooseMember } from '../../shared/core/pool/select.js';
import { SendGate } from '../../shared/core/pool/send-gate.js';
import { gradientImage, rectMask } from '../helpers/images.js';
import { FakeModel, memoryLogger, memoryRuntime, type MemoryRuntime } from './memory-runtime.js';

const entry = (region: string, rpm: number, extra: Record<string, unknown> = {}) => ({
  endpoint: `https://oai-${region}.openai.azure.com/`,
  deployment: 'gpt-image-2',
  model: 'gpt-image-2',
  rpm,
  region,
  ...extra,
});

const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };

describe('IMAGE_MODEL_POOL', () => {
  it('reads the deployments, each named by region and deployment', () => {
    const config = loadConfig({
      ...base,
      IMAGE_MODEL_POOL: JSON.stringify([entry('eastus2', 9), entry('Sweden Central', 6)]),
    });
    expect(config.pool.members).toEqual([
      {
        id: 'eastus2-gpt-image-2',
        endpoint: 'https://oai-eastus2.openai.azure.com',
        deployment: 'gpt-image-2',
        model: 'gpt-image-2',
        rpm: 9,
        region: 'eastus2',
      },
      expect.objectContaining({ id: 'swedencentral-gpt-image-2', region: 'swedencentral', rpm: 6 }),
    ]);
  });

  it('without it, the single-deployment settings make a pool of one named after the deployment', () => {
    const config = loadConfig({ ...base, AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:1', IMAGE_MODEL_RPM: '12' });
    expect(config.pool.members).toEqual([
      {
        id: 'gpt-image-2',
        endpoint: 'http://127.0.0.1:1',
        deployment: 'gpt-image-2',
        model: 'gpt-image-2',
        rpm: 12,
        region: '',
      },
    ]);
  });

  it('names every problem of every entry', () => {
    const { problems } = parsePool(
      JSON.stringify([{ ...entry('eastus2', 0), key: 'secret' }, entry('eastus2', 9, { model: 'dall-e-3' }), 'x']),
    );
    expect(problems).toEqual([
      'IMAGE_MODEL_POOL[0] has an unknown field "key" (known: endpoint, deployment, model, rpm, region, id)',
      "IMAGE_MODEL_POOL[0].rpm must be a whole number from 1 to 100000 (the deployment's requests per minute), got 0",
      expect.stringMatching(/^IMAGE_MODEL_POOL\[1\]\.model: .*dall-e-3/),
      expect.stringMatching(/^IMAGE_MODEL_POOL\[2\] must be an object/),
    ]);
    expect(parsePool('[').problems[0]).toMatch(/^IMAGE_MODEL_POOL is not valid JSON/);
    expect(parsePool(JSON.stringify([entry('eastus2', 9), entry('eastus2', 6)])).problems).toEqual([
      'IMAGE_MODEL_POOL[1] repeats the deployment "gpt-image-2" in eastus2; give one of them an "id"',
    ]);
  });

  it('refuses a pool where no deployment may take a drop under ALLOWED_REGIONS', () => {
    const env = {
      ...base,
      IMAGE_MODEL_POOL: JSON.stringify([entry('eastus2', 9)]),
      ALLOWED_REGIONS: 'swedencentral, polandcentral',
    };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(
      /none serves IMAGE_MODEL \(gpt-image-2\) in ALLOWED_REGIONS \(swedencentral, polandcentral\)/,
    );
    expect(() => loadConfig({ ...base, AZURE_OPENAI_ENDPOINT: 'http://x', ALLOWED_REGIONS: 'eastus2' })).toThrow(
      /ALLOWED_REGIONS needs IMAGE_MODEL_POOL/,
    );
  });
});

const member = (id: string, rpm: number, region = id, model = 'gpt-image-2'): PoolMember => ({
  id,
  endpoint: `https://${id}`,
  deployment: 'd',
  model,
  rpm,
  region,
});

describe('choosing a member', () => {
  const now = 1_000_000;
  const req = { model: 'gpt-image-2', allowedRegions: [] };

  it('fills members in proportion to their quotas', () => {
    const members = [member('a', 12), member('b', 6), member('c', 3)];
    const next = new Map(members.map((m) => [m.id, now]));
    const count = new Map<string, number>();
    for (let i = 0; i < 21; i++) {
      const candidates = members.map((m) => ({
        member: m,
        nextFree: next.get(m.id)!,
        availability: 'closed' as const,
      }));
      const chosen = chooseMember(candidates, req, now)!.member;
      next.set(chosen.id, Math.max(now, next.get(chosen.id)!) + 60_000 / chosen.rpm);
      count.set(chosen.id, (count.get(chosen.id) ?? 0) + 1);
    }
    expect(Object.fromEntries(count)).toEqual({ a: 12, b: 6, c: 3 });
  });

  it("honours the drop's model and the allowed regions, passes over an open member and one to avoid", () => {
    const c = (m: PoolMember, nextFree = now, a: 'closed' | 'open' | 'half-open' = 'closed', openUntil?: number) => ({
      member: m,
      nextFree,
      availability: a,
      openUntil,
    });
    const mini = member('mini', 60, 'eastus2', 'gpt-image-1-mini');
    const se = member('se', 6, 'swedencentral');
    const pl = member('pl', 6, 'polandcentral');
    expect(chooseMember([c(mini), c(se, now + 50_000), c(pl, now + 60_000)], req, now)?.member.id).toBe('se');
    expect(
      chooseMember([c(se), c(pl, now + 60_000)], { ...req, allowedRegions: ['polandcentral'] }, now)?.member.id,
    ).toBe('pl');
    expect(chooseMember([c(se, now, 'open', now + 30_000), c(pl, now + 60_000)], req, now)?.member.id).toBe('pl');
    expect(chooseMember([c(se), c(pl, now + 60_000)], { ...req, avoid: 'se' }, now)?.member.id).toBe('pl');
    // Every member out: the one back first, no earlier than it is back.
    expect(chooseMember([c(se, now, 'open', now + 30_000), c(pl, now, 'open', now + 10_000)], req, now)).toEqual({
      member: pl,
      notBefore: now + 10_000,
    });
    expect(chooseMember([c(mini)], req, now)).toBeUndefined();
  });
});

describe('re-balancing the pool', () => {
  const now = 1_000_000;
  const req = { model: 'gpt-image-2', allowedRegions: [] };
  const east = member('east', 90, 'eastus2');
  const west = member('west', 60, 'westus3');
  const swe = member('swe', 30, 'swedencentral');
  type State = 'closed' | 'open' | 'half-open';
  const c = (m: PoolMember, nextFree: number, availability: State = 'closed', probing = false) => ({
    member: m,
    nextFree,
    availability,
    probing,
  });
  /** `n` jobs at the member's pace from `from` on. */
  const tail = (m: PoolMember, from: number, n: number): Reservation[] =>
    Array.from({ length: n }, (_, i) => ({
      key: `${m.id}${i}:0`,
      jobId: `${m.id}${i}`,
      member: m.id,
      at: from + i * slotIntervalMs(m.rpm),
      epoch: 0,
    }));

  it("a member back after an outage takes the latest jobs of the others' tails while that gains a clear margin", () => {
    // West is idle; east and sweden hold jobs up to 20 s ahead.
    const reserved = [...tail(east, now + 2_000, 27), ...tail(swe, now + 2_000, 9)];
    const moves = planMoves(
      [c(east, now + 20_200), c(west, now - 5_000), c(swe, now + 20_200)],
      reserved,
      req,
      now,
      50,
    );
    expect(moves.every((m) => m.to === 'west')).toBe(true);
    // Latest first, each to west's next slot, while the job gains at least 3 s and is at least 6 s ahead.
    expect(moves[0]!.reservation.at).toBe(Math.max(...reserved.map((r) => r.at)));
    moves.forEach((m, i) => {
      expect(m.at).toBeCloseTo(now + i * slotIntervalMs(60));
      if (i > 0) expect(m.reservation.at).toBeLessThanOrEqual(moves[i - 1]!.reservation.at);
    });
    for (const m of moves) {
      expect(m.reservation.at - m.at).toBeGreaterThanOrEqual(3_000);
      expect(m.reservation.at - now).toBeGreaterThanOrEqual(MIN_MOVE_AHEAD_MS);
    }
    expect(moves.length).toBeGreaterThan(5);
    expect(planMoves([c(east, now + 20_200), c(west, now), c(swe, now)], reserved, req, now, 3)).toHaveLength(3);
  });

  it('moves nothing in a balanced pool, to an open member, or to a member of another model', () => {
    const reserved = [...tail(east, now, 27), ...tail(west, now, 18), ...tail(swe, now, 9)];
    const balanced = [c(east, now + 18_200), c(west, now + 18_200), c(swe, now + 18_200)];
    expect(planMoves(balanced, reserved, req, now, 50)).toEqual([]);
    const eastOnly = tail(east, now, 27);
    expect(planMoves([c(east, now + 18_200), c(west, now, 'open')], eastOnly, req, now, 50)).toEqual([]);
    const mini = member('mini', 60, 'westus3', 'gpt-image-1-mini');
    expect(planMoves([c(east, now + 18_200), c(mini, now)], eastOnly, req, now, 50)).toEqual([]);
  });

  it('a half-open member takes one job, its probe, unless a probe is already going', () => {
    const eastOnly = tail(east, now, 27);
    const moves = planMoves([c(east, now + 18_200), c(west, now, 'half-open')], eastOnly, req, now, 50);
    expect(moves.map((m) => [m.to, m.reservation.at])).toEqual([['west', eastOnly.at(-1)!.at]]);
    expect(planMoves([c(east, now + 18_200), c(west, now, 'half-open', true)], eastOnly, req, now, 50)).toEqual([]);
  });
});

describe('circuit breaker', () => {
  it('opens after three failures in a row, admits one probe after the cooldown, and closes on its success', () => {
    let s: BreakerState | undefined;
    const t = 0;
    s = recordFailure(s, t);
    s = recordFailure(s, t);
    expect(availability(s, t)).toBe('closed');
    s = recordFailure(s, t);
    expect(availability(s, t + 9_999)).toBe('open');
    expect(admit(s, t + 1000, 'job:1').admitted).toBe(false);
    const probe = admit(s, t + 10_000, 'job:1');
    expect(probe.admitted).toBe(true);
    s = probe.next;
    expect(admit(s, t + 10_001, 'job:2').admitted).toBe(false);
    expect(admit(s, t + 10_001, 'job:1').admitted).toBe(true);
    expect(recordSuccess(s)).toEqual({ failures: 0 });
  });

  it('a failed probe opens it again: every 10 s for the first minute, then for twice as long each time', () => {
    let s: BreakerState | undefined;
    for (let i = 0; i < 3; i++) s = recordFailure(s, 0);
    let t = 10_000;
    for (const cooldown of [
      10_000, 10_000, 10_000, 10_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000,
    ]) {
      s = admit(s, t, 'p').next;
      s = recordFailure(s, t);
      expect(availability(s, t + cooldown - 1)).toBe('open');
      expect(availability(s, t + cooldown)).toBe('half-open');
      t += cooldown;
    }
  });
});

describe('a resource Azure blocked', () => {
  it('opens the breaker at the first blocked answer; a probe still blocked opens it again; an answered one closes it', () => {
    let s: BreakerState | undefined = recordBlocked(undefined, 0);
    expect(availability(s, 9_999)).toBe('open');
    expect(availability(s, 10_000)).toBe('half-open');
    s = admit(s, 10_000, 'probe').next;
    s = recordBlocked(s, 10_000);
    expect(availability(s, 19_999)).toBe('open');
    // Counted as at least the failures that open it, so the breaker never reads as merely degraded.
    expect(s.failures).toBeGreaterThanOrEqual(3);
    expect(recordSuccess(s)).toEqual({ failures: 0 });
  });
});

describe('a pool of three in memory', () => {
  let rt: MemoryRuntime;
  let models: Record<string, FakeModel>;
  let image: Buffer;
  let mask: Buffer;
  const failing: ModelOutcome = {
    kind: 'transient',
    code: serviceErrorCode('503'),
    message: 'HTTP 503: the region is down',
  };

  beforeEach(async () => {
    image ??= await gradientImage(64, 64);
    mask ??= await rectMask(64, 64, { x: 0, y: 0, width: 16, height: 16 });
    models = {
      'eastus2-gpt-image-2': new FakeModel(),
      'westus3-gpt-image-2': new FakeModel(),
      'swedencentral-gpt-image-2': new FakeModel(),
    };
    const pool = [entry('eastus2', 1200), entry('westus3', 600), entry('swedencentral', 600)];
    rt = memoryRuntime({ IMAGE_MODEL_POOL: JSON.stringify(pool) }, 'worker-a', (m) => models[m.id]);
  });

  async function drop(stem: string): Promise<JobRecord> {
    await rt.upload(`${stem}.png`, image);
    await rt.upload(`${stem}.mask.png`, mask);
    expect(await intakeBlob(rt, `${stem}.mask.png`, undefined, memoryLogger(rt))).toBe('queued');
    const id = rt.sent.at(-1)!.message.jobId;
    return (await rt.ledger.get(id))!.value;
  }

  /** Delivers every message that is due, in order, moving the clock to each; until the queue is empty. */
  async function drain(): Promise<void> {
    for (let guard = 0; rt.sent.length > 0 && guard < 500; guard++) {
      rt.sent.sort((a, b) => a.visibleAt - b.visibleAt);
      const next = rt.sent.shift()!;
      // The message comes back EARLY_RETURN_MS before its slot; the worker would wait that out.
      rt.clock.t = Math.max(rt.clock.t, next.visibleAt + EARLY_RETURN_MS);
      await processEditMessage(rt, next.message, memoryLogger(rt));
    }
  }

  it('reserves slots across the members by quota and records which deployment made each edit', async () => {
    const jobs: JobRecord[] = [];
    for (let i = 0; i < 8; i++) jobs.push(await drop(`burst/p${i}`));
    const per = (d: string) => jobs.filter((j) => j.deployment === d).length;
    expect([per('eastus2-gpt-image-2'), per('westus3-gpt-image-2'), per('swedencentral-gpt-image-2')]).toEqual([
      4, 2, 2,
    ]);
    await drain();
    for (const j of jobs) {
      const done = (await rt.ledger.get(j.id))!.value;
      expect(done.state).toBe('edited');
      expect(done.edit?.deployment).toBe(j.deployment);
    }
    expect(models['eastus2-gpt-image-2']!.calls).toBe(4);
  });

  it("a burst whose parts' events arrive together: one slot per drop, split by quota, no gaps in any schedule", async () => {
    const stems = Array.from({ length: 8 }, (_, i) => `together/p${i}`);
    for (const stem of stems) {
      await rt.upload(`${stem}.png`, image);
      await rt.upload(`${stem}.mask.png`, mask);
    }
    // Every part's event, all at once (an instance gets them together under a burst).
    await Promise.all(
      stems.flatMap((stem) =>
        [`${stem}.png`, `${stem}.mask.png`].map((n) => intakeBlob(rt, n, undefined, memoryLogger(rt))),
      ),
    );
    const jobs = await Promise.all(
      [...new Set(rt.sent.map((m) => m.message.jobId))].map(async (id) => (await rt.ledger.get(id))!.value),
    );
    expect(jobs).toHaveLength(8);
    // One intake per drop did the work; the others found its job (none raced it to the ledger).
    expect(rt.logs.filter((l) => l.includes('duplicate delivery: the job already exists'))).toHaveLength(8);
    const per = (d: string) =>
      jobs
        .filter((j) => j.deployment === d)
        .map((j) => Date.parse(j.notBefore!))
        .sort((a, b) => a - b);
    expect(
      [per('eastus2-gpt-image-2'), per('westus3-gpt-image-2'), per('swedencentral-gpt-image-2')].map((s) => s.length),
    ).toEqual([4, 2, 2]);
    // Reserved and never used, a slot would hold its place: the next drop on each member comes right after.
    for (const [id, slots] of [
      ['eastus2-gpt-image-2', per('eastus2-gpt-image-2')],
      ['westus3-gpt-image-2', per('westus3-gpt-image-2')],
    ] as const)
      expect(await rt.pool.pacer(id).nextFree()).toBeCloseTo(
        slots.at(-1)! + slotIntervalMs(rt.pool.member(id).rpm),
        -1,
      );
  });

  it('a slot reserved for a job another instance queued elsewhere is given back to the next reservation', async () => {
    const first = await rt.pool.reserve('elsewhere:0', { model: 'gpt-image-2', allowedRegions: [] });
    const second = await rt.pool.reserve('next:0', {
      model: 'gpt-image-2',
      allowedRegions: [],
      avoid: 'westus3-gpt-image-2',
    });
    await rt.pool.release('elsewhere:0', first);
    const third = await rt.pool.reserve('then:0', { model: 'gpt-image-2', allowedRegions: [] });
    expect(third).toEqual({ ...first });
    expect(second.at).toBeGreaterThanOrEqual(first.at);
  });

  it('takes a failing member out, moves its jobs to the others without failing any, and lets it back after a probe', async () => {
    models['eastus2-gpt-image-2']!.next = () => failing;
    const jobs: JobRecord[] = [];
    for (let i = 0; i < 12; i++) jobs.push(await drop(`outage/p${i}`));
    await drain();
    const done = await Promise.all(jobs.map(async (j) => (await rt.ledger.get(j.id))!.value));
    expect(done.map((j) => j.state)).toEqual(jobs.map(() => 'edited'));
    expect(models['eastus2-gpt-image-2']!.calls).toBe(3); // the breaker opened after three failures in a row
    expect(await rt.pool.availability('eastus2-gpt-image-2')).toBe('open');
    expect(done.every((j) => j.edit?.deployment !== 'eastus2-gpt-image-2')).toBe(true);

    // The region recovers; after the cooldown the next job that comes to it is the probe, and it closes.
    models['eastus2-gpt-image-2']!.next = () => ({
      kind: 'ok',
      bytes: Buffer.from('edited image'),
      contentType: 'image/png',
    });
    rt.clock.advance(11_000);
    expect(await rt.pool.availability('eastus2-gpt-image-2')).toBe('half-open');
    const later: JobRecord[] = [];
    for (let i = 0; i < 4; i++) later.push(await drop(`after/p${i}`));
    await drain();
    expect(await rt.pool.availability('eastus2-gpt-image-2')).toBe('closed');
    const after = await Promise.all(later.map(async (j) => (await rt.ledger.get(j.id))!.value));
    expect(after.map((j) => j.state)).toEqual(later.map(() => 'edited'));
    expect(after.some((j) => j.edit?.deployment === 'eastus2-gpt-image-2')).toBe(true);
  });
});

describe('a member back after an outage, in memory', () => {
  it("takes the job waiting longest at another member's tail; the job's old message finds it moved", async () => {
    const [image, mask] = [await gradientImage(64, 64), await rectMask(64, 64, { x: 0, y: 0, width: 8, height: 8 })];
    const models = { 'eastus2-gpt-image-2': new FakeModel(), 'westus3-gpt-image-2': new FakeModel() };
    const pool = [entry('eastus2', 6), entry('westus3', 6)];
    const rt = memoryRuntime(
      { IMAGE_MODEL_POOL: JSON.stringify(pool) },
      'worker-a',
      (m) => models[m.id as keyof typeof models],
    );
    const [east, west] = ['eastus2-gpt-image-2', 'westus3-gpt-image-2'];
    for (let i = 0; i < 3; i++) await rt.pool.report(west, 'failed');
    const jobs: JobRecord[] = [];
    for (let i = 0; i < 4; i++) {
      await rt.upload(`tail/p${i}.png`, image);
      await rt.upload(`tail/p${i}.mask.png`, mask);
      expect(await intakeBlob(rt, `tail/p${i}.mask.png`, undefined, memoryLogger(rt))).toBe('queued');
      jobs.push((await rt.ledger.get(rt.sent.at(-1)!.message.jobId))!.value);
    }
    // West was out: every job waits in east's schedule, the last 30 s ahead.
    expect(jobs.map((j) => j.deployment)).toEqual([east, east, east, east]);
    const last = jobs.at(-1)!;
    const lastSlot = Date.parse(last.notBefore!);

    await rt.pool.report(west, 'answered'); // west is back
    await rebalancePool(rt, memoryLogger(rt));
    const moved = (await rt.ledger.get(last.id))!.value;
    expect(moved.deployment).toBe(west);
    expect(moved.ticket).toBe(last.ticket + 1);
    expect(Date.parse(moved.notBefore!)).toBeLessThan(lastSlot - 20_000);
    expect(moved.history.at(-1)!.note).toMatch(/^moved to westus3-gpt-image-2, 30s earlier than its slot with eastus2/);
    // The third job would gain less than two of east's slots: it stays. East's schedule has the slot back.
    expect((await rt.ledger.get(jobs[2]!.id))!.value.deployment).toBe(east);
    expect(await rt.pool.pacer(east).nextFree()).toBeCloseTo(lastSlot, -1);

    // The moved job's messages, the old one first: it finds the job moved and leaves it; the new one edits it.
    // (6 RPM, so the other jobs are left out: the send gate would space their calls 10 s apart in real time.)
    const mine = rt.sent.filter((m) => m.message.jobId === last.id).sort((a, b) => a.message.ticket - b.message.ticket);
    expect(mine.map((m) => m.message.ticket)).toEqual([last.ticket, last.ticket + 1]);
    const results: string[] = [];
    for (const m of mine) {
      rt.clock.t = Math.max(rt.clock.t, m.visibleAt + EARLY_RETURN_MS);
      results.push(await processEditMessage(rt, m.message, memoryLogger(rt)));
    }
    expect(results).toEqual(['stale', 'edited']);
    const done = (await rt.ledger.get(last.id))!.value;
    expect([done.state, done.modelCalls, done.edit?.deployment]).toEqual(['edited', 1, west]);
    expect([models['eastus2-gpt-image-2'].calls, models['westus3-gpt-image-2'].calls]).toEqual([0, 1]);
  });
});

describe('send gate', () => {
  it("lets late calls out no faster than the deployment's one-second share, in order", async () => {
    let t = 0;
    const sent: number[] = [];
    const gate = new SendGate(
      120,
      () => t,
      async (ms) => void (t += ms),
    );
    // Five calls that woke at the same moment: two fit the second's share of 120 RPM, the rest follow at the rate.
    await Promise.all(
      [0, 1, 2, 3, 4].map(async () => {
        await gate.take();
        sent.push(t);
      }),
    );
    expect(sent).toEqual([0, 0, 500, 1000, 1500]);
  });

  it('a turn given back (the call never left) lets the next call go at once', async () => {
    let t = 0;
    const gate = new SendGate(
      2,
      () => t,
      async (ms) => void (t += ms),
    );
    await gate.take();
    gate.giveBack();
    await gate.take();
    expect(t).toBe(0);
    await gate.take();
    expect(t).toBe(30_000);
  });
});
