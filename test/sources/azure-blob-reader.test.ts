import { createHash, randomBytes } from 'node:crypto';
import { Agent, createServer as createHttpServer, type Server } from 'node:http';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LANDING_ACCOUNT, LANDING_ACCOUNT_KEY, startAzurite, type AzuriteInstance } from '../../local/azurite.js';
import { parseAzureBlobCredential, type AzureBlobSource } from '../../shared/sources/azure-blob-credential.js';
import { createAzureBlobReader, type AzureBlobReaderOptions } from '../../shared/sources/azure-blob-reader.js';
import type { SourceEntry, SourceFile, SourceReader } from '../../shared/sources/source-reader.js';
import { collect, containerSas, readAll, refusal, sasSource, wronglySigned } from '../support/customer-blob.js';
import { guardStub } from '../support/outbound-guard-stub.js';

const CUSTOMER = 'customer';
const BIG = randomBytes(3 * 1024 * 1024 + 17);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let azurite: AzuriteInstance;
let admin: BlobServiceClient;
let customer: ContainerClient;

function reader(source: AzureBlobSource, options: Partial<AzureBlobReaderOptions> = {}): SourceReader {
  return createAzureBlobReader(source, { guard: guardStub(), ...options });
}

/** Counts the requests that reach the transport (after signing), per HTTP method. */
function countingPolicy(): PipelinePolicy & { readonly methods: string[] } {
  const methods: string[] = [];
  return {
    name: 'test-counting',
    methods,
    sendRequest: (request, next) => {
      methods.push(request.method);
      return next(request);
    },
  };
}

/** Every entry of a folder, a page of `limit` at a time; the sizes of the pages it took. */
async function listAll(
  r: SourceReader,
  folder: string,
  limit: number,
): Promise<{ entries: SourceEntry[]; pages: number[] }> {
  const entries: SourceEntry[] = [];
  const pages: number[] = [];
  let start: string | undefined;
  do {
    const page = await r.listFolder(folder, { limit, ...(start === undefined ? {} : { start }) });
    entries.push(...page.entries);
    pages.push(page.entries.length);
    start = page.next;
  } while (start !== undefined);
  return { entries, pages };
}

const paths = (entries: readonly { readonly path: string }[]) => entries.map((e) => e.path).sort();

async function upload(
  container: ContainerClient,
  name: string,
  body: string | Buffer,
  metadata?: Record<string, string>,
): Promise<void> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  await container.getBlockBlobClient(name).uploadData(bytes, metadata === undefined ? {} : { metadata });
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  azurite = await startAzurite();
  admin = BlobServiceClient.fromConnectionString(azurite.connectionString);
  customer = admin.getContainerClient(CUSTOMER);
  await customer.create();
  await Promise.all([
    upload(customer, 'a.txt', 'alpha'),
    upload(customer, 'big.bin', BIG),
    upload(customer, 'incoming/b.csv.gpg', 'bravo'),
    upload(customer, 'incoming/c.csv.gpg', 'charlie'),
    upload(customer, 'incoming/2024/d.csv.gpg', 'delta'),
    upload(customer, 'incoming/2024/01/e.csv.gpg', 'echo'),
    // Directory markers: a name ending in `/`, and an ADLS directory (hdi_isfolder).
    upload(customer, 'incoming/empty/', ''),
    upload(customer, 'hns-dir', '', { hdi_isfolder: 'true' }),
  ]);
});

afterAll(async () => {
  await azurite.stop();
});

