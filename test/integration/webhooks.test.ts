/** The local host's webhooks and API take only what Event Grid and local tools send, never a web page's request. */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WEBHOOK_BODY_BYTES } from '../../local/host/host.js';
import { gradientImage } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

let p: TestPipeline;
beforeAll(async () => {
  // No model is needed: the drops here are rejected at intake.
  p = await startTestPipeline({
    emulator: false,
    settings: { AZURE_OPENAI_ENDPOINT: 'http://127.0.0.1:9', AZURE_OPENAI_API_KEY: 'unused' },
  });
});
afterAll(() => p.close());

const hook = () => `${p.host.url}/runtime/webhooks/EventGrid?functionName=intake`;
const delivery = JSON.stringify([
  {
    id: 'e1',
    topic: '/subscriptions/0/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/a',
    subject: '/blobServices/default/containers/inbox/blobs/hooks/none.png',
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: new Date().toISOString(),
    data: {
      api: 'PutBlob',
      eTag: '0x1',
      contentLength: 10,
      blobType: 'BlockBlob',
      url: 'http://x/inbox/hooks/none.png',
    },
    dataVersion: '',
    metadataVersion: '1',
  },
]);
const eventGridHeaders = { 'aeg-event-type': 'Notification', 'content-type': 'application/json' };

/** A raw request, for headers fetch will not let a caller set (Host). */
function rawRequest(path: string, headers: Record<string, string>): Promise<number> {
  const url = new URL(p.host.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the Event Grid webhook refuses', () => {
  it.each([
    ['a POST without aeg-event-type (what a web page can send)', { 'content-type': 'text/plain' }, delivery, 400],
    ['an unknown aeg-event-type', { 'aeg-event-type': 'Whatever', 'content-type': 'application/json' }, delivery, 400],
    ['a text/plain body', { 'aeg-event-type': 'Notification', 'content-type': 'text/plain' }, delivery, 415],
    [
      'a form post',
      { 'aeg-event-type': 'Notification', 'content-type': 'application/x-www-form-urlencoded' },
      'a=1',
      415,
    ],
    [
      'a request from a browser page (Origin)',
      { ...eventGridHeaders, origin: 'https://attacker.example' },
      delivery,
      403,
    ],
    ['a body over the limit', eventGridHeaders, 'x'.repeat(MAX_WEBHOOK_BODY_BYTES + 1), 413],
  ])('%s', async (_, headers, body, status) => {
    const res = await fetch(hook(), { method: 'POST', headers, body });
    expect(res.status).toBe(status);
    expect((await res.json()).error).toBeTruthy();
  });

  it('a streamed body that grows past the limit, without reading the rest', async () => {
    const chunk = new Uint8Array(256 * 1024).fill(0x20);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > 4 * MAX_WEBHOOK_BODY_BYTES) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const res = await fetch(hook(), { method: 'POST', headers: eventGridHeaders, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });

  it('a GET with 405, and answers Unsubscribe with 202 like the real host', async () => {
    expect((await fetch(hook())).status).toBe(405);
    expect(
      (
        await fetch(hook(), {
          method: 'POST',
          headers: { ...eventGridHeaders, 'aeg-event-type': 'Unsubscribe' },
          body: '[]',
        })
      ).status,
    ).toBe(202);
  });

  it('ran intake for none of them', () => {
    expect(p.host.stats().invocations.intake ?? 0).toBe(0);
  });
});

describe('the local host', () => {
  it('answers only to loopback names, so a DNS-rebound page cannot read the jobs API', async () => {
    expect(await rawRequest('/api/jobs', { host: `attacker.example:${p.host.port}` })).toBe(421);
    expect(await rawRequest('/api/jobs', { host: `localhost:${p.host.port}` })).toBe(200);
    expect(await rawRequest('/api/jobs', { host: `127.0.0.1:${p.host.port}` })).toBe(200);
  });

  it('still takes a real Event Grid delivery: an upload reaches intake through the local Event Grid', async () => {
    await p.upload('hooks/bad name.png', await gradientImage(16, 16));
    const jobs = await p.waitFor((all) =>
      all.some((j) => j.inputs.image?.name === 'hooks/bad name.png' && j.state === 'rejected'),
    );
    expect(jobs.find((j) => j.inputs.image?.name === 'hooks/bad name.png')?.error?.code).toBe('bad_name');
    expect(await p.blobNames('rejected')).toContainEqual(expect.stringMatching(/^hooks\/bad_name~[0-9a-f]{12}\.json$/));
  });

  it('and a delivery posted as Event Grid posts it', async () => {
    const res = await fetch(hook(), { method: 'POST', headers: eventGridHeaders, body: delivery });
    expect(res.status).toBe(200);
  });
});
