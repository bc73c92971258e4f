/**
 * The answer's image goes from the model's socket into `edited/` as it is decoded: staged as uncommitted
 * blocks (no blob, no BlobCreated event) until the edit step commits it under its conditions. Through
 * Azurite behind the local Event Grid, the emulator, the real `openai` and `@azure/storage-blob` SDKs;
 * a small server stands in for a model that answers broken JSON or wrong images, which the emulator
 * never does.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { json } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../local/emulator/server.js';
import { startLocalStorage, type LocalStorage } from '../../local/environment.js';
import { createBlobStore } from '../../shared/adapters/azure/blob-store.js';
import { createImageModel } from '../../shared/adapters/azure/openai-model.js';
import { type EditInput, type ImageModel } from '../../shared/ports/image-model.js';
import { ensureStorageLayout } from '../../shared/adapters/azure/storage.js';
import { loadConfig } from '../../shared/core/config.js';
import { CONTAINERS } from '../../shared/core/containers.js';
import { createRuntime } from '../../shared/composition.js';
import { type Runtime } from '../../shared/adapters/azure/runtime.js';
import { startTestEmulator } from '../helpers/emulator.js';
import { gradientImage, rectMask } from '../helpers/images.js';
import { startTestPipeline } from '../helpers/pipeline.js';

const KEY = 'local-stream-key';

let storage: LocalStorage;
let emulator: Emulator;
let rt: Runtime;
let model: ImageModel;
/** Subjects of the BlobCreated events Event Grid delivered for `edited/`. */
const events: string[] = [];
let eventSink: http.Server;
/** What the stand-in model answers next: a status and the raw body text. */
let crafted = { status: 200, body: '' };
let craftedServer: http.Server;
let input: Omit<EditInput, 'output'>;

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function modelSettings(endpoint: string) {
  const storageSetting = { AzureWebJobsStorage: storage.connectionString };
  return loadConfig({ ...storageSetting, AZURE_OPENAI_ENDPOINT: endpoint, AZURE_OPENAI_API_KEY: KEY });
}

beforeAll(async () => {
  storage = await startLocalStorage();
  emulator = await startTestEmulator({ apiKey: KEY });
  eventSink = http.createServer(async (req, res) => {
    for (const e of (await json(req)) as { subject: string }[]) events.push(e.subject);
    res.end();
  });
  const endpoint = await listen(eventSink);
  storage.eventGrid.setSubscriptions([{ name: 'edited', container: CONTAINERS.edited, endpoint }]);
  craftedServer = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(crafted.status, { 'content-type': 'application/json' }).end(crafted.body));
  });
  await listen(craftedServer);
  const config = modelSettings(emulator.url);
  rt = await createRuntime(config);
  await ensureStorageLayout(rt.storage);
  model = await createImageModel(config.model);
  // Noise: its 1536x1024 PNG answer (about 4.7 MB) is staged in several blocks.
  const raw = { width: 1536, height: 1024, channels: 3 } as const;
  const noise = await sharp(randomBytes(raw.width * raw.height * raw.channels), { raw })
    .png()
    .toBuffer();
  const png = (bytes: Buffer) => new Blob([new Uint8Array(bytes)], { type: 'image/png' });
  input = {
    image: png(noise),
    imageName: 'noise.png',
    mask: png(await rectMask(1536, 1024, { x: 256, y: 256, width: 512, height: 256 })),
    request: {
      prompt: 'a red balloon',
      promptSource: 'sidecar',
      size: '1536x1024',
      quality: 'low',
      outputFormat: 'png',
    },
    clientRequestId: 'job-stream-1',
  };
});

afterAll(async () => {
  await emulator?.close();
  await storage?.close();
  eventSink?.close();
  craftedServer?.close();
});

