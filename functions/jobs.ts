/**
 * jobs (HTTP): GET /api/jobs and GET /api/jobs/{id}: job status and history. The listing reads the jobs index:
 * newest change first (`order=created`: newest job first), filtered by `state`, `drop` (a drop-name prefix) and
 * `deployment`, paged by `continuationToken`; while a ledger written before the index is being indexed, `indexing`
 * says how far it is.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { defineFunction } from '../shared/adapters/azure/functions-app.js';
import { register } from '../shared/composition.js';
import { isTerminal, JOB_STATES, type JobState } from '../shared/core/job.js';
import { upgradeStatus } from '../shared/app/index-upgrade.js';
import { InvalidContinuationToken } from '../shared/app/jobs-index.js';

export const definition = defineFunction({
  name: 'jobs',
  trigger: { type: 'http', route: 'jobs/{id?}', methods: ['GET'], authLevel: 'function' },
  async handle(rt, request: HttpRequest): Promise<HttpResponseInit> {
    const id = request.params.id;
    if (id) {
      if (!/^[0-9a-f]{32}$/.test(id))
        return { status: 400, jsonBody: { error: `"${id}" is not a job id (32 hex characters)` } };
      const found = await rt.ledger.get(id);
      return found ? { jsonBody: found.value } : { status: 404, jsonBody: { error: `no job ${id}` } };
    }
    const state = request.query.get('state') ?? undefined;
    if (state && state !== 'active' && !JOB_STATES.includes(state as JobState)) {
      return { status: 400, jsonBody: { error: `state must be active or one of ${JOB_STATES.join(', ')}` } };
    }
    const limit = Math.min(500, Math.max(1, Number(request.query.get('limit') ?? 100) || 100));
    if (state === 'active') {
      const records = await Promise.all(
        (await rt.ledger.listActive()).slice(0, limit).map((jobId) => rt.ledger.get(jobId)),
      );
      const jobs = records.flatMap((r) =>
        r && !isTerminal(r.value.state)
          ? [{ id: r.value.id, state: r.value.state, drop: r.value.drop.key, updatedAt: r.value.updatedAt }]
          : [],
      );
      return { jsonBody: { jobs } };
    }
    const order = request.query.get('order') ?? 'updated';
    if (order !== 'updated' && order !== 'created')
      return { status: 400, jsonBody: { error: 'order must be updated (newest change first) or created' } };
    if (!rt.ledger.index) return { status: 503, jsonBody: { error: 'the jobs index is not configured' } };
    const optional = (name: string) => request.query.get(name) || undefined;
    const [token, dropPrefix, deployment] = ['continuationToken', 'drop', 'deployment'].map(optional);
    const listing = rt.ledger.index
      .list({
        limit,
        order,
        ...(state ? { state: state as JobState } : {}),
        ...(dropPrefix ? { dropPrefix } : {}),
        ...(deployment ? { deployment } : {}),
        ...(token ? { continuationToken: token } : {}),
      })
      .catch((err: unknown) => (err instanceof InvalidContinuationToken ? err : Promise.reject(err)));
    const [page, upgrade] = await Promise.all([listing, upgradeStatus(rt.ledger.index)]);
    if (page instanceof InvalidContinuationToken) return { status: 400, jsonBody: { error: page.message } };
    // While older jobs are being indexed the listing misses those not reached yet: say so beside it.
    const indexing = upgrade && !upgrade.done ? { indexing: { indexed: upgrade.indexed, total: upgrade.total } } : {};
    return { jsonBody: { ...page, ...indexing } };
  },
});

register(definition);