describe('Azure Blob reader through a customer SAS (Azurite)', () => {
  it('lists the root a page at a time: folders and files, no directory markers', async () => {
    const { entries, pages } = await listAll(reader(sasSource(azurite, CUSTOMER)), '', 2);
    expect(paths(entries)).toEqual(['a.txt', 'big.bin', 'incoming']);
    expect(pages.every((n) => n <= 2)).toBe(true);
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(entries.find((e) => e.path === 'incoming')).toEqual({ type: 'folder', path: 'incoming', name: 'incoming' });
    const a = entries.find((e) => e.path === 'a.txt');
    expect(a).toMatchObject({ type: 'file', name: 'a.txt', size: 5 });
  });

  it('lists a folder: its subfolders and its own files only', async () => {
    const { entries } = await listAll(reader(sasSource(azurite, CUSTOMER)), 'incoming', 100);
    expect(
      entries
        .filter((e) => e.type === 'folder')
        .map((e) => e.path)
        .sort(),
    ).toEqual(['incoming/2024', 'incoming/empty']);
    expect(
      entries
        .filter((e) => e.type === 'file')
        .map((e) => e.path)
        .sort(),
    ).toEqual(['incoming/b.csv.gpg', 'incoming/c.csv.gpg']);
    // A trailing slash names the same folder.
    expect(
      paths((await reader(sasSource(azurite, CUSTOMER)).listFolder('incoming/2024/', { limit: 10 })).entries),
    ).toEqual(['incoming/2024/01', 'incoming/2024/d.csv.gpg']);
  });

  it('refuses to list a folder that does not exist, or a file, with SOURCE_PATH_NOT_FOUND; an ADLS directory lists empty', async () => {
    const r = reader(sasSource(azurite, CUSTOMER));
    expect((await refusal(r.listFolder('missing', { limit: 10 }))).code).toBe('SOURCE_PATH_NOT_FOUND');
    expect((await refusal(r.listFolder('a.txt', { limit: 10 }))).code).toBe('SOURCE_PATH_NOT_FOUND');
    expect(await r.listFolder('hns-dir', { limit: 10 })).toEqual({ entries: [] });
  });

  it('walks recursively: every file once, below every folder, no markers', async () => {
    const files = await collect(reader(sasSource(azurite, CUSTOMER)).walk('', { recursive: true }));
    expect(paths(files)).toEqual([
      'a.txt',
      'big.bin',
      'incoming/2024/01/e.csv.gpg',
      'incoming/2024/d.csv.gpg',
      'incoming/b.csv.gpg',
      'incoming/c.csv.gpg',
    ]);
    expect(files.find((f) => f.path === 'big.bin')?.size).toBe(BIG.length);
  });

  it("walks non-recursively: the folder's own files only", async () => {
    const r = reader(sasSource(azurite, CUSTOMER));
    expect(paths(await collect(r.walk('incoming', { recursive: false })))).toEqual([
      'incoming/b.csv.gpg',
      'incoming/c.csv.gpg',
    ]);
    expect(paths(await collect(r.walk('incoming/2024', { recursive: true })))).toEqual([
      'incoming/2024/01/e.csv.gpg',
      'incoming/2024/d.csv.gpg',
    ]);
    expect((await refusal(collect(r.walk('missing', { recursive: true })))).code).toBe('SOURCE_PATH_NOT_FOUND');
  });

  it('roots the reader at folderPath: paths are relative to it', async () => {
    const r = reader(sasSource(azurite, CUSTOMER, { folderPath: 'incoming' }));
    expect(paths(await collect(r.walk('', { recursive: true })))).toEqual([
      '2024/01/e.csv.gpg',
      '2024/d.csv.gpg',
      'b.csv.gpg',
      'c.csv.gpg',
    ]);
    expect((await r.stat('b.csv.gpg'))?.path).toBe('b.csv.gpg');
    expect(await r.stat('a.txt')).toBeUndefined();
  });

  it('stats a file: size, epoch-ms time and the unquoted ETag as version; undefined for none or a folder', async () => {
    const r = reader(sasSource(azurite, CUSTOMER));
    const props = await customer.getBlobClient('incoming/b.csv.gpg').getProperties();
    expect(await r.stat('incoming/b.csv.gpg')).toEqual({
      type: 'file',
      path: 'incoming/b.csv.gpg',
      name: 'b.csv.gpg',
      size: 5,
      lastModified: props.lastModified?.getTime(),
      version: props.etag?.replace(/"/g, ''),
    });
    expect(await r.stat('incoming/none.csv')).toBeUndefined();
    expect(await r.stat('incoming')).toBeUndefined();
    expect(await r.stat('hns-dir')).toBeUndefined();
    expect(await r.stat('')).toBeUndefined();
  });

  it('opens a file of a few MiB and streams exactly its bytes', async () => {
    const r = reader(sasSource(azurite, CUSTOMER));
    const file = await r.stat('big.bin');
    if (file === undefined) throw new Error('big.bin missing');
    const bytes = await readAll(await r.open(file));
    expect(bytes.length).toBe(BIG.length);
    expect(sha256(bytes)).toBe(sha256(BIG));
  });

  it('refuses to open a file overwritten since it was listed with SOURCE_FILE_CHANGED', async () => {
    await upload(customer, 'changing.txt', 'first version');
    const r = reader(sasSource(azurite, CUSTOMER));
    const file = await r.stat('changing.txt');
    if (file === undefined) throw new Error('changing.txt missing');
    await upload(customer, 'changing.txt', 'second version, longer');
    expect((await refusal(r.open(file))).code).toBe('SOURCE_FILE_CHANGED');
  });

  describe('a connection broken mid-download', () => {
    /** Cuts the first download's body after `afterBytes` (running `meanwhile` first), as a reset connection would. */
    function cutOnce(
      afterBytes: number,
      meanwhile: () => Promise<void>,
    ): PipelinePolicy & { readonly downloads: string[] } {
      let cut = false;
      const downloads: string[] = [];
      return {
        name: 'test-cut-download',
        downloads,
        async sendRequest(request, next) {
          const response = await next(request);
          if (request.method === 'GET')
            downloads.push(`${response.status} If-Match: ${request.headers.get('if-match') ?? ''}`);
          const body = response.readableStreamBody;
          if (cut || request.method !== 'GET' || response.status !== 200 || !(body instanceof Readable))
            return response;
          cut = true;
          async function* firstBytes(): AsyncGenerator<Buffer> {
            let sent = 0;
            for await (const chunk of body as AsyncIterable<Buffer>) {
              yield chunk;
              sent += chunk.length;
              if (sent >= afterBytes) break;
            }
            await meanwhile();
            throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          }
          return { ...response, readableStreamBody: Readable.from(firstBytes(), { objectMode: false }) };
        },
      };
    }

    it('resumes where it broke off (If-Match the same version) and streams exactly the bytes', async () => {
      const cut = cutOnce(1024 * 1024, () => Promise.resolve());
      const r = reader(sasSource(azurite, CUSTOMER), { pipelinePolicies: [cut] });
      const file = await r.stat('big.bin');
      if (file === undefined) throw new Error('big.bin missing');
      expect(sha256(await readAll(await r.open(file)))).toBe(sha256(BIG));
      expect(cut.downloads).toEqual([`200 If-Match: "${file.version}"`, `206 If-Match: "${file.version}"`]);
    });

    it('fails the stream with SOURCE_FILE_CHANGED when the blob was overwritten before it resumed', async () => {
      const original = randomBytes(2 * 1024 * 1024);
      await upload(customer, 'replaced.bin', original);
      const overwrite = () => upload(customer, 'replaced.bin', randomBytes(2 * 1024 * 1024));
      const cut = cutOnce(512 * 1024, overwrite);
      const r = reader(sasSource(azurite, CUSTOMER), { pipelinePolicies: [cut] });
      const file = await r.stat('replaced.bin');
      if (file === undefined) throw new Error('replaced.bin missing');
      const stream = await r.open(file);
      expect((await refusal(readAll(stream))).code).toBe('SOURCE_FILE_CHANGED');
      // The resumed request asked for the same version and was refused (412), not the first one.
      expect(cut.downloads).toEqual([`200 If-Match: "${file.version}"`, `412 If-Match: "${file.version}"`]);
    });
  });

  it('fails a download whose body goes idle with SOURCE_UNREACHABLE', async () => {
    // Forwards the first 64 KiB of each download body, then nothing, as a stalled connection would.
    const stall: PipelinePolicy = {
      name: 'test-stall-download',
      async sendRequest(request, next) {
        const response = await next(request);
        const body = response.readableStreamBody;
        if (request.method !== 'GET' || !(body instanceof Readable)) return response;
        const stalled = new PassThrough();
        void (async () => {
          let sent = 0;
          for await (const chunk of body as AsyncIterable<Buffer>) {
            stalled.write(chunk);
            sent += chunk.length;
            if (sent >= 64 * 1024) break;
          }
        })();
        return { ...response, readableStreamBody: stalled };
      },
    };
    const r = reader(sasSource(azurite, CUSTOMER), { pipelinePolicies: [stall], readIdleTimeoutMs: 300 });
    const file = await r.stat('big.bin');
    if (file === undefined) throw new Error('big.bin missing');
    const started = Date.now();
    const failure = await refusal(readAll(await r.open(file)));
    expect(failure.code).toBe('SOURCE_UNREACHABLE');
    expect(failure.detail).toMatch(/sent nothing for/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses to list with a SAS that grants read only (no list): SOURCE_AUTH_FAILED', async () => {
    const readOnly: AzureBlobSource = {
      ...sasSource(azurite, CUSTOMER),
      credential: { kind: 'sas', query: containerSas(CUSTOMER, 'r') },
    };
    const r = reader(readOnly);
    expect((await refusal(r.listFolder('', { limit: 10 }))).code).toBe('SOURCE_AUTH_FAILED');
    expect((await refusal(collect(r.walk('', { recursive: true })))).code).toBe('SOURCE_AUTH_FAILED');
  });

  it('refuses every operation with a SAS whose signature is wrong: SOURCE_AUTH_FAILED', async () => {
    const good = sasSource(azurite, CUSTOMER);
    if (good.credential.kind !== 'sas') throw new Error('expected a SAS');
    const r = reader({ ...good, credential: { kind: 'sas', query: wronglySigned(good.credential.query) } });
    expect((await refusal(r.listFolder('', { limit: 10 }))).code).toBe('SOURCE_AUTH_FAILED');
    expect((await refusal(r.stat('a.txt'))).code).toBe('SOURCE_AUTH_FAILED');
    const file = await reader(good).stat('a.txt');
    if (file === undefined) throw new Error('a.txt missing');
    expect((await refusal(r.open(file))).code).toBe('SOURCE_AUTH_FAILED');
  });

  it('refuses a container that does not exist with SOURCE_PATH_NOT_FOUND', async () => {
    const r = reader(sasSource(azurite, 'no-such-container'));
    expect((await refusal(r.listFolder('', { limit: 10 }))).code).toBe('SOURCE_PATH_NOT_FOUND');
    expect((await refusal(collect(r.walk('', { recursive: true })))).code).toBe('SOURCE_PATH_NOT_FOUND');
    expect(await r.stat('a.txt')).toBeUndefined();
  });

  it('fails with SOURCE_UNREACHABLE within a few seconds when nothing listens on the port', async () => {
    const port = await closedPort();
    const r = reader(sasSource(azurite, CUSTOMER, { endpoint: `http://127.0.0.1:${port}/devstoreaccount1` }));
    const started = Date.now();
    expect((await refusal(r.listFolder('', { limit: 10 }))).code).toBe('SOURCE_UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('fails with SOURCE_UNREACHABLE when the endpoint accepts and never answers (request timeout)', async () => {
    const sockets: Socket[] = [];
    const silent: NetServer = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const r = reader(sasSource(azurite, CUSTOMER, { endpoint: `http://127.0.0.1:${port}/devstoreaccount1` }), {
        requestTimeoutMs: 300,
      });
      const started = Date.now();
      expect((await refusal(r.listFolder('', { limit: 10 }))).code).toBe('SOURCE_UNREACHABLE');
      expect((await refusal(r.stat('a.txt'))).code).toBe('SOURCE_UNREACHABLE');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('does not follow a redirect from the endpoint, even to its own origin: SOURCE_UNREACHABLE', async () => {
    let elsewhere = 0;
    const redirector: Server = createHttpServer((req, res) => {
      if (req.url?.startsWith('/elsewhere') === true) {
        elsewhere++;
        res.end();
        return;
      }
      res.writeHead(302, { location: `/elsewhere${req.url ?? '/'}` }).end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = redirector.address() as AddressInfo;
      const r = reader(sasSource(azurite, CUSTOMER, { endpoint: `http://127.0.0.1:${port}/devstoreaccount1` }));
      const failure = await refusal(r.listFolder('', { limit: 10 }));
      expect(failure.code).toBe('SOURCE_UNREACHABLE');
      expect(failure.detail).toMatch(/redirect/);
      expect((await refusal(r.stat('a.txt'))).code).toBe('SOURCE_UNREACHABLE');
      expect(elsewhere).toBe(0);
    } finally {
      await new Promise<void>((resolve) => redirector.close(() => resolve()));
    }
  });

  it('asks the guard about the endpoint before any request, and stops with ADDRESS_NOT_ALLOWED when it refuses', async () => {
    const guard = guardStub([]);
    const counter = countingPolicy();
    const r = reader(sasSource(azurite, CUSTOMER), { guard, pipelinePolicies: [counter] });
    expect((await refusal(r.listFolder('', { limit: 10 }))).code).toBe('ADDRESS_NOT_ALLOWED');
    expect((await refusal(collect(r.walk('', { recursive: true })))).code).toBe('ADDRESS_NOT_ALLOWED');
    expect((await refusal(r.stat('a.txt'))).code).toBe('ADDRESS_NOT_ALLOWED');
    expect(guard.checked).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    expect(counter.methods).toEqual([]);
  });

  it("asks the guard once for all of a reader's requests when it allows the host", async () => {
    const guard = guardStub();
    const r = reader(sasSource(azurite, CUSTOMER), { guard });
    await r.listFolder('', { limit: 10 });
    await r.stat('a.txt');
    await collect(r.walk('incoming', { recursive: false }));
    expect(guard.checked).toEqual(['127.0.0.1']);
  });

  it('runs the pipeline policies it is given on every request of every operation', async () => {
    const counter = countingPolicy();
    const r = reader(sasSource(azurite, CUSTOMER), { pipelinePolicies: [counter] });
    await r.listFolder('', { limit: 10 });
    await collect(r.walk('', { recursive: true }));
    const file = await r.stat('a.txt');
    if (file === undefined) throw new Error('a.txt missing');
    expect((await readAll(await r.open(file))).toString()).toBe('alpha');
    // Two listings, one HEAD (stat), one GET (download); each client built afresh, none twice-policied.
    expect(counter.methods).toEqual(['GET', 'GET', 'HEAD', 'GET']);
    await r.close();
    await r.close();
  });

  it("connects through the agent a pipeline policy sets (the outbound guard's pinned lookup)", async () => {
    const guard = guardStub();
    const agent = new Agent({ lookup: guard.lookup });
    const pinned: PipelinePolicy = {
      name: 'test-pinned-agent',
      sendRequest: (request, next) => {
        request.agent = agent;
        return next(request);
      },
    };
    const port = new URL(azurite.blobEndpoint).port;
    const source = sasSource(azurite, CUSTOMER, { endpoint: `http://localhost:${port}/devstoreaccount1` });
    expect(source.host).toBe('localhost');
    const r = createAzureBlobReader(source, { guard, pipelinePolicies: [pinned] });
    expect(paths((await r.listFolder('incoming/2024', { limit: 10 })).entries)).toEqual([
      'incoming/2024/01',
      'incoming/2024/d.csv.gpg',
    ]);
    expect(guard.checked).toEqual(['localhost']);
    expect(guard.looked).toContain('localhost');
    agent.destroy();
  });
});

describe('Azure Blob reader over many blobs (Azurite)', () => {
  const COUNT = 10_000;
  const name = (i: number) => `d${i % 20}/part-${String(i).padStart(5, '0')}.csv.gpg`;

  beforeAll(async () => {
    const many = admin.getContainerClient('many');
    await many.create();
    let next = 0;
    const worker = async () => {
      while (next < COUNT) {
        const i = next++;
        await many.getBlockBlobClient(name(i)).upload('x', 1);
      }
    };
    await Promise.all(Array.from({ length: 64 }, worker));
  }, 120_000);

  it('walks 10,000 blobs, each exactly once, a page at a time', async () => {
    const counter = countingPolicy();
    const seen = new Set<string>();
    let count = 0;
    for await (const file of reader(sasSource(azurite, 'many'), { pipelinePolicies: [counter] }).walk('', {
      recursive: true,
    })) {
      seen.add(file.path);
      count++;
    }
    expect(count).toBe(COUNT);
    expect(seen.size).toBe(COUNT);
    expect(seen.has(name(0)) && seen.has(name(COUNT - 1))).toBe(true);
    // Pages of 1,000: ten listings, not one answer holding everything.
    expect(counter.methods.length).toBe(COUNT / 1000);
  });

  it('walks one folder of them non-recursively', async () => {
    const files: SourceFile[] = await collect(reader(sasSource(azurite, 'many')).walk('d7', { recursive: false }));
    expect(files.length).toBe(COUNT / 20);
    expect(files.every((f) => f.path.startsWith('d7/'))).toBe(true);
  });
});

describe('Azure Blob reader at an account root (connection string without a container)', () => {
  const accountRoot = (): AzureBlobSource =>
    parseAzureBlobCredential(
      {
        specName: 'ConnectionString',
        connectionString: `DefaultEndpointsProtocol=http;AccountName=${LANDING_ACCOUNT};AccountKey=${LANDING_ACCOUNT_KEY};BlobEndpoint=${azurite.landing.blobEndpoint};`,
      },
      { allowLoopbackHttp: true },
    );

  beforeAll(async () => {
    const account = new BlobServiceClient(
      azurite.landing.blobEndpoint,
      new StorageSharedKeyCredential(LANDING_ACCOUNT, LANDING_ACCOUNT_KEY),
    );
    for (const name of ['alpha', 'beta', 'gamma']) await account.getContainerClient(name).create();
    await account.getContainerClient('beta').getBlockBlobClient('in/x.csv.gpg').upload('xyz', 3);
  });

  it('lists the containers as folders, a page at a time', async () => {
    const r = reader(accountRoot());
    const first = await r.listFolder('', { limit: 2 });
    expect(first.entries).toEqual([
      { type: 'folder', path: 'alpha', name: 'alpha' },
      { type: 'folder', path: 'beta', name: 'beta' },
    ]);
    expect(first.next).toBeDefined();
    const second = await r.listFolder('', { limit: 2, ...(first.next === undefined ? {} : { start: first.next }) });
    expect(second).toEqual({ entries: [{ type: 'folder', path: 'gamma', name: 'gamma' }] });
  });

  it("reads a path's first segment as the container", async () => {
    const r = reader(accountRoot());
    expect((await r.listFolder('beta', { limit: 10 })).entries).toEqual([
      { type: 'folder', path: 'beta/in', name: 'in' },
    ]);
    const file = await r.stat('beta/in/x.csv.gpg');
    expect(file).toMatchObject({ path: 'beta/in/x.csv.gpg', name: 'x.csv.gpg', size: 3 });
    if (file === undefined) throw new Error('x.csv.gpg missing');
    expect((await readAll(await r.open(file))).toString()).toBe('xyz');
    expect(paths(await collect(r.walk('', { recursive: true })))).toEqual(['beta/in/x.csv.gpg']);
    expect(await collect(r.walk('', { recursive: false }))).toEqual([]);
    expect(await r.stat('beta')).toBeUndefined();
    expect((await refusal(r.listFolder('delta', { limit: 10 }))).code).toBe('SOURCE_PATH_NOT_FOUND');
    expect((await refusal(r.listFolder('Not_A_Container', { limit: 10 }))).code).toBe('SOURCE_PATH_NOT_FOUND');
  });
});
