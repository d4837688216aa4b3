import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCOUNT, startAzurite, type AzuriteInstance } from '../../local/azurite.js';
import { ValidationError, type AppError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging/logger.js';
import { serializeError } from '../../shared/logging/serialize-error.js';
import {
  parseAzureBlobCredential,
  type AzureBlobCredentialInput,
  type AzureBlobSource,
} from '../../shared/sources/azure-blob-credential.js';
import { createAzureBlobReader } from '../../shared/sources/azure-blob-reader.js';
import type { SourceReader } from '../../shared/sources/source-reader.js';
import { collect, containerSas, readAll, refusal, sasSource } from '../support/customer-blob.js';
import { guardStub } from '../support/outbound-guard-stub.js';

/**
 * Attack: a customer's credential (a SAS signature, an account key, the connection string) leaks
 * through an error: its message or detail shown to the caller, its field errors, its cause, or the
 * log line written for it, whether the failure is refused input, a service's refusal, an outage,
 * or a hostile endpoint that quotes the request (URL and Authorization header) back.
 * Property: no error, message or log line of a refused parse or a failing reader contains the
 * signature (raw, decoded or re-encoded), the account key or the connection string; the codes
 * stay the ones each failure has.
 */

// Distinctive made-up secrets (valid Base64; the signature with characters that URL-encode).
const KEY = Buffer.from('account-key-marker-9f3c-'.repeat(3)).toString('base64');
const SIG = Buffer.from('sas-signature-marker-77e1+/').toString('base64');
const SIG_ENCODED = encodeURIComponent(SIG);
const NOW = Date.parse('2030-06-01T00:00:00Z');

const markers = (...extra: string[]) => [KEY, SIG, SIG_ENCODED, 'account-key-marker', ...extra];

/** Everything an error can say: message, detail, field errors, cause chain, inspection, a log line. */
function everythingSaid(err: AppError): string {
  const lines: string[] = [];
  const logger = createLogger({
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  });
  logger.error({ err }, 'the source failed');
  return [
    err.message,
    err.detail,
    String(err),
    JSON.stringify(err),
    JSON.stringify(serializeError(err)),
    inspect(err, { depth: Infinity, showHidden: true }),
    err instanceof ValidationError ? JSON.stringify(err.errors) : '',
    ...lines,
  ].join('\n');
}

function expectNoSecret(err: AppError, secrets: readonly string[]): void {
  const said = everythingSaid(err);
  for (const secret of secrets) expect(said, `${err.code} quotes a secret`).not.toContain(secret);
}

function parseRefusal(input: AzureBlobCredentialInput, allowLoopbackHttp = false): ValidationError {
  try {
    parseAzureBlobCredential(input, { allowLoopbackHttp, clock: { now: () => NOW } });
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

describe('a refused Azure Blob credential never quotes its secrets', () => {
  const sas = (sp: string, se = '2031-01-01T00:00:00Z') => `sv=2024-11-04&sr=c&sp=${sp}&se=${se}&sig=${SIG_ENCODED}`;
  const keyString = (extra: string) => `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};${extra}`;
  const cases: [string, AzureBlobCredentialInput][] = [
    [
      'sp without l',
      { specName: 'SAS URI Authentication', sasUri: `https://acct.blob.core.windows.net/c01?${sas('r')}` },
    ],
    [
      'an expired se',
      {
        specName: 'SAS URI Authentication',
        sasUri: `https://acct.blob.core.windows.net/c01?${sas('rl', '2020-01-01')}`,
      },
    ],
    [
      'http to a public host',
      { specName: 'SAS URI Authentication', sasUri: `http://acct.blob.core.windows.net/c01?${sas('rl')}` },
    ],
    [
      'a blob path',
      {
        specName: 'SAS URI Authentication',
        sasUri: `https://acct.blob.core.windows.net/c01/${SIG_ENCODED}?${sas('rl')}`,
      },
    ],
    [
      'a bad container in the path',
      { specName: 'SAS URI Authentication', sasUri: `https://acct.blob.core.windows.net/${SIG_ENCODED}?${sas('rl')}` },
    ],
    [
      'credentials in the URL',
      { specName: 'SAS URI Authentication', sasUri: `https://u:${KEY}@acct.blob.core.windows.net/c01?${sas('rl')}` },
    ],
    [
      'a bad host',
      { specName: 'SAS URI Authentication', sasUri: `https://${SIG.replace(/[+/=]/g, '')}_x.example/c01?${sas('rl')}` },
    ],
    [
      'a bad container param',
      {
        specName: 'SAS URI Authentication',
        sasUri: `https://acct.blob.core.windows.net/c01?${sas('rl')}`,
        container: SIG,
      },
    ],
    [
      'a bad folderPath',
      {
        specName: 'SAS URI Authentication',
        sasUri: `https://acct.blob.core.windows.net/c01?${sas('rl')}`,
        folderPath: `../${SIG}`,
      },
    ],
    ['a bad protocol', { specName: 'ConnectionString', connectionString: keyString('DefaultEndpointsProtocol=ftp') }],
    ['an unknown setting', { specName: 'ConnectionString', connectionString: keyString(`Secret${KEY}=x`) }],
    [
      'a key and a SAS',
      { specName: 'ConnectionString', connectionString: keyString(`SharedAccessSignature=${sas('rl')}`) },
    ],
    [
      'an expired SAS setting',
      {
        specName: 'ConnectionString',
        connectionString: `BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=${sas('rl', '2020-01-01')}`,
      },
    ],
    [
      'a malformed key',
      {
        specName: 'ConnectionString',
        connectionString: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY}!`,
      },
    ],
    [
      'development storage outside local mode',
      { specName: 'ConnectionString', connectionString: `UseDevelopmentStorage=true;AccountKey=${KEY}` },
    ],
    ['not a connection string', { specName: 'ConnectionString', connectionString: `${KEY} ${SIG}` }],
  ];

  it.each(cases)('refuses %s with INVALID_REQUEST and quotes no secret', (_name, input) => {
    const err = parseRefusal(input);
    expect(err.code).toBe('INVALID_REQUEST');
    expectNoSecret(err, markers(input.specName === 'ConnectionString' ? input.connectionString : input.sasUri));
  });
});

describe('a failing Azure Blob reader never quotes its credential', () => {
  let azurite: AzuriteInstance;
  let secrets: string[];

  beforeAll(async () => {
    azurite = await startAzurite();
    const admin = BlobServiceClient.fromConnectionString(azurite.connectionString);
    await admin.getContainerClient('customer').create();
    await admin.getContainerClient('customer').getBlockBlobClient('a.txt').upload('alpha', 5);
  });

  afterAll(async () => {
    await azurite.stop();
  });

  /** A SAS source for `customer` whose signature is the marker (wrong, as far as Azurite knows). */
  function markedSas(endpoint = azurite.blobEndpoint): AzureBlobSource {
    const query = containerSas('customer', 'rl').replace(/sig=[^&]*/, `sig=${SIG_ENCODED}`);
    secrets = markers(query);
    return { ...sasSource(azurite, 'customer', { endpoint }), credential: { kind: 'sas', query } };
  }

  async function failures(r: SourceReader): Promise<AppError[]> {
    return [
      await refusal(r.listFolder('', { limit: 10 })),
      await refusal(collect(r.walk('', { recursive: true }))),
      await refusal(r.stat('a.txt')),
      await refusal(r.open({ type: 'file', path: 'a.txt', name: 'a.txt', size: 5, lastModified: 0, version: '0x1' })),
    ];
  }

  it('a wrong SAS signature (403 from the service)', async () => {
    for (const err of await failures(createAzureBlobReader(markedSas(), { guard: guardStub() }))) {
      expect(err.code).toBe('SOURCE_AUTH_FAILED');
      expectNoSecret(err, secrets);
    }
  });

  it('a wrong account key in a connection string (403)', async () => {
    const source = parseAzureBlobCredential(
      {
        specName: 'ConnectionString',
        connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${KEY};BlobEndpoint=${azurite.blobEndpoint};`,
        container: 'customer',
      },
      { allowLoopbackHttp: true },
    );
    for (const err of await failures(createAzureBlobReader(source, { guard: guardStub() }))) {
      expect(err.code).toBe('SOURCE_AUTH_FAILED');
      expectNoSecret(err, markers());
    }
  });

  it('a container that does not exist, and a file that changed (404, 412)', async () => {
    const query = containerSas('missing', 'rl');
    const missing = createAzureBlobReader(
      { ...sasSource(azurite, 'missing'), credential: { kind: 'sas', query } },
      { guard: guardStub() },
    );
    const notFound = await refusal(missing.listFolder('', { limit: 10 }));
    expect(notFound.code).toBe('SOURCE_PATH_NOT_FOUND');
    expectNoSecret(notFound, markers(query, new URLSearchParams(query).get('sig') ?? 'unreachable'));

    const customer = sasSource(azurite, 'customer');
    if (customer.credential.kind !== 'sas') throw new Error('expected a SAS');
    const r = createAzureBlobReader(customer, { guard: guardStub() });
    const changed = await refusal(
      r.open({ type: 'file', path: 'a.txt', name: 'a.txt', size: 5, lastModified: 0, version: '0x1' }),
    );
    expect(changed.code).toBe('SOURCE_FILE_CHANGED');
    expectNoSecret(
      changed,
      markers(customer.credential.query, new URLSearchParams(customer.credential.query).get('sig') ?? 'unreachable'),
    );
    expect(await readAll(await r.open(await statOf(r, 'a.txt')))).toEqual(Buffer.from('alpha'));
  });

  it('an endpoint that cannot be reached, and one the guard refuses', async () => {
    const unreachable = createAzureBlobReader(markedSas('http://127.0.0.1:1/devstoreaccount1'), { guard: guardStub() });
    for (const err of await failures(unreachable)) {
      expect(err.code).toBe('SOURCE_UNREACHABLE');
      expectNoSecret(err, secrets);
    }
    const refused = createAzureBlobReader(markedSas(), { guard: guardStub([]) });
    for (const err of await failures(refused)) {
      expect(err.code).toBe('ADDRESS_NOT_ALLOWED');
      expectNoSecret(err, secrets);
    }
  });

  it('a hostile endpoint that quotes the request URL and Authorization header back in its errors', async () => {
    const server: Server = createServer((req, res) => {
      const quoted = `${req.url ?? ''} ${req.headers.authorization ?? ''} ${decodeURIComponent(req.url ?? '')}`;
      res.writeHead(403, { 'content-type': 'application/xml', 'x-ms-error-code': SIG });
      res.end(
        `<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>you sent ${quoted}</Message></Error>`,
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/devstoreaccount1`;
      for (const err of await failures(createAzureBlobReader(markedSas(endpoint), { guard: guardStub() }))) {
        expect(err.code).toBe('SOURCE_AUTH_FAILED');
        expectNoSecret(err, secrets);
      }
      const keyed = parseAzureBlobCredential(
        {
          specName: 'ConnectionString',
          connectionString: `AccountName=${DEV_ACCOUNT};AccountKey=${KEY};BlobEndpoint=${endpoint}`,
          container: 'customer',
        },
        { allowLoopbackHttp: true },
      );
      for (const err of await failures(createAzureBlobReader(keyed, { guard: guardStub() }))) {
        expect(err.code).toBe('SOURCE_AUTH_FAILED');
        expectNoSecret(err, markers());
        // The request's own signature (SharedKey account:signature) is blanked too.
        expect(everythingSaid(err)).not.toMatch(/SharedKey [^\s:]+:[A-Za-z0-9+/=]{20,}/);
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

async function statOf(r: SourceReader, path: string) {
  const file = await r.stat(path);
  if (file === undefined) throw new Error(`${path} missing`);
  return file;
}
