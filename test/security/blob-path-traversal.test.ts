import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCOUNT, startAzurite, type AzuriteInstance } from '../../local/azurite.js';
import { AppError, ValidationError } from '../../shared/errors.js';
import { parseAzureBlobCredential } from '../../shared/sources/azure-blob-credential.js';
import { createAzureBlobReader } from '../../shared/sources/azure-blob-reader.js';
import type { SourceFile, SourceReader } from '../../shared/sources/source-reader.js';
import { collect, keySource, readAll } from '../support/customer-blob.js';
import { guardStub } from '../support/outbound-guard-stub.js';

/**
 * Attack: a path handed to the Azure Blob reader (by a caller exploring, or a crafted file record
 * replayed to `open`) climbs out of the connection's root: `..` and `.` segments, their
 * percent-encoded forms (single and double), encoded or backslash separators, a leading `/`, a
 * NUL. URL parsing resolves dot segments (`/acct/c/inbox/../../internal`), so one that slipped
 * through would read another folder or another container with the same credential.
 * Property: with a credential good for the whole account (an account key) and a root of
 * `customer/inbox`, no path lists, stats, walks or opens anything outside it: dot forms are
 * refused with SOURCE_PATH_NOT_FOUND, encoded forms stay literal blob names inside the root, and
 * every request the reader sends stays below `/devstoreaccount1/customer` with an `inbox/` prefix.
 */

const SECRET = 'internal-secret-marker-4c1d';
const OUTSIDE = 'outside-the-folder-marker-b37a';

/** Dot segments however spelled in plain text, backslashes, NUL: refused before any request. */
const REFUSED = [
  '..',
  '../',
  '../outside.txt',
  '../../internal/secret.txt',
  './../outside.txt',
  'sub/../../outside.txt',
  'sub/./../..',
  '/../outside.txt',
  '//../outside.txt',
  '..\\outside.txt',
  '..\\..\\internal\\secret.txt',
  '\u002e\u002e/outside.txt',
  '..\u0000/outside.txt',
  'sub/..\u0000/../outside.txt',
  '../internal',
  '../../internal',
];

/** Encoded dots and separators, look-alikes: literal blob names inside the root (which do not exist). */
const LITERAL = [
  '%2e%2e/outside.txt',
  '%2E%2E/%2E%2E/internal/secret.txt',
  '.%2e/outside.txt',
  '%2e./outside.txt',
  '..%2foutside.txt',
  '..%2Foutside.txt',
  '%2e%2e%2foutside.txt',
  '%2e%2e%5coutside.txt',
  'sub/%2e%2e/%2e%2e/outside.txt',
  '%252e%252e/outside.txt',
  '..;/outside.txt',
  '\uff0e\uff0e/outside.txt',
];

let azurite: AzuriteInstance;
let secretFile: SourceFile;
let outsideFile: SourceFile;
const requests: URL[] = [];

/** Records every URL the reader sends (after signing, as it goes on the wire). */
const recorder: PipelinePolicy = {
  name: 'test-record-urls',
  sendRequest: (request, next) => {
    requests.push(new URL(request.url));
    return next(request);
  },
};

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return await promise;
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

beforeAll(async () => {
  azurite = await startAzurite();
  const admin = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const customer = admin.getContainerClient('customer');
  const internal = admin.getContainerClient('internal');
  await Promise.all([customer.create(), internal.create()]);
  await Promise.all([
    internal.getBlockBlobClient('secret.txt').upload(SECRET, SECRET.length),
    customer.getBlockBlobClient('outside.txt').upload(OUTSIDE, OUTSIDE.length),
    customer.getBlockBlobClient('inbox/a.txt').upload('inside', 6),
    customer.getBlockBlobClient('inbox/sub/b.txt').upload('inside too', 10),
    // A name that looks encoded is a literal name, readable as one, inside the root.
    customer.getBlockBlobClient('inbox/%2e%2e/literal.txt').upload('literal', 7),
  ]);
  const whole = createAzureBlobReader(keySource(azurite), { guard: guardStub() });
  const found = [await whole.stat('internal/secret.txt'), await whole.stat('customer/outside.txt')];
  if (found[0] === undefined || found[1] === undefined) throw new Error('fixtures missing');
  [secretFile, outsideFile] = found;
});

afterAll(async () => {
  await azurite.stop();
});

