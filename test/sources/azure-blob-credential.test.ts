import { describe, expect, it } from 'vitest';
import type { Clock } from '../../shared/core/clock.js';
import { ValidationError } from '../../shared/errors.js';
import {
  describeAzureBlobSource,
  parseAzureBlobCredential,
  SAS_READ_LIST_MESSAGE,
  type AzureBlobCredentialInput,
} from '../../shared/sources/azure-blob-credential.js';

const NOW = Date.parse('2030-06-01T00:00:00Z');
const clock: Clock = { now: () => NOW };
const PRODUCTION = { allowLoopbackHttp: false, clock };
const LOCAL = { allowLoopbackHttp: true, clock };

// A made-up key and signature (shaped like real ones, valid for nothing).
const KEY = 'c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS1ub3QtYS1yZWFsLWFjY291bnQta2V5LTAxMjM0NTY3ODk=';
const SIG = 'Zm9vYmFyL2Jheit0ZXN0c2lnbmF0dXJlPQ%3D%3D';
const sas = (overrides: Record<string, string | undefined> = {}): string => {
  const params: Record<string, string | undefined> = {
    sv: '2024-11-04',
    sr: 'c',
    sp: 'rl',
    se: '2031-01-01T00:00:00Z',
    sig: SIG,
    ...overrides,
  };
  return Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
};
const sasUri = (uri: string, extra: Partial<AzureBlobCredentialInput> = {}): AzureBlobCredentialInput =>
  ({
    specName: 'SAS URI Authentication',
    sasUri: uri,
    ...extra,
  }) as AzureBlobCredentialInput;
const connection = (
  connectionString: string,
  extra: { container?: string; folderPath?: string } = {},
): AzureBlobCredentialInput => ({
  specName: 'ConnectionString',
  connectionString,
  ...extra,
});
const ACCOUNT_KEY_STRING = `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=core.windows.net`;

