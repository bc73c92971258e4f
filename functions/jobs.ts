/** jobs (HTTP): GET /api/jobs and GET /api/jobs/{id}: job status and history from the ledger. */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { defineFunction, register } from '../shared/adapters/functions-app.js';
import { JOB_STATES, type JobState } from '../shared/job.js';

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
        r ? [{ id: r.value.id, state: r.value.state, drop: r.value.drop.key, updatedAt: r.value.updatedAt }] : [],
      );
      return { jsonBody: { jobs } };
    }
    const token = request.query.get('continuationToken') ?? undefined;
    const page = await rt.ledger.list({
      limit,
      ...(state ? { state: state as JobState } : {}),
      ...(token ? { continuationToken: token } : {}),
    });
    return { jsonBody: page };
  },
});

register(definition);