const edited = () => rt.containers.edited;
async function editedNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const b of edited().listBlobsFlat()) names.push(b.name);
  return names;
}
async function uncommittedBlocks(name: string): Promise<number> {
  const list = await edited().getBlockBlobClient(name).getBlockList('uncommitted');
  return list.uncommittedBlocks?.length ?? 0;
}
async function* bytesOf(text: string): AsyncIterable<Buffer> {
  yield Buffer.from(text);
}
/** Events arrive a moment after the write: waits that moment, then gives those for `name`. */
async function eventsFor(name: string): Promise<string[]> {
  await sleep(300);
  return events.filter((s) => s.endsWith(`/blobs/${name}`));
}

describe("the answer's image goes into edited/ as it arrives", () => {
  it('is staged in blocks no reader sees and that raise no event, then committed as one blob', async () => {
    const name = 'stream/noise.png';
    const outcome = await model.edit({ ...input, output: (image) => rt.blobs.stageOutput(name, image) });
    if (outcome.kind !== 'ok') throw new Error(`expected an image, got ${JSON.stringify(outcome)}`);
    const sent = emulator.requests().at(-1)!;
    expect(outcome.output.sha256).toBe(sent.outputSha256[0]);
    expect(outcome.output.bytes).toBeGreaterThan(3_000_000);

    // Staged: in several blocks, but no blob and no event yet.
    expect(await uncommittedBlocks(name)).toBeGreaterThanOrEqual(3);
    expect(await rt.blobs.findOutput(name)).toBeUndefined();
    expect(await editedNames()).toEqual([]);
    expect(await eventsFor(name)).toEqual([]);

    const committed = await outcome.output.commit(outcome.contentType, { jobid: 'job-stream' }, null);
    if (!committed.written) throw new Error('expected the commit to write');
    const found = await rt.blobs.findOutput(name);
    expect(found).toMatchObject({
      etag: committed.etag,
      bytes: outcome.output.bytes,
      contentType: 'image/png',
      metadata: { jobid: 'job-stream' },
    });
    const stored = await rt.blobs.readOutput(name, committed.etag);
    expect(stored.length).toBe(outcome.output.bytes);
    expect(await eventsFor(name)).toHaveLength(1);
  });

  it('keeps the conditions: a refused commit writes nothing and can be made again over the version there', async () => {
    const name = 'stream/twice.png';
    const first = await (
      await rt.blobs.stageOutput(name, bytesOf('first'))
    ).commit('image/png', { jobid: 'old' }, null);
    if (!first.written) throw new Error('expected the first commit to write');
    const second = await rt.blobs.stageOutput(name, bytesOf('second'));
    const refused = await second.commit('image/png', { jobid: 'new' }, null);
    expect(refused).toMatchObject({ written: false, existing: { etag: first.etag, metadata: { jobid: 'old' } } });
    expect(await rt.blobs.readOutput(name, first.etag)).toEqual(Buffer.from('first'));
    const over = await second.commit('image/png', { jobid: 'new' }, first.etag);
    if (!over.written) throw new Error('expected the commit over the old version to write');
    expect(await rt.blobs.readOutput(name, over.etag)).toEqual(Buffer.from('second'));
  });

  it("reports another writer's commit, which discards what this one staged, instead of writing", async () => {
    const name = 'stream/race.png';
    const mine = await rt.blobs.stageOutput(name, bytesOf('mine'));
    const theirs = await rt.blobs.stageOutput(name, bytesOf('theirs'));
    const won = await theirs.commit('image/png', { jobid: 'theirs' }, null);
    if (!won.written) throw new Error('expected their commit to write');
    expect(await mine.commit('image/png', { jobid: 'mine' }, won.etag)).toMatchObject({
      written: false,
      discarded: true,
      existing: { etag: won.etag, metadata: { jobid: 'theirs' } },
    });
    expect(await rt.blobs.readOutput(name, won.etag)).toEqual(Buffer.from('theirs'));
  });
});

