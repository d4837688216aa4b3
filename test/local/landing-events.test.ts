import { createHash, randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  BlobServiceClient,
  ContainerSASPermissions,
  RestError,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
  generateBlobSASQueryParameters,
  type ContainerClient,
} from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEV_ACCOUNT,
  DEV_ACCOUNT_KEY,
  LANDING_ACCOUNT,
  LANDING_ACCOUNT_KEY,
  startAzurite,
  type AzuriteInstance,
} from '../../local/azurite.js';
import {
  LANDING_EVENTS_QUEUE,
  LOCAL_RESOURCE_GROUP,
  LOCAL_SUBSCRIPTION_ID,
  startLandingEvents,
  type BlobCreatedEvent,
  type LandingEvents,
} from '../../local/landing-events.js';
import { startLocalStack } from '../support/local-stack.js';

const MiB = 2 ** 20;
const landingKey = new StorageSharedKeyCredential(LANDING_ACCOUNT, LANDING_ACCOUNT_KEY);
const internalKey = new StorageSharedKeyCredential(DEV_ACCOUNT, DEV_ACCOUNT_KEY);

/** Every message on the queue, decoded as the Functions queue trigger decodes it (Base64, then JSON). */
async function queuedEvents(queue: QueueClient): Promise<BlobCreatedEvent[]> {
  const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((m) => {
    expect(m.messageText).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    return JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as BlobCreatedEvent;
  });
}

function unquoted(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

/** A container client through the proxy that authenticates with a container SAS signed by the landing key. */
function sasContainer(events: LandingEvents, container: string): ContainerClient {
  const sas = generateBlobSASQueryParameters(
    {
      containerName: container,
      permissions: ContainerSASPermissions.parse('racwdl'),
      expiresOn: new Date(Date.now() + 3_600_000),
    },
    landingKey,
  ).toString();
  return new BlobServiceClient(`${events.blobEndpoint}?${sas}`).getContainerClient(container);
}

async function restError(promise: Promise<unknown>): Promise<RestError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof RestError) return err;
    throw err;
  }
  throw new Error('expected the request to fail');
}

/** A raw HTTP request to the proxy (to set a Host header fetch would not send). */
function rawRequest(
  url: string,
  options: { method: string; path?: string; headers?: Record<string, string> },
): Promise<{ status: number; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, options, (res) => {
      res.resume();
      res.once('end', () =>
        resolve({ status: res.statusCode ?? 0, code: res.headers['x-ms-error-code'] as string | undefined }),
      );
    });
    req.once('error', reject);
    req.end();
  });
}

