import { describe, expect, it } from 'vitest';
import { AZURE_BLOB_CONNECTION_SPEC, parseConnectionAuth, publicAuthParams, SFTP_CONNECTION_SPEC } from '../../shared/sources/connection-auth.js';

const KEY = Buffer.from('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----\n').toString('base64');

function issues(spec: string, auth: { specName: string; params: unknown }) {
  const parsed = parseConnectionAuth(spec, auth);
  return 'issues' in parsed ? parsed.issues.map((i) => `${i.path.join('.')}: ${i.message}`) : [];
}

describe('parseConnectionAuth', () => {
  it('takes Adobe SFTP password and key auth, numbers as strings too', () => {
    const password = parseConnectionAuth(SFTP_CONNECTION_SPEC, {
      specName: 'Basic Authentication for sftp',
      params: { host: 'sftp.example.com', port: '2222', userName: 'acme', password: 's3cret', folderPath: '/upload/', maxConcurrentConnections: '2' },
    });
    expect(password).toEqual({
      auth: {
        kind: 'sftp',
        specName: 'Basic Authentication for sftp',
        params: { host: 'sftp.example.com', port: 2222, userName: 'acme', password: 's3cret', folderPath: '/upload', maxConcurrentConnections: 2 },
      },
    });
    const key = parseConnectionAuth(SFTP_CONNECTION_SPEC, {
      specName: 'SSH PublicKey Authentication for sftp',
      params: { host: '203.0.113.7', port: 22, userName: 'acme', privateKeyContent: KEY, passPhrase: 'pp' },
    });
    expect('auth' in key && key.auth.kind === 'sftp' && 'privateKeyContent' in key.auth.params && key.auth.params.privateKeyContent).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/);
  });

  it('takes Azure Blob connection strings and SAS URIs with an optional container and folder', () => {
    const sas = parseConnectionAuth(AZURE_BLOB_CONNECTION_SPEC, { specName: 'SAS URI Authentication', params: { sasUri: 'https://a.blob.core.windows.net/c?sig=x', folderPath: 'in' } });
    expect('auth' in sas && sas.auth.kind).toBe('azureBlob');
  });

  it('refuses unknown specs, unknown auth names, missing and extra params, each at its field', () => {
    expect(issues('00000000-0000-0000-0000-000000000000', { specName: 'ConnectionString', params: {} })).toEqual([expect.stringMatching(/^connectionSpec\.id: Must be d771e9c1/)]);
    expect(issues(SFTP_CONNECTION_SPEC, { specName: 'ConnectionString', params: {} })).toEqual([expect.stringMatching(/^auth\.specName: Must be one of/)]);
    expect(issues(SFTP_CONNECTION_SPEC, { specName: 'Basic Authentication for sftp', params: { host: 'h', userName: 'u' } })).toEqual([
      expect.stringMatching(/^auth\.params\.password:/),
    ]);
    expect(issues(SFTP_CONNECTION_SPEC, { specName: 'Basic Authentication for sftp', params: { host: 'h', userName: 'u', password: 'p', extra: 1 } })).toEqual([
      expect.stringMatching(/^auth\.params: Unrecognized key/),
    ]);
  });

  it.each([
    ['a host that is not a host name or address', { host: 'exa mple.com' }, /auth\.params\.host: Must be a host name/],
    ['a URL as host', { host: 'sftp://example.com' }, /auth\.params\.host/],
    ['a port out of range', { port: 70000 }, /auth\.params\.port/],
    ['.. in folderPath', { folderPath: '/upload/../../etc' }, /auth\.params\.folderPath: Must not contain \. or \.\./],
    ['a backslash in folderPath', { folderPath: 'a\\b' }, /auth\.params\.folderPath: Must not contain a backslash/],
    ['too many connections', { maxConcurrentConnections: 99 }, /auth\.params\.maxConcurrentConnections/],
    ['a malformed fingerprint', { hostKeyFingerprint: 'MD5:aa' }, /auth\.params\.hostKeyFingerprint/],
  ])('refuses %s', (_what, change, message) => {
    const params = { host: 'sftp.example.com', userName: 'u', password: 'p', ...change };
    expect(issues(SFTP_CONNECTION_SPEC, { specName: 'Basic Authentication for sftp', params }).join('\n')).toMatch(message);
  });

  it('refuses a privateKeyContent that is not the Base64 of a private key', () => {
    const params = { host: 'h', userName: 'u', privateKeyContent: Buffer.from('ssh-ed25519 AAAA public').toString('base64') };
    expect(issues(SFTP_CONNECTION_SPEC, { specName: 'SSH PublicKey Authentication for sftp', params }).join()).toMatch(/privateKeyContent: Must be the Base64 of a private key/);
  });

  it('shows where a connection points, never its secrets', () => {
    const parsed = parseConnectionAuth(SFTP_CONNECTION_SPEC, {
      specName: 'SSH PublicKey Authentication for sftp',
      params: { host: 'h.example', userName: 'u', privateKeyContent: KEY, passPhrase: 'pp', folderPath: 'x' },
    });
    if (!('auth' in parsed)) throw new Error('expected an auth');
    const shown = JSON.stringify(publicAuthParams(parsed.auth));
    expect(shown).toBe('{"host":"h.example","port":22,"userName":"u","folderPath":"x"}');
    const blob = parseConnectionAuth(AZURE_BLOB_CONNECTION_SPEC, { specName: 'ConnectionString', params: { connectionString: 'AccountKey=secret', container: 'abc' } });
    if (!('auth' in blob)) throw new Error('expected an auth');
    expect(publicAuthParams(blob.auth)).toEqual({ container: 'abc' });
  });
});