describe('a broken answer is the model failing, and leaves nothing in edited/', () => {
  it('a connection cut mid-answer is the same transient failure as before streaming', async () => {
    const faulty = await startTestEmulator({ apiKey: KEY, faults: { truncate: 1 } });
    try {
      const name = 'broken/cut.png';
      const cutModel = await createImageModel(modelSettings(faulty.url).model);
      const outcome = await cutModel.edit({ ...input, output: (image) => rt.blobs.stageOutput(name, image) });
      expect(outcome).toMatchObject({
        kind: 'transient',
        code: 'connection',
        message: 'the connection failed: aborted',
      });
      expect(await rt.blobs.findOutput(name)).toBeUndefined();
      expect(await eventsFor(name)).toEqual([]);
    } finally {
      await faulty.close();
    }
  });

  const png = gradientImage(32, 32);
  const answer = (b64: string) => JSON.stringify({ created: 1, data: [{ b64_json: b64 }] });
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(64), Buffer.from([0xff, 0xd9])]);
  it.each([
    [
      'an answer without an image',
      async () => JSON.stringify({ created: 1, data: [{ url: 'https://x' }] }),
      'empty_response',
      'the model answered without an image',
    ],
    [
      'a body that ends inside the image',
      async () => answer((await png).toString('base64')).slice(0, 200),
      'incomplete_response',
      "the model's answer ended inside its image",
    ],
    [
      'a JPEG where a PNG was asked for',
      async () => answer(jpeg.toString('base64')),
      'invalid_output',
      'the model answered with a JPEG where a PNG was asked for',
    ],
    [
      'a PNG cut short',
      async () => answer((await png).subarray(0, -20).toString('base64')),
      'invalid_output',
      /^the model's image is unusable: the PNG does not end with its IEND chunk/,
    ],
  ])('%s', async (_what, body, code, message) => {
    crafted = { status: 200, body: await body() };
    const name = `broken/${code}.png`;
    const craftedUrl = `http://127.0.0.1:${(craftedServer.address() as AddressInfo).port}`;
    const craftedModel = await createImageModel(modelSettings(craftedUrl).model);
    const outcome = await craftedModel.edit({ ...input, output: (image) => rt.blobs.stageOutput(name, image) });
    expect(outcome).toMatchObject({ kind: 'transient', code, message });
    expect(await rt.blobs.findOutput(name)).toBeUndefined();
    expect(await eventsFor(name)).toEqual([]);
  });

  it('a storage failure while staging is thrown, never blamed on the model', async () => {
    const missing = rt.storage.container('no-such-container');
    const blobs = createBlobStore({ ...rt.containers, edited: missing }, (blob) => rt.storage.copySource(blob));
    const outcome = model.edit({ ...input, output: (image) => blobs.stageOutput('lost/out.png', image) });
    await expect(outcome).rejects.toMatchObject({ statusCode: 404, code: 'ContainerNotFound' });
  });
});

describe('in the pipeline', () => {
  it('a cut answer fails the job with the same error as before, and nothing reaches edited/', async () => {
    const p = await startTestPipeline({
      emulator: { faults: { truncate: 1 } },
      settings: { IMAGE_MODEL_MAX_ATTEMPTS: '1', IMAGE_MODEL_RPM: '6000' },
    });
    try {
      await p.upload('cut/a.png', await gradientImage(256, 256));
      await p.upload('cut/a.mask.png', await rectMask(256, 256, { x: 64, y: 64, width: 64, height: 64 }));
      const job = await p.settled('cut/a');
      const error = { code: 'connection', message: 'the connection failed: aborted' };
      expect(job).toMatchObject({ state: 'failed', error });
      expect(await p.blobNames('edited')).toEqual([]);
      const report = await p.report('rejected', 'cut/a.json');
      expect(report.problems).toEqual(['the model call failed 1 times; last error: the connection failed: aborted']);
    } finally {
      await p.close();
    }
  });
});