function refusal(input: AzureBlobCredentialInput, options = PRODUCTION): ValidationError {
  try {
    parseAzureBlobCredential(input, options);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('expected a ValidationError');
}

/** The one field error of a refusal, as `field: message`. */
function refusedWith(
  input: AzureBlobCredentialInput,
  options = PRODUCTION,
): { field: string; pointer?: string; message: string } {
  const err = refusal(input, options);
  expect(err.code).toBe('INVALID_REQUEST');
  expect(err.errors).toHaveLength(1);
  const [first] = err.errors;
  if (first === undefined) throw new Error('no field error');
  return first;
}

describe('parseAzureBlobCredential: SAS URI', () => {
  it('reads the container from the path and keeps the SAS query as the credential', () => {
    const source = parseAzureBlobCredential(sasUri(`https://acct.blob.core.windows.net/incoming?${sas()}`), PRODUCTION);
    expect(source).toEqual({
      endpoint: 'https://acct.blob.core.windows.net',
      host: 'acct.blob.core.windows.net',
      accountName: 'acct',
      container: 'incoming',
      folderPath: '',
      credential: { kind: 'sas', query: sas() },
    });
  });

  it('reads Azurite path-style (account, then container) for a loopback host in local mode', () => {
    const source = parseAzureBlobCredential(sasUri(`http://127.0.0.1:10000/devstoreaccount1/incoming?${sas()}`), LOCAL);
    expect(source.endpoint).toBe('http://127.0.0.1:10000/devstoreaccount1');
    expect(source.host).toBe('127.0.0.1');
    expect(source.accountName).toBe('devstoreaccount1');
    expect(source.container).toBe('incoming');
  });

  it('takes the container param when the SAS URI names none, and an account SAS as the account root', () => {
    expect(
      parseAzureBlobCredential(
        sasUri(`https://acct.blob.core.windows.net/?${sas()}`, { container: 'drop' }),
        PRODUCTION,
      ).container,
    ).toBe('drop');
    expect(
      parseAzureBlobCredential(sasUri(`https://acct.blob.core.windows.net?${sas()}`), PRODUCTION).container,
    ).toBeUndefined();
  });

  it('accepts the container param when it is the one the SAS URI names, and refuses another', () => {
    const uri = `https://acct.blob.core.windows.net/incoming?${sas()}`;
    expect(parseAzureBlobCredential(sasUri(uri, { container: 'incoming' }), PRODUCTION).container).toBe('incoming');
    expect(refusedWith(sasUri(uri, { container: 'other' }))).toEqual({
      field: 'body.auth.params.container',
      pointer: '/auth/params/container',
      message: 'Must be the container the SAS URI names',
    });
  });

  it('normalises folderPath', () => {
    const uri = `https://acct.blob.core.windows.net/incoming?${sas()}`;
    expect(parseAzureBlobCredential(sasUri(uri, { folderPath: '/a//b/' }), PRODUCTION).folderPath).toBe('a/b');
    expect(parseAzureBlobCredential(sasUri(uri, { folderPath: '/' }), PRODUCTION).folderPath).toBe('');
  });

  it('refuses a SAS without list (sp without l) with the field and message', () => {
    expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/c01?${sas({ sp: 'r' })}`))).toEqual({
      field: 'body.auth.params.sasUri',
      pointer: '/auth/params/sasUri',
      message: SAS_READ_LIST_MESSAGE,
    });
    expect(SAS_READ_LIST_MESSAGE).toBe('The SAS must grant read and list (sp must include r and l)');
  });

  it('refuses a SAS without read (sp without r) or without sp', () => {
    expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/c01?${sas({ sp: 'lw' })}`)).message).toBe(
      SAS_READ_LIST_MESSAGE,
    );
    expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/c01?${sas({ sp: undefined })}`)).message).toBe(
      SAS_READ_LIST_MESSAGE,
    );
  });

  it('accepts a SAS bound to a stored access policy (si) without sp or se: the policy holds them', () => {
    const source = parseAzureBlobCredential(
      sasUri(`https://acct.blob.core.windows.net/c01?${sas({ sp: undefined, se: undefined, si: 'readers' })}`),
      PRODUCTION,
    );
    expect(source.credential.kind).toBe('sas');
  });

  it('refuses an expired SAS (se in the past), an se that is no date, and a SAS without se', () => {
    expect(
      refusedWith(sasUri(`https://acct.blob.core.windows.net/c01?${sas({ se: '2030-05-31T23:59:59Z' })}`)).message,
    ).toBe('The SAS has expired (se is in the past)');
    expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/c01?${sas({ se: 'tomorrow' })}`)).message).toBe(
      'The SAS expiry (se) must be a date',
    );
    expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/c01?${sas({ se: undefined })}`)).message).toBe(
      'The SAS must carry an expiry (se)',
    );
  });

  it('refuses a SAS without a signature (sig), or with sig repeated', () => {
    expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/c01?${sas({ sig: undefined })}`)).message).toBe(
      'The SAS must carry a signature (sig)',
    );
    expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/c01?${sas({ sig: '' })}`)).message).toBe(
      'The SAS must carry a signature (sig)',
    );
    expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/c01?${sas()}&sig=other`)).message).toBe(
      'Must not repeat a SAS parameter',
    );
  });

  it('refuses http to a host that is not loopback, in local mode too', () => {
    expect(refusedWith(sasUri(`http://acct.blob.core.windows.net/c01?${sas()}`)).message).toBe('Must use https');
    expect(refusedWith(sasUri(`http://acct.blob.core.windows.net/c01?${sas()}`), LOCAL).message).toBe(
      'Must use https (http only for a loopback host in local mode)',
    );
    expect(refusedWith(sasUri(`http://10.0.0.5:10000/devstoreaccount1/c01?${sas()}`), LOCAL).message).toMatch(
      /^Must use https/,
    );
  });

  it('refuses http to a loopback host outside local mode', () => {
    expect(refusedWith(sasUri(`http://127.0.0.1:10000/devstoreaccount1/c01?${sas()}`)).message).toBe('Must use https');
  });

  it('refuses other schemes, credentials in the URL, fragments and what is no URL', () => {
    expect(refusedWith(sasUri(`ftp://acct.blob.core.windows.net/c01?${sas()}`)).message).toBe('Must use https');
    expect(refusedWith(sasUri(`file:///etc/passwd?${sas()}`)).message).toBe('Must use https');
    expect(refusedWith(sasUri(`https://user:pw@acct.blob.core.windows.net/c01?${sas()}`)).message).toBe(
      'SAS URI must not contain a user name or password',
    );
    expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/c01?${sas()}#x`)).message).toBe(
      'SAS URI must not have a fragment',
    );
    expect(refusedWith(sasUri('acct.blob.core.windows.net/c01')).message).toBe('SAS URI must be a URL');
  });

  it('refuses a host that is no valid host name or IP address', () => {
    expect(refusedWith(sasUri(`https://ex_ample.blob.core.windows.net/c01?${sas()}`)).message).toBe(
      'SAS URI must have a valid host name or IP address',
    );
    expect(refusedWith(sasUri(`https://-bad-.example.com/c01?${sas()}`)).message).toBe(
      'SAS URI must have a valid host name or IP address',
    );
  });

  it('refuses a SAS URI that names a blob or a folder rather than a container', () => {
    expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/c01/folder?${sas()}`)).message).toBe(
      'Must name a container, not a blob or a folder (give folders as folderPath)',
    );
    expect(refusedWith(sasUri(`http://127.0.0.1:10000/devstoreaccount1/c01/a.csv?${sas()}`), LOCAL).message).toMatch(
      /^Must name a container/,
    );
  });

  it('refuses a bad container name in the SAS URI path, dot segments included', () => {
    expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/Bad_Name?${sas()}`)).message).toMatch(
      /^The container in its path: must be a container name/,
    );
    // URL parsing would resolve these away (/c01/.. is the account itself): refused before it can.
    for (const path of ['c01/..', '%2e%2e', 'c01/%2E', '..', 'c01/./']) {
      expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/${path}?${sas()}`)).message).toBe(
        'SAS URI must not contain . or .. path segments',
      );
    }
    expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/c01\\..?${sas()}`)).message).toBe(
      'SAS URI must not contain a backslash',
    );
  });

  it('refuses an over-long SAS URI', () => {
    expect(refusedWith(sasUri(`https://acct.blob.core.windows.net/c01?${sas()}&x=${'a'.repeat(4096)}`)).message).toBe(
      'Must be at most 4096 characters',
    );
  });
});

