import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.js';
import { UPLOAD_BLOCK_BYTES } from '../../cli/upload.js';
import { ApiClient, landingZone } from '../support/api-client.js';
import { GpgHome, ensureGpg } from '../support/gpg.js';
import { issueDevToken } from '../support/tokens.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { jsonOf, runCli, type CliResult } from './run-cli.js';

const ORG = 'CF1201CLI@AdobeOrg';
const CSV = Buffer.from('id,name\n1,Ada\n2,Grace\n3,Edsger\n');
const REQUEST_ID = /request id: [0-9a-f-]{36}/;

interface Run {
  status: string;
  fileName: string;
  errors: { code: string }[];
  metrics: { recordCount?: number; outputBytes: number };
  batchId?: string;
}

/** The CLI as a subprocess against the local runtime: the customer's journey and its failures. */
describe('cipherflow CLI end to end', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let gpg: GpgHome;
  let dir: string;
  let env: Record<string, string>;
  let keyId: string;
  let customerKeyId: string;
  let flowId: string;
  let signedFlowId: string;
  let dataSetId: string;
  /** The prod zone as the customer reaches it (its SAS reads too). */
  let zone: ContainerClient;

  const cli = (...args: string[]): Promise<CliResult> => runCli(args, env, { cwd: dir });

  beforeAll(async () => {
    ensureGpg();
    stack = await startLocalStack();
    runtime = await startRuntime({
      ...stack.env,
      CIPHERFLOW_QUEUE_MAX_POLL_MS: '200',
    });
    zone = await landingZone(new ApiClient(runtime.url, ORG));
    gpg = await GpgHome.create();
    dir = await mkdtemp(join(tmpdir(), 'cipherflow-cli-'));
    // No storage setting of any kind: uploads take the zone's SAS from the API.
    env = { CIPHERFLOW_CONFIG: join(dir, 'config', 'config.json') };
  });

  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
    await gpg?.dispose();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('logs in locally and keeps a 0600 config without any token', async () => {
    const result = await cli('login', '--org', ORG, '--base-url', runtime.url);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`logged in: org ${ORG}, sandbox prod`);
    const info = await stat(env.CIPHERFLOW_CONFIG ?? '');
    expect(info.mode & 0o777).toBe(0o600);
    const saved = await readFile(env.CIPHERFLOW_CONFIG ?? '', 'utf8');
    expect(JSON.parse(saved)).toMatchObject({ org: ORG, sandbox: 'prod', mode: 'local', baseUrl: runtime.url });
    expect(saved).not.toMatch(/eyJ|Bearer/);
  });

  it('creates a key pair and writes an .asc public key gpg imports', async () => {
    const created = jsonOf<{ publicKeyId: string; file: string }>(
      await cli('--json', 'keys', 'create', '--name', 'cli ingestion', '--out', 'ours.asc'),
    );
    keyId = created.publicKeyId;
    const armored = await readFile(join(dir, 'ours.asc'), 'utf8');
    expect(armored).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    await gpg.importKey(armored);
    expect((await gpg.ok(['--list-keys', 'cli ingestion'])).toString()).toContain('cli ingestion');
  });

  it('lists, shows and validates the key', async () => {
    const list = jsonOf<{ publicKeyId: string }[]>(await cli('--json', 'keys', 'list'));
    expect(list.map((k) => k.publicKeyId)).toContain(keyId);
    const shown = await cli('keys', 'show', keyId, '--out', 'again.asc');
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/fingerprint: [0-9a-f]{40}/i);
    expect(await readFile(join(dir, 'again.asc'), 'utf8')).toBe(await readFile(join(dir, 'ours.asc'), 'utf8'));
    const valid = await cli('keys', 'validate', keyId);
    expect(valid.code).toBe(0);
    expect(valid.stdout.trim()).toBe(`${keyId}: Active`);
  });

  it('registers a customer signing key from a gpg export', async () => {
    await gpg.generateKey('Customer <customer@example.com>', 'ed25519', 'sign', '1y');
    await writeFile(join(dir, 'customer.asc'), await gpg.exportPublic('customer@example.com'));
    await writeFile(join(dir, 'customer-secret.asc'), await gpg.exportSecret('customer@example.com'));
    customerKeyId = jsonOf<{ publicKeyId: string }>(
      await cli('--json', 'customer-keys', 'add', 'customer.asc', '--name', 'customer'),
    ).publicKeyId;
    expect(customerKeyId).not.toBe('');
  });

  it('creates flows, with their dataset and connections, from flags', async () => {
    const flow = jsonOf<{ id: string; dataSetId: string }>(
      await cli(
        '--json',
        'flows',
        'create',
        '--name',
        'cli flow',
        '--path',
        '/incoming/*.csv.gpg',
        '--format',
        'delimited',
        '--dataset',
        'cli customers',
        '--key',
        keyId,
      ),
    );
    flowId = flow.id;
    dataSetId = flow.dataSetId;
    expect(dataSetId).toMatch(/^[0-9a-f]{24}$/);
    const signed = jsonOf<{ id: string; dataSetId: string }>(
      await cli(
        '--json',
        'flows',
        'create',
        '--name',
        'cli signed',
        '--path',
        '/signed/*.csv.gpg',
        '--dataset',
        dataSetId,
        '--key',
        keyId,
        '--sign-key',
        customerKeyId,
      ),
    );
    signedFlowId = signed.id;
    expect(signed.dataSetId).toBe(dataSetId);
  });

  it('encrypts with cipherflow encrypt, uploads with progress lines, and the ingestion decrypts it', async () => {
    await writeFile(join(dir, 'customers.csv'), CSV);
    const encrypted = await cli('encrypt', 'customers.csv', '--key', 'ours.asc');
    expect(encrypted.code, encrypted.stderr).toBe(0);
    expect(encrypted.stderr).toMatch(/^encrypt: .* done in /m);
    const uploaded = await cli('upload', 'customers.csv.gpg', '--flow', flowId);
    expect(uploaded.code, uploaded.stderr).toBe(0);
    // In the org and sandbox's own zone, named by its path there: no org or sandbox prefix.
    expect(uploaded.stdout).toContain(
      `uploaded ${(await stat(join(dir, 'customers.csv.gpg'))).size} bytes to ${zone.containerName}/incoming/customers.csv.gpg`,
    );
    expect(uploaded.stdout).toContain(`cipherflow runs --flow ${flowId} --file incoming/customers.csv.gpg --watch`);
    // Not a TTY: plain progress lines (bytes, rate), no carriage returns.
    expect(uploaded.stderr).toMatch(/^upload: \d+ B \/ \d+ B 100% .*\/s done in /m);
    expect(uploaded.stderr).not.toContain('\r');

    const runs = jsonOf<Run[]>(
      await cli(
        '--json',
        'runs',
        '--flow',
        flowId,
        '--file',
        'incoming/customers.csv.gpg',
        '--watch',
        '--interval',
        '0.25',
        '--timeout',
        '60',
      ),
    );
    expect(runs[0]).toMatchObject({
      status: 'success',
      fileName: 'incoming/customers.csv.gpg',
      metrics: { recordCount: 3, outputBytes: CSV.length },
    });
  });

  it('uploads in staged blocks of 8 MiB and one commit, however small the file', async () => {
    const rows = ['id,name'];
    for (let i = 0; rows.length < 600_000; i++) rows.push(`${i},customer ${(i * 7919) % 100_003}`);
    await writeFile(join(dir, 'many.csv'), rows.join('\n') + '\n');
    expect((await cli('encrypt', 'many.csv', '--key', 'ours.asc', '--no-progress')).code).toBe(0);
    const size = (await stat(join(dir, 'many.csv.gpg'))).size;
    expect(size).toBeGreaterThan(UPLOAD_BLOCK_BYTES);
    const uploaded = await cli('upload', 'many.csv.gpg', '--flow', flowId, '--no-progress');
    expect(uploaded.code, uploaded.stderr).toBe(0);

    const blockSizes = async (name: string) =>
      ((await zone.getBlockBlobClient(name).getBlockList('committed')).committedBlocks ?? []).map((b) => b.size);
    expect(await blockSizes('incoming/many.csv.gpg')).toEqual([UPLOAD_BLOCK_BYTES, size - UPLOAD_BLOCK_BYTES]);
    // The 3-row file of the previous test went up as one staged block too, not a Put Blob.
    expect(await blockSizes('incoming/customers.csv.gpg')).toHaveLength(1);

    const watched = await cli(
      'runs',
      '--flow',
      flowId,
      '--file',
      'incoming/many.csv.gpg',
      '--watch',
      '--interval',
      '0.25',
    );
    expect(watched.code, watched.stdout + watched.stderr).toBe(0);
    expect(watched.stdout).toMatch(/^success +incoming\/many\.csv\.gpg .* 599999 records /m);
  });

  it('signs with --sign-key so a flow requiring the customer signature accepts the file', async () => {
    const encrypted = await cli(
      'encrypt',
      'customers.csv',
      '--key',
      'ours.asc',
      '--sign-key',
      'customer-secret.asc',
      '--armor',
      '--out',
      'signed.asc',
      '--no-progress',
    );
    expect(encrypted.code, encrypted.stderr).toBe(0);
    expect(encrypted.stderr).toBe('');
    expect(await readFile(join(dir, 'signed.asc'), 'utf8')).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    const uploaded = await cli('upload', 'signed.asc', '--flow', signedFlowId, '--as', 's.csv.gpg', '--no-progress');
    expect(uploaded.code, uploaded.stderr).toBe(0);
    const watched = await cli(
      'runs',
      '--flow',
      signedFlowId,
      '--file',
      'signed/s.csv.gpg',
      '--watch',
      '--interval',
      '0.25',
    );
    expect(watched.code, watched.stdout + watched.stderr).toBe(0);
    expect(watched.stdout).toMatch(/^success +signed\/s\.csv\.gpg .* 3 records batch /m);
  });

  it('writes messages gpg decrypts: SEIPD v1 with MDC, no AEAD', async () => {
    await gpg.generateKey('Partner <partner@example.com>', 'rsa3072', 'encrypt', '1y');
    await writeFile(join(dir, 'partner.asc'), await gpg.exportPublic('partner@example.com'));
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'cipherflow ');
    await writeFile(join(dir, 'big.bin'), big);
    const encrypted = await cli('encrypt', 'big.bin', '--key', 'partner.asc', '--compress');
    expect(encrypted.code, encrypted.stderr).toBe(0);
    const message = await readFile(join(dir, 'big.bin.gpg'));
    expect((await gpg.ok(['--decrypt'], message)).equals(big)).toBe(true);
    const packets = (await gpg.run(['--list-packets'], message)).stdout.toString();
    expect(packets).toContain('mdc_method: 2');
    expect(packets).not.toMatch(/aead/i);

    // Signed with --sign-key: gpg itself verifies the customer's signature.
    const signed = await cli(
      'encrypt',
      'big.bin',
      '--key',
      'partner.asc',
      '--sign-key',
      'customer-secret.asc',
      '--out',
      'big.signed.gpg',
      '--no-progress',
    );
    expect(signed.code, signed.stderr).toBe(0);
    const verified = await gpg.run(['--status-fd', '2', '--decrypt'], await readFile(join(dir, 'big.signed.gpg')));
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout.equals(big)).toBe(true);
    expect(verified.stderr).toMatch(/^\[GNUPG:\] GOODSIG [0-9A-F]{16} Customer <customer@example.com>$/m);
    expect(verified.stderr).toMatch(/^\[GNUPG:\] VALIDSIG /m);
  });

  it('watches a failing run to exit 5 with its error code', async () => {
    await writeFile(join(dir, 'plain.csv.gpg'), CSV);
    expect((await cli('upload', 'plain.csv.gpg', '--flow', flowId, '--no-progress')).code).toBe(0);
    const watched = await cli(
      'runs',
      '--flow',
      flowId,
      '--file',
      'incoming/plain.csv.gpg',
      '--watch',
      '--interval',
      '0.25',
    );
    expect(watched.code).toBe(EXIT.FAILED);
    expect(watched.stdout).toMatch(/^failed +incoming\/plain\.csv\.gpg .*MALFORMED_PGP_MESSAGE/m);
  });

  it('uploads to an explicit BLOB_PATH in the zone, which the flow of that folder ingests', async () => {
    const uploaded = await cli('--json', 'upload', 'customers.csv.gpg', 'incoming/by-path.csv.gpg', '--no-progress');
    expect(jsonOf(uploaded)).toMatchObject({
      container: zone.containerName,
      blobName: 'incoming/by-path.csv.gpg',
      fileName: 'incoming/by-path.csv.gpg',
    });
    const runs = jsonOf<Run[]>(
      await cli(
        '--json',
        'runs',
        '--flow',
        flowId,
        '--file',
        'incoming/by-path.csv.gpg',
        '--watch',
        '--interval',
        '0.25',
      ),
    );
    expect(runs[0]).toMatchObject({ status: 'success', metrics: { recordCount: 3 } });
  });

  it('refuses to upload a file the flow would not pick up (exit 2)', async () => {
    const result = await cli('upload', 'customers.csv', '--flow', flowId);
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain("does not match the flow's source path /incoming/*.csv.gpg");
    const elsewhere = await cli('upload', 'customers.csv.gpg', 'other/customers.csv.gpg', '--flow', flowId);
    expect(elsewhere.code).toBe(EXIT.USAGE);
    expect(elsewhere.stderr).toContain('other/customers.csv.gpg does not match');
    expect(await zone.getBlobClient('other/customers.csv.gpg').exists()).toBe(false);
  });

  it('calls any endpoint, in plaintext and HPKE-encrypted, with the same answer', async () => {
    const path = `/data/foundation/catalog/dataSets/${dataSetId}`;
    const plain = await cli('call', 'GET', path);
    expect(plain.code, plain.stderr).toBe(0);
    const body = JSON.parse(plain.stdout) as Record<string, { name: string }>;
    expect(body[dataSetId]?.name).toBe('cli customers');
    const sealed = await cli('call', 'GET', path, '--hpke');
    expect(sealed.code, sealed.stderr).toBe(0);
    expect(JSON.parse(sealed.stdout)).toEqual(body);
    const saved = JSON.parse(await readFile(env.CIPHERFLOW_CONFIG ?? '', 'utf8')) as { hpke?: { keyId: number } };
    expect(saved.hpke?.keyId).toBeTypeOf('number');
    // An encrypted body too, with the key registered by the first call.
    const created = await cli(
      'call',
      'POST',
      '/data/foundation/catalog/dataSets',
      '--data',
      '{"name":"sealed"}',
      '--hpke',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toEqual([expect.stringMatching(/^@\/dataSets\/[0-9a-f]{24}$/)]);
  });

  it('shows the CMK application registration', async () => {
    const result = await cli('cmk', 'app-registration');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^consent: +https:\/\/login\.microsoftonline\.com\//m);
  });

  it('prints a problem with its title, code and request id, exit 1', async () => {
    const missing = await cli('call', 'GET', '/data/foundation/catalog/dataSets/000000000000000000000000');
    expect(missing.code).toBe(EXIT.ERROR);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toContain('error: The resource was not found (NOT_FOUND, HTTP 404)');
    expect(missing.stderr).toMatch(REQUEST_ID);

    const invalid = await cli('cmk', 'submit', '--name', 'cfg', '--key-id', 'http://not-a-vault.example/keys/x');
    expect(invalid.code).toBe(EXIT.ERROR);
    expect(invalid.stderr).toContain('(INVALID_REQUEST, HTTP 400)');
    expect(invalid.stderr).toMatch(/^ {2}body\.configData\.keyVaultKeyIdentifier: /m);
    expect(invalid.stderr).toMatch(REQUEST_ID);
  });

  it('deletes keys: refused while a flow uses one (KEY_IN_USE), then gone', async () => {
    const inUse = await cli('keys', 'delete', keyId);
    expect(inUse.code).toBe(EXIT.ERROR);
    expect(inUse.stderr).toContain('KEY_IN_USE');
    const spare = jsonOf<{ publicKeyId: string }>(
      await cli('--json', 'keys', 'create', '--name', 'spare', '--key-type', 'RSA', '--out', 'spare.asc'),
    );
    const deleted = await cli('keys', 'delete', spare.publicKeyId);
    expect(deleted.code, deleted.stderr).toBe(0);
    const gone = await cli('keys', 'show', spare.publicKeyId);
    expect(gone.code).toBe(EXIT.ERROR);
    expect(gone.stderr).toContain('NOT_FOUND');
  });

  it('exits 3 for a refused token, never printing it', async () => {
    const config = join(dir, 'token-config.json');
    await writeFile(
      config,
      JSON.stringify({ baseUrl: runtime.url, org: ORG, sandbox: 'prod', apiKey: 'someone', mode: 'token' }),
      { mode: 0o600 },
    );
    const token = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.';
    const refused = await runCli(
      ['--config', config, 'keys', 'list'],
      { ...env, CIPHERFLOW_TOKEN: token },
      { cwd: dir },
    );
    expect(refused.code).toBe(EXIT.AUTH);
    expect(refused.stderr).toContain('UNAUTHENTICATED');
    expect(refused.stderr).toMatch(REQUEST_ID);
    expect(refused.stderr + refused.stdout).not.toContain(token);
    const none = await runCli(['--config', config, 'keys', 'list'], env, { cwd: dir });
    expect(none.code).toBe(EXIT.AUTH);
    expect(none.stderr).toContain('CIPHERFLOW_TOKEN');
  });

  it('logs in with a token from CIPHERFLOW_TOKEN (--no-local), never saving it', async () => {
    const token = await issueDevToken({ org: ORG, clientId: 'partner-etl' });
    const config = join(dir, 'token-login.json');
    const withToken = { ...env, CIPHERFLOW_TOKEN: token };
    const login = await runCli(
      ['--config', config, 'login', '--org', ORG, '--base-url', runtime.url, '--no-local'],
      withToken,
      { cwd: dir },
    );
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('token from CIPHERFLOW_TOKEN');
    const saved = await readFile(config, 'utf8');
    expect(JSON.parse(saved)).toMatchObject({ org: ORG, sandbox: 'prod', mode: 'token', apiKey: 'partner-etl' });
    expect(saved).not.toContain(token);
    const listed = await runCli(['--config', config, '--json', 'keys', 'list'], withToken, { cwd: dir });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ publicKeyId: keyId })]),
    );
  });

  it('exits 4 when the API cannot be reached and 2 on a usage error', async () => {
    const config = join(dir, 'down-config.json');
    await writeFile(
      config,
      JSON.stringify({ baseUrl: 'http://127.0.0.1:9', org: ORG, sandbox: 'prod', apiKey: 'k', mode: 'local' }),
      { mode: 0o600 },
    );
    const down = await runCli(['--config', config, 'keys', 'list'], env, { cwd: dir });
    expect(down.code).toBe(EXIT.NETWORK);
    expect(down.stderr).toContain('cannot reach http://127.0.0.1:9');
    const usage = await cli('keys', 'create');
    expect(usage.code).toBe(EXIT.USAGE);
    expect(usage.stderr).toContain("required option '--name <name>' not specified");
  });
});
