/**
 * events (HTTP; the outcome-events feed): GET /api/events?limit=N: the outcome events the topic accepted, newest first, as
 * `{"events": [CloudEvent, …]}`. 404 when no topic is configured (OUTCOME_EVENTS_TOPIC_ENDPOINT empty).
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { defineFunction } from '../shared/adapters/azure/functions-app.js';
import { register } from '../shared/composition.js';

const MAX_LIMIT = 500;

export const definition = defineFunction({
  name: 'events',
  trigger: { type: 'http', route: 'events', methods: ['GET'], authLevel: 'function' },
  async handle(rt, request: HttpRequest): Promise<HttpResponseInit> {
    if (!rt.config.events) {
      const error = 'outcome events are not configured (OUTCOME_EVENTS_TOPIC_ENDPOINT is empty)';
      return { status: 404, jsonBody: { error } };
    }
    const raw = request.query.get('limit') ?? '50';
    const limit = Number(raw);
    if (!/^\d+$/.test(raw) || limit < 1 || limit > MAX_LIMIT) {
      return { status: 400, jsonBody: { error: `limit must be a whole number from 1 to ${MAX_LIMIT}, got "${raw}"` } };
    }
    const { readOutcomeFeed } = await import('../shared/app/outbox.js');
    return { jsonBody: { events: await readOutcomeFeed(rt, limit) } };
  },
});

register(definition);