describe('parseAzureBlobCredential: connection string', () => {
  it('builds the endpoint from DefaultEndpointsProtocol, AccountName and EndpointSuffix, with the shared key', () => {
    expect(parseAzureBlobCredential(connection(ACCOUNT_KEY_STRING, { container: 'incoming' }), PRODUCTION)).toEqual({
      endpoint: 'https://acct.blob.core.windows.net',
      host: 'acct.blob.core.windows.net',
      accountName: 'acct',
      container: 'incoming',
      folderPath: '',
      credential: { kind: 'sharedKey', accountName: 'acct', accountKey: KEY },
    });
  });

  it('defaults EndpointSuffix to core.windows.net, reads another cloud, and takes keys in any case', () => {
    expect(
      parseAzureBlobCredential(
        connection(`DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY}`),
        PRODUCTION,
      ).endpoint,
    ).toBe('https://acct.blob.core.windows.net');
    expect(
      parseAzureBlobCredential(
        connection(
          `defaultendpointsprotocol=https;accountname=acct;accountkey=${KEY};endpointsuffix=core.chinacloudapi.cn;`,
        ),
        PRODUCTION,
      ).endpoint,
    ).toBe('https://acct.blob.core.chinacloudapi.cn');
  });

  it('makes the account the root without a container', () => {
    const source = parseAzureBlobCredential(connection(ACCOUNT_KEY_STRING), PRODUCTION);
    expect(source.container).toBeUndefined();
    expect(source.folderPath).toBe('');
  });

  it('takes BlobEndpoint over the protocol and suffix, and ignores the other services endpoints', () => {
    const source = parseAzureBlobCredential(
      connection(
        `BlobEndpoint=https://files.example.com/;QueueEndpoint=https://q.example.com/;AccountName=acct;AccountKey=${KEY}`,
      ),
      PRODUCTION,
    );
    expect(source.endpoint).toBe('https://files.example.com');
    expect(source.credential).toEqual({ kind: 'sharedKey', accountName: 'acct', accountKey: KEY });
  });

  it('takes a SharedAccessSignature with a BlobEndpoint, checked like a SAS URI', () => {
    const source = parseAzureBlobCredential(
      connection(
        `BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=?${sas({ sr: undefined, ss: 'b', srt: 'sco' })}`,
      ),
      PRODUCTION,
    );
    expect(source.credential).toEqual({ kind: 'sas', query: sas({ sr: undefined, ss: 'b', srt: 'sco' }) });
    expect(source.accountName).toBe('acct');
    expect(
      refusedWith(
        connection(`BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=${sas({ sp: 'r' })}`),
      ),
    ).toEqual({
      field: 'body.auth.params.connectionString',
      pointer: '/auth/params/connectionString',
      message: SAS_READ_LIST_MESSAGE,
    });
    expect(
      refusedWith(
        connection(
          `BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=${sas({ se: '2020-01-01' })}`,
        ),
      ).message,
    ).toBe('The SAS has expired (se is in the past)');
  });

  it('takes an Azurite connection string (path-style http BlobEndpoint) in local mode only', () => {
    const text = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`;
    const source = parseAzureBlobCredential(connection(text), LOCAL);
    expect(source.endpoint).toBe('http://127.0.0.1:10000/devstoreaccount1');
    expect(source.host).toBe('127.0.0.1');
    expect(refusedWith(connection(text)).message).toBe('BlobEndpoint: must use https');
  });

  it("takes UseDevelopmentStorage=true as Azurite's well-known account in local mode only", () => {
    const source = parseAzureBlobCredential(connection('UseDevelopmentStorage=true', { container: 'incoming' }), LOCAL);
    expect(source.endpoint).toBe('http://127.0.0.1:10000/devstoreaccount1');
    expect(source.credential).toMatchObject({ kind: 'sharedKey', accountName: 'devstoreaccount1' });
    expect(refusedWith(connection('UseDevelopmentStorage=true')).message).toBe(
      'UseDevelopmentStorage=true is accepted only in local mode',
    );
    expect(refusedWith(connection('UseDevelopmentStorage=true;AccountName=acct'), LOCAL).message).toBe(
      'UseDevelopmentStorage=true takes no other setting',
    );
  });

  it('refuses a connection string without a credential, or with both a key and a SAS', () => {
    expect(refusedWith(connection('DefaultEndpointsProtocol=https;AccountName=acct')).message).toBe(
      'Needs AccountName and AccountKey, or SharedAccessSignature',
    );
    expect(refusedWith(connection(`${ACCOUNT_KEY_STRING};SharedAccessSignature=${sas()}`)).message).toBe(
      'Give AccountKey or SharedAccessSignature, not both',
    );
    expect(refusedWith(connection(`DefaultEndpointsProtocol=https;AccountKey=${KEY}`)).message).toBe(
      'Needs AccountName with AccountKey',
    );
  });

  it('refuses a connection string without an endpoint', () => {
    expect(refusedWith(connection(`AccountName=acct;AccountKey=${KEY}`)).message).toBe(
      'Needs BlobEndpoint, or DefaultEndpointsProtocol and AccountName',
    );
    expect(refusedWith(connection(`SharedAccessSignature=${sas()}`)).message).toBe(
      'Needs BlobEndpoint, or DefaultEndpointsProtocol and AccountName',
    );
  });

  it('refuses plain http endpoints, odd protocols and bad suffixes', () => {
    expect(
      refusedWith(connection(`DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=${KEY}`), LOCAL).message,
    ).toMatch(/must use https/);
    expect(refusedWith(connection(`DefaultEndpointsProtocol=ftp;AccountName=acct;AccountKey=${KEY}`)).message).toBe(
      'DefaultEndpointsProtocol must be https',
    );
    expect(
      refusedWith(connection(`DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${KEY};EndpointSuffix=evil/x`))
        .message,
    ).toMatch(/^EndpointSuffix must be a host name/);
    expect(
      refusedWith(connection(`BlobEndpoint=http://files.example.com;AccountName=acct;AccountKey=${KEY}`), LOCAL)
        .message,
    ).toMatch(/must use https/);
  });

  it('refuses a BlobEndpoint with a query, a fragment, a path, or another account than AccountName', () => {
    expect(
      refusedWith(connection(`BlobEndpoint=https://acct.blob.core.windows.net/?x=1;AccountName=acct;AccountKey=${KEY}`))
        .message,
    ).toBe('BlobEndpoint must not have a query');
    expect(
      refusedWith(connection(`BlobEndpoint=https://acct.blob.core.windows.net/c01;AccountName=acct;AccountKey=${KEY}`))
        .message,
    ).toBe('BlobEndpoint must have no path');
    expect(
      refusedWith(connection(`BlobEndpoint=http://127.0.0.1:10000/other1;AccountName=acct;AccountKey=${KEY}`), LOCAL)
        .message,
    ).toBe('BlobEndpoint names another account than AccountName');
    expect(
      refusedWith(connection(`BlobEndpoint=http://127.0.0.1:10000;AccountName=acct;AccountKey=${KEY}`), LOCAL).message,
    ).toMatch(/must name the account as its path/);
  });

  it('refuses malformed, repeated, empty and unknown settings, bad account names and keys', () => {
    expect(refusedWith(connection('not a connection string')).message).toMatch(/^Must be a storage connection string/);
    expect(refusedWith(connection(';;')).message).toMatch(/^Must be a storage connection string/);
    expect(refusedWith(connection(`${ACCOUNT_KEY_STRING};AccountName=other`)).message).toBe(
      'Must not repeat a setting',
    );
    expect(refusedWith(connection(`${ACCOUNT_KEY_STRING};DevelopmentStorageProxyUri=http://10.0.0.1`)).message).toMatch(
      /^Has a setting other than/,
    );
    expect(refusedWith(connection(`${ACCOUNT_KEY_STRING};EndpointSuffix=`)).message).toBe('Must not repeat a setting');
    expect(refusedWith(connection(`DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=`)).message).toBe(
      'Must not have an empty setting',
    );
    expect(
      refusedWith(connection(`DefaultEndpointsProtocol=https;AccountName=Bad_Account;AccountKey=${KEY}`)).message,
    ).toBe('AccountName must be 3-24 lowercase letters and digits');
    expect(
      refusedWith(connection('DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=not base64!')).message,
    ).toBe('AccountKey must be Base64');
  });
});

