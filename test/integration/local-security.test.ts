/**
 * The local runtime against a web page in the user's browser (issue 22): a page that rebinds its own domain
 * to 127.0.0.1 reaches every local port with its own Host name, and may POST from its own Origin. Every
 * port the runtime listens on (found from the process's listening servers, not from a list kept here)
 * refuses both before doing anything, while the real SDKs and the Azure CLI, which send loopback names,
 * still work. A drop name with '..' segments never makes the console serve another container's blob.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCOUNT, DEV_ACCOUNT_KEY } from '../../local/storage/azurite.js';
import type { JobView } from '../../shared/app/console/types.js';
import { gradientImage } from '../helpers/images.js';
import { startTestPipeline, type TestPipeline } from '../helpers/pipeline.js';

let p: TestPipeline;
beforeAll(async () => {
  p = await startTestPipeline({ publisher: 'memory' });
});
afterAll(() => p?.close());

const portOf = (url: string) => Number(new URL(url).port);

/** Every TCP port this process listens on: the local runtime's servers, whatever they are. */
function listeningPorts(): number[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles
    .filter((h): h is net.Server => h instanceof net.Server && h.listening)
    .map((s) => (s.address() as AddressInfo).port)
    .sort((a, b) => a - b);
}

interface Answer {
  status: number;
  body: string;
}

/** A raw request, for the headers fetch will not let a caller set (Host). */
function raw(
  port: number,
  init: { method?: string; path?: string; headers: Record<string, string>; body?: Buffer; setHost?: boolean },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { method = 'GET', path = '/', headers, setHost = true } = init;
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, setHost }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('every port the local runtime opens', () => {
  it('includes every endpoint the runtime names, and Azurite behind its proxies', () => {
    const named = [
      p.storage.eventGrid.blobEndpoint,
      p.storage.queueEndpoint,
      p.storage.azurite.blobEndpoint,
      p.storage.azurite.queueEndpoint,
      p.storage.azurite.tableEndpoint,
      p.emulator!.url,
      p.outcomeTopic!.endpoint,
      p.host.url,
    ].map(portOf);
    expect(listeningPorts()).toEqual([...new Set(named)].sort((a, b) => a - b));
  });

  it('refuses a foreign Host (a DNS-rebound page), a loopback name on another port, and no Host at all', async () => {
    for (const port of listeningPorts()) {
      for (const host of [
        `rebind.example:${port}`,
        `rebind.example`,
        `127.0.0.1:${port + 1}`,
        `127.0.0.1.nip.io:${port}`,
      ]) {
        const answer = await raw(port, { path: `/${DEV_ACCOUNT}?comp=list`, headers: { host } });
        expect({ port, host, status: answer.status }).toEqual({ port, host, status: 421 });
        expect(JSON.parse(answer.body).error).toMatch(/answers only to 127\.0\.0\.1, localhost or \[::1\]/);
      }
      // Node's HTTP server refuses an HTTP/1.1 request without Host itself (400), before any handler.
      expect((await raw(port, { headers: {}, setHost: false })).status).toBe(400);
    }
  });

  it("refuses a foreign Host's write before it lands: nothing reaches published/", async () => {
    for (const port of listeningPorts()) {
      const put = await raw(port, {
        method: 'PUT',
        path: `/${DEV_ACCOUNT}/published/planted-${port}.png`,
        headers: { host: `rebind.example:${port}`, 'x-ms-blob-type': 'BlockBlob', 'content-length': '3' },
        body: Buffer.from('abc'),
      });
      expect(put.status).toBe(421);
    }
    expect((await p.blobNames('published')).filter((n) => n.startsWith('planted-'))).toEqual([]);
  });

  it('refuses a request signed with the public Azurite key when it is addressed to a foreign name', async () => {
    for (const endpoint of [p.storage.eventGrid.blobEndpoint, p.storage.azurite.blobEndpoint]) {
      const port = portOf(endpoint);
      // Sent through the server as if it were a proxy: the request line and Host name rebind.example.
      const client = new BlobServiceClient(
        `http://rebind.example:${port}/${DEV_ACCOUNT}`,
        new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_ACCOUNT_KEY),
        { proxyOptions: { host: 'http://127.0.0.1', port }, retryOptions: { maxTries: 1 } },
      );
      await expect(client.getProperties()).rejects.toMatchObject({ statusCode: 421 });
    }
  });

  it("refuses a state-changing request from another origin's page, even addressed to a loopback name", async () => {
    for (const port of listeningPorts()) {
      for (const origin of [
        'http://rebind.example',
        `http://rebind.example:${port}`,
        'null',
        `http://127.0.0.1:${port + 1}`,
      ]) {
        const answer = await raw(port, {
          method: 'POST',
          path: '/api/console/api/drops',
          headers: { host: `127.0.0.1:${port}`, origin, 'content-type': 'text/plain' },
          body: Buffer.from('x'),
        });
        expect({ port, origin, status: answer.status }).toEqual({ port, origin, status: 403 });
      }
    }
  });

  it("takes the console's own page: a POST from its origin reaches the console (which reads the form)", async () => {
    const port = p.host.port;
    for (const name of ['127.0.0.1', 'localhost']) {
      const answer = await raw(port, {
        method: 'POST',
        path: '/api/console/api/drops',
        headers: { host: `${name}:${port}`, origin: `http://${name}:${port}`, 'content-type': 'text/plain' },
        body: Buffer.from('x'),
      });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.body).error).toMatch(/multipart\/form-data/);
    }
  });
});

