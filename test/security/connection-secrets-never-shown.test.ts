import { describe, expect, it } from 'vitest';
import { CreateBaseConnectionRequest, createBaseConnection, getBaseConnection, listBaseConnections, type BaseConnectionDeps } from '../../shared/flows/base-connections.js';
import { AZURE_BLOB_CONNECTION_SPEC, SFTP_CONNECTION_SPEC } from '../../shared/sources/connection-auth.js';
import { BASE_CONNECTIONS_TABLE } from '../../shared/flows/base-connections.js';
import { MemoryObjectStore } from '../fakes/memory-objects.js';
import { MemoryTableService } from '../fakes/memory-tables.js';

/**
 * Attack: read a connection's credentials back: through its own API answers (GET, list), through
 * a validation problem that echoes the input, or from the table rows an operator or a storage
 * reader can see.
 * Property: a password, private key, passphrase, connection string or SAS signature is stored only
 * in the encrypted object store (envelope-encrypted under the sandbox's root key); no answer and
 * no table row ever holds it.
 */
const SCOPE = { orgId: 'CF0019SECR@AdobeOrg', sandbox: 'prod', subject: 'attacker', clientId: 'cipherflow-dev' };
const PASSWORD = 'pa55-never-shown-0xdeadbeef';
const PASSPHRASE = 'passphrase-never-shown-0xfeed';
const KEY_TEXT = '-----BEGIN OPENSSH PRIVATE KEY-----\nSECRETKEYMATERIALneverShown0123456789\n-----END OPENSSH PRIVATE KEY-----\n';
const ACCOUNT_KEY = Buffer.from('account-key-never-shown-0123456789abcdef0123456789').toString('base64');
const SIG = 'c2lnbmF0dXJlLW5ldmVyLXNob3du';
const SECRETS = [PASSWORD, PASSPHRASE, 'SECRETKEYMATERIALneverShown', Buffer.from(KEY_TEXT).toString('base64'), ACCOUNT_KEY, SIG];

const REQUESTS = [
  { name: 'pw', auth: { specName: 'Basic Authentication for sftp', params: { host: 'sftp.example.com', userName: 'u', password: PASSWORD } }, connectionSpec: { id: SFTP_CONNECTION_SPEC, version: '1.0' } },
  {
    name: 'key',
    auth: { specName: 'SSH PublicKey Authentication for sftp', params: { host: 'sftp.example.com', userName: 'u', privateKeyContent: Buffer.from(KEY_TEXT).toString('base64'), passPhrase: PASSPHRASE } },
    connectionSpec: { id: SFTP_CONNECTION_SPEC, version: '1.0' },
  },
  { name: 'cs', auth: { specName: 'ConnectionString', params: { connectionString: `AccountName=a;AccountKey=${ACCOUNT_KEY}`, container: 'c01' } }, connectionSpec: { id: AZURE_BLOB_CONNECTION_SPEC, version: '1.0' } },
  { name: 'sas', auth: { specName: 'SAS URI Authentication', params: { sasUri: `https://a.blob.core.windows.net/c01?sp=rl&sig=${SIG}` } }, connectionSpec: { id: AZURE_BLOB_CONNECTION_SPEC, version: '1.0' } },
];

describe('attack: reading a connection credential back', () => {
  it('shows no secret in any answer or table row; the encrypted store alone holds them', async () => {
    const tables = new MemoryTableService();
    const objects = new MemoryObjectStore();
    const deps: BaseConnectionDeps = {
      tables: tables.factory(),
      objects,
      openSource: () => ({
        listFolder: () => Promise.resolve({ entries: [] }),
        walk: async function* () {},
        stat: () => Promise.resolve(undefined),
        open: () => Promise.reject(new Error('unused')),
        close: () => Promise.resolve(),
      }),
    };
    const answers: string[] = [];
    for (const request of REQUESTS) {
      const created = await createBaseConnection(deps, SCOPE, CreateBaseConnectionRequest.parse(request));
      answers.push(JSON.stringify(created), JSON.stringify(await getBaseConnection(deps, SCOPE, created.id)));
    }
    answers.push(JSON.stringify(await listBaseConnections(deps, SCOPE)));
    const rows: string[] = [];
    for await (const row of tables.client(BASE_CONNECTIONS_TABLE).listEntities()) rows.push(JSON.stringify(row));
    expect(rows).toHaveLength(REQUESTS.length);
    for (const secret of SECRETS) {
      for (const text of [...answers, ...rows]) expect(text.includes(secret), `${secret} in ${text}`).toBe(false);
    }
    // What holds them is the encrypted store (in production: AES-256-GCM under the sandbox's root key).
    expect([...objects.plaintexts.values()].map((b) => b.toString('utf8')).join()).toContain(PASSWORD);
  });

  it('does not echo a secret in the problem of a malformed auth', () => {
    const malformed = { ...REQUESTS[1], auth: { specName: 'SSH PublicKey Authentication for sftp', params: { host: 'h', userName: 'u', privateKeyContent: Buffer.from(`not a key ${PASSWORD}`).toString('base64') } } };
    const parsed = CreateBaseConnectionRequest.safeParse(malformed);
    expect(parsed.success).toBe(false);
    const text = JSON.stringify(parsed.error?.issues.map((i) => i.message));
    expect(text).toMatch(/private key/);
    for (const secret of [PASSWORD, Buffer.from(`not a key ${PASSWORD}`).toString('base64')]) expect(text.includes(secret)).toBe(false);
  });
});