describe.each([
  ['a container with a folderPath', () => keySource(azurite, { container: 'customer', folderPath: 'inbox' })],
  ['the account with a folderPath naming the container', () => keySource(azurite, { folderPath: 'customer/inbox' })],
])('paths never leave the root: %s', (_name, source) => {
  const reader = (): SourceReader =>
    createAzureBlobReader(source(), { guard: guardStub(), pipelinePolicies: [recorder] });

  it.each(REFUSED)('refuses %j in every operation with SOURCE_PATH_NOT_FOUND, sending nothing', async (attack) => {
    const r = reader();
    const sent = requests.length;
    expect(await outcome(r.stat(attack))).toBe('SOURCE_PATH_NOT_FOUND');
    expect(await outcome(r.listFolder(attack, { limit: 100 }))).toBe('SOURCE_PATH_NOT_FOUND');
    expect(await outcome(collect(r.walk(attack, { recursive: true })))).toBe('SOURCE_PATH_NOT_FOUND');
    for (const target of [secretFile, outsideFile]) {
      expect(await outcome(r.open({ ...target, path: attack }).then(readAll))).toBe('SOURCE_PATH_NOT_FOUND');
    }
    expect(requests.length).toBe(sent);
  });

  it.each(LITERAL)(
    'reads %j as a literal name inside the root: nothing found, nothing outside read',
    async (attack) => {
      const r = reader();
      expect(await outcome(r.stat(attack))).toBeUndefined();
      expect(await outcome(r.listFolder(attack, { limit: 100 }))).toBe('SOURCE_PATH_NOT_FOUND');
      expect(await outcome(collect(r.walk(attack, { recursive: true })))).toBe('SOURCE_PATH_NOT_FOUND');
      for (const target of [secretFile, outsideFile]) {
        // No blob by that name: 404, or 412 where the service checks If-Match first (Azurite).
        expect(['SOURCE_PATH_NOT_FOUND', 'SOURCE_FILE_CHANGED']).toContain(
          await outcome(r.open({ ...target, path: attack }).then(readAll)),
        );
      }
    },
  );

  it('walks and reads only what is under the root; an encoded-looking name is a literal inside it', async () => {
    const r = reader();
    const files = await collect(r.walk('', { recursive: true }));
    expect(files.map((f) => f.path).sort()).toEqual(['%2e%2e/literal.txt', 'a.txt', 'sub/b.txt']);
    const literal = files.find((f) => f.path === '%2e%2e/literal.txt');
    if (literal === undefined) throw new Error('literal missing');
    expect((await readAll(await r.open(literal))).toString()).toBe('literal');
    expect((await r.stat('%2e%2e/literal.txt'))?.size).toBe(7);
  });

  it('sent every request below the root: the container, an inbox/ prefix or a blob under inbox/', () => {
    expect(requests.length).toBeGreaterThan(0);
    for (const url of requests) {
      const path = decodeURIComponent(url.pathname);
      expect(path.startsWith(`/${DEV_ACCOUNT}/customer`), url.href).toBe(true);
      if (path === `/${DEV_ACCOUNT}/customer`)
        expect(url.searchParams.get('prefix') ?? '', url.href).toMatch(/^inbox\//);
      else expect(path.startsWith(`/${DEV_ACCOUNT}/customer/inbox/`), url.href).toBe(true);
      expect(path).not.toMatch(/\/\.\.?(\/|$)/);
    }
    requests.length = 0;
  });
});

describe('a root that climbs out is refused when the connection is created', () => {
  it.each([
    ['folderPath', { folderPath: '../internal' }],
    ['folderPath', { folderPath: 'inbox/../../internal' }],
    ['folderPath', { folderPath: '%2e%2e/internal' }],
    ['folderPath', { folderPath: '..\\internal' }],
    ['container', { container: '..' }],
    ['container', { container: '../internal' }],
  ])('refuses a %s that climbs out with INVALID_REQUEST naming it', (field, location) => {
    try {
      parseAzureBlobCredential(
        { specName: 'ConnectionString', connectionString: `UseDevelopmentStorage=true`, ...location },
        { allowLoopbackHttp: true },
      );
      throw new Error('expected a refusal');
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      if (!(err instanceof ValidationError)) throw err;
      expect(err.errors.map((e) => e.field)).toContain(`body.auth.params.${field}`);
    }
  });
});