describe("the console's answers", () => {
  it("may not be embedded by another site's page (Cross-Origin-Resource-Policy)", async () => {
    for (const path of ['/api/console', '/api/console/api/overview']) {
      const res = await fetch(`${p.host.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    }
  });
});

describe('loopback clients still work', () => {
  it('the storage SDKs, through 127.0.0.1 and localhost', async () => {
    for (const name of ['127.0.0.1', 'localhost']) {
      const cs = p.settings.AzureWebJobsStorage!.replaceAll('127.0.0.1', name);
      const blobs = BlobServiceClient.fromConnectionString(cs);
      const containers: string[] = [];
      for await (const c of blobs.listContainers()) containers.push(c.name);
      expect(containers).toEqual(expect.arrayContaining(['inbox', 'published', 'jobs']));
      await blobs.getContainerClient('inbox').getBlockBlobClient(`sdk-${name}/note.txt`).uploadData(Buffer.from('hi'));
      const queues: string[] = [];
      for await (const q of QueueServiceClient.fromConnectionString(cs).listQueues()) queues.push(q.name);
      expect(queues.length).toBeGreaterThan(0);
    }
  });

  it('the emulator, by its loopback name (an unauthenticated call gets its own 401, not the guard)', async () => {
    const res = await fetch(`${p.emulator!.url}/openai/v1/images/edits`, { method: 'POST' });
    expect(res.status).toBe(401);
  });

  const az = promisify(execFile);
  const hasAz = async () =>
    az('az', ['version'])
      .then(() => true)
      .catch(() => false);

  it('the Azure CLI (az storage), when installed', async (ctx) => {
    if (!(await hasAz())) return ctx.skip();
    const cs = p.settings.AzureWebJobsStorage!;
    const { stdout } = await az('az', ['storage', 'container', 'list', '--connection-string', cs, '-o', 'json'], {
      env: { ...process.env, AZURE_CORE_COLLECT_TELEMETRY: 'false', AZURE_CORE_ONLY_SHOW_ERRORS: 'true' },
    });
    expect((JSON.parse(stdout) as { name: string }[]).map((c) => c.name)).toEqual(
      expect.arrayContaining(['inbox', 'published']),
    );
  }, 120_000);
});

describe('a drop name with dot segments', () => {
  const NAME = 'sec/../../published/victim.png';
  let job: JobView;

  beforeAll(async () => {
    // A blob another container holds; the dotted name, resolved in a URL, would be its address.
    await p.runtime.containers.published.getBlockBlobClient('victim.png').uploadData(Buffer.from('not yours'));
    await p.uploadRaw(NAME, await gradientImage(16, 16));
    const jobs = await p.waitFor((all) => all.some((j) => j.inputs.image?.name === NAME && j.state === 'rejected'));
    const id = jobs.find((j) => j.inputs.image?.name === NAME)!.id;
    job = (await (await fetch(`${p.host.url}/api/console/api/jobs/${id}`)).json()) as JobView;
  });

  it('is rejected at intake with a clear report', () => {
    expect(job.problems.join('\n')).toMatch(/'\.' or '\.\.' path segment/);
  });

  it('never makes the console serve another container’s blob as the job’s input', async () => {
    expect(job.files.input).toBeUndefined();
    const res = await fetch(`${p.host.url}/api/console/api/file/${job.id}?part=input&download=1`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('not yours');
  });
});