/** A deterministic stream of `size` bytes and a promise of their SHA-256, known once they are read. */
function generated(size: number): { stream: Readable; digest: Promise<string> } {
  const hash = createHash('sha256');
  let sent = 0;
  let done: (hex: string) => void = () => undefined;
  const digest = new Promise<string>((resolve) => (done = resolve));
  const stream = new Readable({
    read() {
      if (sent >= size) {
        done(hash.digest('hex'));
        this.push(null);
        return;
      }
      const chunk = createHash('sha512').update(String(sent)).digest();
      const block = Buffer.alloc(Math.min(MiB, size - sent));
      for (let i = 0; i < block.length; i += chunk.length) chunk.copy(block, i);
      hash.update(block);
      sent += block.length;
      this.push(block);
    },
  });
  return { stream, digest };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('the local Event Grid for the landing account', () => {
  let azurite: AzuriteInstance;
  let events: LandingEvents;
  let queue: QueueClient;
  const logged: { event: string; fields: Record<string, unknown> }[] = [];
  // The landing account through the proxy with its key (Shared Key), for setup.
  let landing: BlobServiceClient;

  beforeAll(async () => {
    azurite = await startAzurite();
    events = await startLandingEvents({
      upstream: azurite.landing,
      queue: { connectionString: azurite.connectionString, queueName: LANDING_EVENTS_QUEUE },
      port: 0,
      log: (event, fields) => logged.push({ event, fields }),
    });
    queue = new QueueClient(azurite.connectionString, LANDING_EVENTS_QUEUE);
    landing = BlobServiceClient.fromConnectionString(events.connectionString);
    for (const c of ['dlz-acme', 'dlz-blocks', 'dlz-copy', 'landing-other', 'dlz-big']) {
      await landing.getContainerClient(c).create();
    }
  });
  afterAll(async () => {
    await events.close();
    await azurite.stop();
  });
  beforeEach(async () => {
    await queue.clearMessages();
    logged.length = 0;
  });

  it('passes a SAS-signed upload through and queues exactly one BlobCreated event before answering', async () => {
    const name = 'acme/prod/in/file 1.csv.gpg';
    const body = randomBytes(3000);
    const blob = sasContainer(events, 'dlz-acme').getBlockBlobClient(name);
    const upload = await blob.upload(body, body.length, {
      blobHTTPHeaders: { blobContentType: 'application/pgp-encrypted' },
    });
    expect(upload._response.status).toBe(201);

    // No polling: the event is on the queue by the time the client has its 201.
    const queued = await queuedEvents(queue);
    expect(queued).toHaveLength(1);
    const [event] = queued;
    expect(event).toMatchObject({
      topic: `/subscriptions/${LOCAL_SUBSCRIPTION_ID}/resourceGroups/${LOCAL_RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/${LANDING_ACCOUNT}`,
      subject: `/blobServices/default/containers/dlz-acme/blobs/${name}`,
      eventType: 'Microsoft.Storage.BlobCreated',
      dataVersion: '',
      metadataVersion: '1',
      data: {
        api: 'PutBlob',
        requestId: upload.requestId,
        clientRequestId: upload.clientRequestId,
        eTag: unquoted(upload.etag),
        contentType: 'application/pgp-encrypted',
        contentLength: body.length,
        blobType: 'BlockBlob',
        url: `${events.blobEndpoint}/dlz-acme/acme/prod/in/file%201.csv.gpg`,
      },
    });
    expect(event?.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(event?.eventTime ?? ''))).toBe(false);
    expect(event?.data.sequencer).toMatch(/^[0-9a-f]{32}$/);
    expect(event?.data.storageDiagnostics.batchId).toMatch(/^[0-9a-f-]{36}$/);
    // The event's eTag (unquoted, as Azure sends it) is usable as a condition as it is.
    const props = await landing
      .getContainerClient('dlz-acme')
      .getBlobClient(name)
      .getProperties({ conditions: { ifMatch: event?.data.eTag ?? '' } });
    expect(props.contentLength).toBe(body.length);
    expect(logged).toEqual([]);
  });

  it('queues one event for a multi-block upload (Put Block List) and none for its Put Blocks', async () => {
    const body = randomBytes(5 * 256 * 1024 + 17);
    const blob = sasContainer(events, 'dlz-blocks').getBlockBlobClient('multi.gpg');
    const upload = await blob.uploadData(body, {
      blockSize: 256 * 1024,
      maxSingleShotSize: 256 * 1024,
      concurrency: 2,
    });
    const blocks = await landing
      .getContainerClient('dlz-blocks')
      .getBlockBlobClient('multi.gpg')
      .getBlockList('committed');
    expect(blocks.committedBlocks?.length).toBe(6);

    const queued = await queuedEvents(queue);
    expect(queued).toHaveLength(1);
    expect(queued[0]?.subject).toBe('/blobServices/default/containers/dlz-blocks/blobs/multi.gpg');
    expect(queued[0]?.data).toMatchObject({
      api: 'PutBlockList',
      eTag: unquoted(upload.etag),
      contentLength: body.length,
      blobType: 'BlockBlob',
    });
  });

  it('queues a second event with the new eTag when a blob is overwritten, and none when it is deleted', async () => {
    const blob = sasContainer(events, 'dlz-acme').getBlockBlobClient('overwritten.gpg');
    const first = await blob.upload('first version', 13);
    const second = await blob.upload('the second, longer version', 26);
    expect(second.etag).not.toBe(first.etag);

    const afterWrites = await queuedEvents(queue);
    expect(afterWrites.map((e) => [e.data.eTag, e.data.contentLength])).toEqual([
      [unquoted(first.etag), 13],
      [unquoted(second.etag), 26],
    ]);
    const [a, b] = afterWrites.map((e) => e.data.sequencer);
    expect((a ?? '') < (b ?? '')).toBe(true);

    await blob.delete();
    expect(await queuedEvents(queue)).toHaveLength(2);
  });

  it('queues nothing for a container outside the prefix', async () => {
    const upload = await sasContainer(events, 'landing-other').getBlockBlobClient('file.gpg').upload('x', 1);
    expect(upload._response.status).toBe(201);
    expect(await queuedEvents(queue)).toHaveLength(0);
  });

  it('queues a CopyBlob event for a copy within the landing account, with a SAS source through the proxy', async () => {
    const container = sasContainer(events, 'dlz-copy');
    await container.getBlockBlobClient('source.gpg').upload('copy me', 7);
    const poller = await container
      .getBlobClient('copied.gpg')
      .beginCopyFromURL(container.getBlobClient('source.gpg').url);
    const copied = await poller.pollUntilDone();
    expect(copied.copyStatus).toBe('success');

    const queued = await queuedEvents(queue);
    expect(queued.map((e) => [e.data.api, e.subject])).toEqual([
      ['PutBlob', '/blobServices/default/containers/dlz-copy/blobs/source.gpg'],
      ['CopyBlob', '/blobServices/default/containers/dlz-copy/blobs/copied.gpg'],
    ]);
    expect(queued[1]?.data).toMatchObject({ eTag: unquoted(copied.etag), contentLength: 7 });
  });

  it('streams a 20 MiB upload and its download through, byte for byte', { timeout: 60_000 }, async () => {
    const size = 20 * MiB;
    const blob = sasContainer(events, 'dlz-big').getBlockBlobClient('big.gpg');
    const source = generated(size);
    // One Put Blob whose body is a stream: the SDK sends it as it reads it.
    const upload = await blob.upload(() => source.stream, size);
    const queued = await queuedEvents(queue);
    expect(queued.map((e) => [e.data.api, e.data.contentLength, e.data.eTag])).toEqual([
      ['PutBlob', size, unquoted(upload.etag)],
    ]);

    const download = await blob.download();
    const body = download.readableStreamBody;
    if (body === undefined) throw new Error('no download stream');
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of body) {
      hash.update(chunk as Buffer);
      received += (chunk as Buffer).length;
    }
    expect(received).toBe(size);
    expect(hash.digest('hex')).toBe(await source.digest);
  });

  it('refuses any request that names another account, however it is spelled', async () => {
    // The internal account's own key, through the proxy: refused here, before Azurite.
    const internalThroughProxy = new BlobServiceClient(`${events.url}/${DEV_ACCOUNT}`, internalKey);
    const listed = await restError(internalThroughProxy.listContainers().next());
    expect(listed.statusCode).toBe(403);
    expect(listed.code).toBe('LandingProxyAccountRefused');
    const upload = await restError(
      internalThroughProxy.getContainerClient('landing').getBlockBlobClient('x').upload('x', 1),
    );
    expect(upload.statusCode).toBe(403);

    for (const path of [
      `/${DEV_ACCOUNT}?comp=list`,
      '/%64evstoreaccount1?comp=list',
      '/?comp=list',
      `/${LANDING_ACCOUNT}-secondary?comp=list`,
    ]) {
      expect(await rawRequest(`${events.url}${path}`, { method: 'GET' }), path).toEqual({
        status: 403,
        code: 'LandingProxyAccountRefused',
      });
    }
    // A dotted Host makes Azurite read the account from the host name, not the path.
    expect(
      await rawRequest(`${events.blobEndpoint}?comp=list`, {
        method: 'GET',
        headers: { host: `${DEV_ACCOUNT}.blob.localhost` },
      }),
    ).toEqual({ status: 400, code: 'LandingProxyHostRefused' });
    // Raw characters URL parsers read differently (Node's client sends these as they are).
    for (const path of [
      `/${LANDING_ACCOUNT}/dlz-acme/a\\b`,
      `/${LANDING_ACCOUNT}/dlz-acme/a#b`,
      `/${LANDING_ACCOUNT}\\..\\${DEV_ACCOUNT}`,
    ]) {
      expect(await rawRequest(events.url, { method: 'GET', path }), path).toEqual({
        status: 400,
        code: 'LandingProxyRequestRefused',
      });
    }
    // A batch carries sub-requests with their own paths.
    expect(await rawRequest(`${events.blobEndpoint}/?comp=batch`, { method: 'POST' })).toEqual({
      status: 400,
      code: 'LandingProxyBatchRefused',
    });
    // A copy source in the internal account.
    const internalBlob = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      'internal-copy',
    );
    await internalBlob.createIfNotExists();
    await internalBlob.getBlockBlobClient('secret').upload('internal', 8);
    const copy = await restError(
      sasContainer(events, 'dlz-copy')
        .getBlobClient('stolen')
        .syncCopyFromURL(internalBlob.getBlobClient('secret').url),
    );
    expect(copy.statusCode).toBe(403);
    expect(copy.code).toBe('LandingProxyCopySourceRefused');
    expect(await queuedEvents(queue)).toHaveLength(0);
  });

  it('keeps the accounts apart in Azurite itself: a landing-key SAS cannot read or list the internal account', async () => {
    const internal = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const container = internal.getContainerClient('dlz-acme');
    await container.createIfNotExists();
    await container.getBlockBlobClient('internal.gpg').upload('internal', 8);
    const expiresOn = new Date(Date.now() + 3_600_000);

    // A container SAS signed with the landing key, sent straight to Azurite for the internal account.
    const containerSas = generateBlobSASQueryParameters(
      { containerName: 'dlz-acme', permissions: ContainerSASPermissions.parse('rl'), expiresOn },
      landingKey,
    ).toString();
    const viaContainerSas = new BlobServiceClient(`${azurite.blobEndpoint}?${containerSas}`).getContainerClient(
      'dlz-acme',
    );
    expect((await restError(viaContainerSas.getBlobClient('internal.gpg').getProperties())).statusCode).toBe(403);
    expect((await restError(viaContainerSas.listBlobsFlat().next())).statusCode).toBe(403);

    // An account SAS for the internal account's name, signed with the landing key.
    const accountSas = (key: StorageSharedKeyCredential): string =>
      generateAccountSASQueryParameters(
        {
          permissions: AccountSASPermissions.parse('rl'),
          services: AccountSASServices.parse('b').toString(),
          resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
          expiresOn,
        },
        key,
      ).toString();
    const forged = new BlobServiceClient(
      `${azurite.blobEndpoint}?${accountSas(new StorageSharedKeyCredential(DEV_ACCOUNT, LANDING_ACCOUNT_KEY))}`,
    );
    expect((await restError(forged.listContainers().next())).statusCode).toBe(403);
    expect(
      (await restError(forged.getContainerClient('dlz-acme').getBlobClient('internal.gpg').getProperties())).statusCode,
    ).toBe(403);

    // Control: the same account SAS signed with the internal key works, so the 403s are the key's,
    // and devstoreaccount1 is still there with AZURITE_ACCOUNTS set.
    const genuine = new BlobServiceClient(`${azurite.blobEndpoint}?${accountSas(internalKey)}`);
    expect(
      (await genuine.getContainerClient('dlz-acme').getBlobClient('internal.gpg').getProperties()).contentLength,
    ).toBe(8);
    // And the landing key works on the landing account, straight on Azurite too.
    expect(
      await new BlobServiceClient(azurite.landing.blobEndpoint, landingKey).getContainerClient('dlz-acme').exists(),
    ).toBe(true);
  });

  it('still relays the response when the event cannot be queued, and logs it', async () => {
    const broken = await startLandingEvents({
      upstream: azurite.landing,
      queue: { connectionString: azurite.connectionString, queueName: 'landing-events-gone' },
      port: 0,
      log: (event, fields) => logged.push({ event, fields }),
    });
    try {
      await new QueueClient(azurite.connectionString, 'landing-events-gone').delete();
      const upload = await sasContainer(broken, 'dlz-acme').getBlockBlobClient('unqueued.gpg').upload('x', 1);
      expect(upload._response.status).toBe(201);
      expect(logged.map((l) => [l.event, l.fields.subject])).toEqual([
        ['landing-event-failed', '/blobServices/default/containers/dlz-acme/blobs/unqueued.gpg'],
      ]);
    } finally {
      await broken.close();
    }
  });

  describe('streaming, against an upstream that counts bytes as they arrive', () => {
    let upstream: Server;
    let proxy: LandingEvents;
    let upstreamReceived = 0;
    let release: (() => void) | undefined;
    let clientReceived = 0;
    const total = 8 * MiB;

    beforeAll(async () => {
      upstream = createServer((req, res) => {
        if (req.method === 'PUT') {
          upstreamReceived = 0;
          req.on('data', (chunk: Buffer) => (upstreamReceived += chunk.length));
          req.on('end', () => res.writeHead(201, { 'content-length': 0 }).end());
          return;
        }
        // GET: one MiB at a time, each only once the client has had the one before.
        res.writeHead(200, { 'content-length': total });
        let sent = 0;
        const next = (): void => {
          if (sent >= total) {
            res.end();
            return;
          }
          res.write(Buffer.alloc(MiB, 7));
          sent += MiB;
          const target = sent;
          release = () => {
            if (clientReceived >= target) next();
          };
        };
        next();
      });
      await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
      const { port } = upstream.address() as AddressInfo;
      proxy = await startLandingEvents({
        upstream: {
          accountName: LANDING_ACCOUNT,
          accountKey: LANDING_ACCOUNT_KEY,
          blobEndpoint: `http://127.0.0.1:${port}/${LANDING_ACCOUNT}`,
        },
        queue: { connectionString: azurite.connectionString, queueName: LANDING_EVENTS_QUEUE },
        port: 0,
        log: () => undefined,
      });
    });
    afterAll(async () => {
      await proxy.close();
      await new Promise<void>((resolve) => upstream.close(() => resolve()));
    });

    it(
      'forwards an upload before it has all of it (it would wait forever if it buffered)',
      { timeout: 20_000 },
      async () => {
        const status = await new Promise<number>((resolve, reject) => {
          const req = httpRequest(
            `${proxy.blobEndpoint}/plain/big`,
            { method: 'PUT', headers: { 'content-length': total, 'x-ms-blob-type': 'BlockBlob' } },
            (res: IncomingMessage) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.once('error', reject);
          void (async () => {
            for (let sent = MiB; sent <= total; sent += MiB) {
              req.write(Buffer.alloc(MiB, 1));
              // The next MiB goes only once Azurite's side has this one.
              await until(() => upstreamReceived >= sent, `the upstream to receive ${sent} bytes`);
            }
            req.end();
          })().catch(reject);
        });
        expect(status).toBe(201);
        expect(upstreamReceived).toBe(total);
      },
    );

    it('relays a download before the upstream has sent all of it', { timeout: 20_000 }, async () => {
      clientReceived = 0;
      const received = await new Promise<number>((resolve, reject) => {
        httpRequest(`${proxy.blobEndpoint}/plain/big`, { method: 'GET' }, (res) => {
          res.on('data', (chunk: Buffer) => {
            clientReceived += chunk.length;
            release?.();
          });
          res.once('end', () => resolve(clientReceived));
          res.once('error', reject);
        })
          .once('error', reject)
          .end();
      });
      expect(received).toBe(total);
    });
  });
});

