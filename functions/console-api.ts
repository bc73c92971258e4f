/**
 * console-api (HTTP): what the web console reads and submits, under /api/console/api/…, each call
 * checked against who is asking (see shared/adapters/http/access.ts).
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { defineFunction } from '../shared/adapters/azure/functions-app.js';
import { register } from '../shared/composition.js';

export const definition = defineFunction({
  name: 'console-api',
  trigger: { type: 'http', route: 'console/api/{resource}/{id?}', methods: ['GET', 'POST'], authLevel: 'anonymous' },
  async handle(rt, request: HttpRequest): Promise<HttpResponseInit> {
    const { handleConsoleApi } = await import('../shared/adapters/http/console-api.js');
    return handleConsoleApi(rt, request);
  },
});

register(definition);