describe('parseAzureBlobCredential: container and folderPath', () => {
  it.each(['ab', 'a'.repeat(64), 'Upper', 'a--b', '-abc', 'abc-', 'a_b', '..', 'a/b', 'a\\b', '$root', ''])(
    'refuses the container name %j',
    (container) => {
      expect(refusedWith(connection(ACCOUNT_KEY_STRING, { container }))).toEqual({
        field: 'body.auth.params.container',
        pointer: '/auth/params/container',
        message: 'Must be a container name (3-63 lowercase letters, digits and single hyphens)',
      });
    },
  );

  it.each(['abc', 'a-b-c', '0123', 'a'.repeat(63)])('accepts the container name %j', (container) => {
    expect(parseAzureBlobCredential(connection(ACCOUNT_KEY_STRING, { container }), PRODUCTION).container).toBe(
      container,
    );
  });

  it.each([
    ['..', 'Must not contain . or .. segments'],
    ['a/../b', 'Must not contain . or .. segments'],
    ['./a', 'Must not contain . or .. segments'],
    ['a\\b', 'Must not contain a backslash'],
    ['a\u0000b', 'Must not contain control characters'],
    ['a\nb', 'Must not contain control characters'],
    ['%2e%2e/x', 'Must not contain encoded separators or dots'],
    ['a%2Fb', 'Must not contain encoded separators or dots'],
    ['a%5cb', 'Must not contain encoded separators or dots'],
    ['a'.repeat(1025), 'Must be at most 1024 characters'],
  ])('refuses the folderPath %j', (folderPath, message) => {
    expect(refusedWith(connection(ACCOUNT_KEY_STRING, { container: 'incoming', folderPath }))).toEqual({
      field: 'body.auth.params.folderPath',
      pointer: '/auth/params/folderPath',
      message,
    });
  });

  it('without a container, reads the first folder of folderPath as the container and checks it as one', () => {
    expect(
      parseAzureBlobCredential(connection(ACCOUNT_KEY_STRING, { folderPath: 'incoming/2024' }), PRODUCTION),
    ).toMatchObject({ folderPath: 'incoming/2024' });
    expect(refusedWith(connection(ACCOUNT_KEY_STRING, { folderPath: 'Incoming/2024' })).field).toBe(
      'body.auth.params.folderPath',
    );
  });

  it('names every refused field at once', () => {
    const err = refusal(
      sasUri(`https://acct.blob.core.windows.net/c01?${sas({ sp: 'r' })}`, { container: 'X', folderPath: '..' }),
    );
    expect(err.errors.map((e) => e.field)).toEqual([
      'body.auth.params.sasUri',
      'body.auth.params.container',
      'body.auth.params.folderPath',
    ]);
  });
});

describe('describeAzureBlobSource', () => {
  it('names the account and container, never the credential', () => {
    const source = parseAzureBlobCredential(connection(ACCOUNT_KEY_STRING, { container: 'incoming' }), PRODUCTION);
    expect(describeAzureBlobSource(source)).toBe('Azure Blob account acct, container incoming');
    expect(describeAzureBlobSource({ accountName: 'acct' })).toBe('Azure Blob account acct');
  });
});