describe('startLocalStack', () => {
  it(
    'points LandingStorage at the proxy and its events at LANDING_EVENTS_QUEUE in AzureWebJobsStorage',
    { timeout: 120_000 },
    async () => {
      const stack = await startLocalStack();
      try {
        const { LandingStorage, LANDING_EVENTS_QUEUE: queueName, AzureWebJobsStorage } = stack.env;
        expect(queueName).toBe('landing-events');
        expect(LandingStorage).toBe(
          `DefaultEndpointsProtocol=http;AccountName=${LANDING_ACCOUNT};AccountKey=${LANDING_ACCOUNT_KEY};BlobEndpoint=${stack.landing.blobEndpoint};`,
        );
        expect(stack.landing.blobEndpoint).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${LANDING_ACCOUNT}$`));
        expect(stack.landing.blobEndpoint).not.toBe(stack.azurite.landing.blobEndpoint);
        const container = BlobServiceClient.fromConnectionString(LandingStorage ?? '').getContainerClient('dlz-stack');
        await container.create();
        const upload = await container.getBlockBlobClient('f.gpg').upload('hello', 5);
        const queue = new QueueClient(AzureWebJobsStorage ?? '', queueName ?? '');
        const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
        expect(
          peekedMessageItems.map(
            (m) => (JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as BlobCreatedEvent).data.eTag,
          ),
        ).toEqual([unquoted(upload.etag)]);
      } finally {
        await stack.stop();
      }
    },
  );
});
