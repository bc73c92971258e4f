/** console (HTTP): GET /api/console, the web console's page, and /api/console/console.js|.css, its bundle. */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { defineFunction } from '../shared/adapters/azure/functions-app.js';
import { register } from '../shared/composition.js';

export const definition = defineFunction({
  name: 'console',
  // Anonymous at the Functions level: the page holds nothing; every API call checks who is asking.
  trigger: { type: 'http', route: 'console/{asset?}', methods: ['GET'], authLevel: 'anonymous' },
  async handle(_rt, request: HttpRequest): Promise<HttpResponseInit> {
    const { assetResponse, pageResponse } = await import('../shared/adapters/http/console-page.js');
    const asset = request.params.asset;
    return asset ? assetResponse(asset) : pageResponse();
  },
});

register(definition);
