import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../cli/exit-codes.js';
import { ApiClient, ensureSandbox, type LandingZoneCredential } from '../support/api-client.js';
import { startLocalStack, type LocalStack } from '../support/local-stack.js';
import { startRuntime, type RuntimeProcess } from '../support/runtime-process.js';
import { jsonOf, runCli, runUploadScript, type CliResult } from './run-cli.js';

const ORG = 'CF1203ZONECLI@AdobeOrg';
const DEV_SANDBOX = 'cli-dev';
const CREDENTIALS = '/data/foundation/connectors/landingzone/credentials?type=user_drop_zone';
const CSV = Buffer.from('id,name\n1,Ada\n2,Grace\n');
const REQUEST_ID = /request id: [0-9a-f-]{36}/;

interface Run {
  status: string;
  fileName: string;
  metrics: { recordCount?: number };
}

/**
 * `cipherflow landing-zone` and uploads with the SAS the API issues, through the local runtime:
 * the credential kept secret, a refresh revoking it, 403s retried while a new one comes into
 * force, a development sandbox's own zone, and `npm run upload`.
 */
describe('cipherflow landing zones', () => {
  let stack: LocalStack;
  let runtime: RuntimeProcess;
  let dir: string;
  let prodFlow: string;
  let devFlow: string;

  const configOf = (name: string) => ({ CIPHERFLOW_CONFIG: join(dir, `${name}.json`) });
  const cli = (...args: string[]): Promise<CliResult> => runCli(args, configOf('prod'), { cwd: dir });
  const devCli = (...args: string[]): Promise<CliResult> => runCli(args, configOf('dev'), { cwd: dir });
  const credential = (sandbox = 'prod') =>
    new ApiClient(runtime.url, ORG, sandbox).json<LandingZoneCredential>('GET', CREDENTIALS);
  const sigOf = (c: LandingZoneCredential) => new URLSearchParams(c.SASToken).get('sig') ?? '';

  /** Logs in, makes a key pair and a flow of `/incoming/*.csv.gpg`, and encrypts `name` to the key. */
  async function setUp(run: typeof cli, name: string): Promise<string> {
    const keyFile = `${name}.asc`;
    const key = jsonOf<{ publicKeyId: string }>(
      await run('--json', 'keys', 'create', '--name', name, '--out', keyFile),
    );
    const flow = jsonOf<{ id: string }>(
      await run(
        '--json',
        'flows',
        'create',
        '--name',
        name,
        '--path',
        '/incoming/*.csv.gpg',
        '--dataset',
        name,
        '--key',
        key.publicKeyId,
      ),
    );
    await writeFile(join(dir, `${name}.csv`), CSV);
    const encrypted = await run('encrypt', `${name}.csv`, '--key', keyFile, '--no-progress');
    expect(encrypted.code, encrypted.stderr).toBe(0);
    return flow.id;
  }

  async function watchRun(run: typeof cli, flowId: string, file: string): Promise<Run | undefined> {
    const runs = jsonOf<Run[]>(
      await run('--json', 'runs', '--flow', flowId, '--file', file, '--watch', '--interval', '0.25', '--timeout', '60'),
    );
    return runs[0];
  }

  beforeAll(async () => {
    stack = await startLocalStack();
    runtime = await startRuntime({
      ...stack.env,
      CIPHERFLOW_QUEUE_MAX_POLL_MS: '200',
    });
    dir = await mkdtemp(join(tmpdir(), 'cipherflow-cli-zone-'));
    await ensureSandbox(runtime.url, ORG, DEV_SANDBOX);
    const login = await cli('login', '--org', ORG, '--base-url', runtime.url);
    expect(login.code, login.stderr).toBe(0);
    const devLogin = await devCli('login', '--org', ORG, '--sandbox', DEV_SANDBOX, '--base-url', runtime.url);
    expect(devLogin.code, devLogin.stderr).toBe(0);
    prodFlow = await setUp(cli, 'prod');
    devFlow = await setUp(devCli, 'dev');
  });

  afterAll(async () => {
    await runtime?.stop();
    await stack?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('shows the zone: its own dlz- container and how many days files stay', async () => {
    const shown = await cli('landing-zone', 'show');
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^container: dlz-[a-z2-7]{26}\nttl: +7 days\n$/);
    const json = jsonOf<{ containerName: string; containerTTL: string }>(await cli('--json', 'landing-zone', 'show'));
    expect(json).toEqual({ containerName: (await credential()).containerName, containerTTL: '7' });
  });

  it('prints the credential without its SAS unless --show-secret, with or without --json', async () => {
    const current = await credential();
    const { SASToken: _token, SASUri: _uri, ...rest } = current;
    const containerUrl = current.SASUri.slice(0, current.SASUri.indexOf('?'));

    const human = await cli('landing-zone', 'credentials');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`container: ${current.containerName}`);
    expect(human.stdout).toContain(`url:       ${containerUrl}\n`);
    expect(human.stdout).toContain(`expires:   ${current.expiryDate}`);
    expect(human.stdout).toContain('SAS:       hidden (--show-secret prints it)');
    const json = jsonOf<Record<string, string>>(await cli('--json', 'landing-zone', 'credentials'));
    expect(json).toEqual({ ...rest, containerUrl });
    for (const out of [human.stdout + human.stderr, JSON.stringify(json)]) expect(out).not.toContain(sigOf(current));

    const shown = await cli('landing-zone', 'credentials', '--show-secret');
    expect(shown.stdout).toContain(`SAS token: ${current.SASToken}\n`);
    expect(shown.stdout).toContain(`SAS URI:   ${current.SASUri}\n`);
    expect(jsonOf(await cli('--json', 'landing-zone', 'credentials', '--show-secret'))).toEqual({
      ...current,
      containerUrl,
    });
  });

  it('refresh revokes the old SAS (storage answers 403, the CLI exits 3), and upload takes the new one', async () => {
    const old = await credential();
    const refreshed = await cli('--json', 'landing-zone', 'refresh');
    const view = jsonOf<Record<string, string>>(refreshed);
    expect(view).not.toHaveProperty('SASToken');
    const current = await credential();
    expect(sigOf(current)).not.toBe(sigOf(old));
    expect(view).toMatchObject({ containerName: old.containerName, expiryDate: current.expiryDate });

    // The Storage SDK with the old SAS, as a customer holding it would.
    const refused = await new ContainerClient(old.SASUri)
      .getBlockBlobClient('incoming/late.csv.gpg')
      .uploadData(Buffer.from('x'))
      .then(
        () => 200,
        (err: { statusCode?: number }) => err.statusCode,
      );
    expect(refused).toBe(403);
    // The CLI given the old SAS URL, told not to wait for it.
    const stale = await cli(
      'upload',
      'prod.csv.gpg',
      'incoming/late.csv.gpg',
      '--container-url',
      old.SASUri,
      '--sas-wait',
      '0',
    );
    expect(stale.code).toBe(EXIT.AUTH);
    expect(stale.stderr).toContain(
      'storage refused the landing zone credential (HTTP 403): it was revoked by a refresh',
    );
    expect(stale.stderr + stale.stdout).not.toContain(sigOf(old));

    // Right after the refresh, upload asks the API and uploads with the new credential.
    const uploaded = await cli('upload', 'prod.csv.gpg', '--flow', prodFlow, '--no-progress');
    expect(uploaded.code, uploaded.stderr).toBe(0);
    expect(uploaded.stdout).toContain(`to ${old.containerName}/incoming/prod.csv.gpg`);
    expect(await watchRun(cli, prodFlow, 'incoming/prod.csv.gpg')).toMatchObject({
      status: 'success',
      metrics: { recordCount: 2 },
    });
    expect(
      await new ContainerClient(old.SASUri)
        .getBlobClient('incoming/prod.csv.gpg')
        .exists()
        .catch(() => 'refused'),
    ).toBe('refused');
  });

  it('retries 403 while a refreshed credential comes into force, then uploads (ingested)', async () => {
    const proxy = await refusingProxy(stack.landing.blobEndpoint, 2);
    try {
      const sas = new URL((await credential()).SASUri);
      sas.host = proxy.host;
      const uploaded = await cli('upload', 'prod.csv.gpg', 'incoming/retried.csv.gpg', '--container-url', sas.href);
      expect(uploaded.code, uploaded.stderr).toBe(0);
      expect(proxy.refused()).toBe(2);
      const retries = uploaded.stderr.match(/^upload: storage refused the credential \(HTTP 403\).*retrying in \ds/gm);
      expect(retries, uploaded.stderr).toHaveLength(2);
      expect(uploaded.stderr).toMatch(/^upload: .* 100% .* done in /m);
    } finally {
      await proxy.close();
    }
    expect(await watchRun(cli, prodFlow, 'incoming/retried.csv.gpg')).toMatchObject({ status: 'success' });
  });

  it("uploads into a development sandbox's own zone, where its flow ingests the file", async () => {
    const devZone = jsonOf<{ containerName: string }>(await devCli('--json', 'landing-zone', 'show'));
    const prodZone = jsonOf<{ containerName: string }>(await cli('--json', 'landing-zone', 'show'));
    expect(devZone.containerName).toMatch(/^dlz-/);
    expect(devZone.containerName).not.toBe(prodZone.containerName);
    const uploaded = await devCli('--json', 'upload', 'dev.csv.gpg', '--flow', devFlow, '--no-progress');
    expect(jsonOf(uploaded)).toMatchObject({ container: devZone.containerName, blobName: 'incoming/dev.csv.gpg' });
    expect(await watchRun(devCli, devFlow, 'incoming/dev.csv.gpg')).toMatchObject({ status: 'success' });
    // Nothing of it in prod: neither the blob nor a run of the prod flow.
    expect(await new ContainerClient((await credential()).SASUri).getBlobClient('incoming/dev.csv.gpg').exists()).toBe(
      false,
    );
    const prodRuns = jsonOf<Run[]>(await cli('--json', 'runs', '--flow', prodFlow, '--file', 'incoming/dev.csv.gpg'));
    expect(prodRuns).toEqual([]);
  });

  it('prints SANDBOX_NOT_FOUND with its request id and exits 1 for a sandbox that does not exist', async () => {
    const config = join(dir, 'nowhere.json');
    await writeFile(
      config,
      JSON.stringify({
        baseUrl: runtime.url,
        org: ORG,
        sandbox: 'no-such-sandbox',
        apiKey: 'cipherflow-dev-client',
        mode: 'local',
      }),
      { mode: 0o600 },
    );
    const nowhere = (...args: string[]) => runCli(['--config', config, ...args], {}, { cwd: dir });
    for (const result of [
      await nowhere('landing-zone', 'show'),
      await nowhere('landing-zone', 'credentials', '--show-secret'),
      await nowhere('upload', 'prod.csv.gpg', 'incoming/x.csv.gpg'),
    ]) {
      expect(result.code, result.stderr).toBe(EXIT.ERROR);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('(SANDBOX_NOT_FOUND, HTTP 404)');
      expect(result.stderr).toMatch(REQUEST_ID);
    }
    const login = await runCli(
      [
        '--config',
        join(dir, 'never.json'),
        'login',
        '--org',
        ORG,
        '--sandbox',
        'no-such-sandbox',
        '--base-url',
        runtime.url,
      ],
      {},
      { cwd: dir },
    );
    expect(login.code).toBe(EXIT.ERROR);
    expect(login.stderr).toContain('SANDBOX_NOT_FOUND');
    await expect(stat(join(dir, 'never.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a --container-url that is not a SAS URL (exit 2) without calling anything', async () => {
    const result = await runCli(
      ['upload', 'prod.csv.gpg', '--container-url', `${stack.landing.blobEndpoint}/dlz-x`],
      { CIPHERFLOW_CONFIG: join(dir, 'absent.json') },
      { cwd: dir },
    );
    expect(result.code).toBe(EXIT.USAGE);
    expect(result.stderr).toContain('must be a container SAS URL');
  });

  it('npm run upload: mints its own token, takes the zone credential from the API, and the file is ingested', async () => {
    const base = ['--org', ORG, '--base-url', runtime.url];
    const prod = await runUploadScript(['prod.csv.gpg', 'incoming/npm.csv.gpg', ...base], {}, { cwd: dir });
    expect(prod.code, prod.stderr).toBe(0);
    const size = (await stat(join(dir, 'prod.csv.gpg'))).size;
    expect(prod.stdout).toMatch(
      new RegExp(
        `^uploaded ${size} bytes to ${(await credential()).containerName}/incoming/npm\\.csv\\.gpg \\(etag .+\\)\\n$`,
      ),
    );
    expect(prod.stderr).toBe('');
    expect(await watchRun(cli, prodFlow, 'incoming/npm.csv.gpg')).toMatchObject({ status: 'success' });

    const dev = await runUploadScript(
      ['dev.csv.gpg', 'incoming/', ...base, '--sandbox', DEV_SANDBOX],
      {},
      { cwd: dir },
    );
    expect(dev.code, dev.stderr).toBe(0);
    expect(dev.stdout).toContain(`${(await credential(DEV_SANDBOX)).containerName}/incoming/dev.csv.gpg`);

    const nowhere = await runUploadScript(
      ['prod.csv.gpg', 'incoming/x.csv.gpg', ...base, '--sandbox', 'nope'],
      {},
      { cwd: dir },
    );
    expect(nowhere.code).toBe(EXIT.ERROR);
    expect(nowhere.stderr).toContain('(SANDBOX_NOT_FOUND, HTTP 404)');
    const usage = await runUploadScript(['prod.csv.gpg', 'incoming/x.csv.gpg'], {}, { cwd: dir });
    expect(usage.code).toBe(EXIT.USAGE);
    expect(usage.stderr).toContain('usage: npm run upload -- FILE BLOB_PATH --org ORG');
  });
});

/**
 * A proxy to the landing account that answers the first `refusals` requests 403, as Azure does
 * while a refreshed stored access policy is not in force yet, then forwards everything.
 */
async function refusingProxy(
  upstream: string,
  refusals: number,
): Promise<{ host: string; refused(): number; close(): Promise<void> }> {
  const target = new URL(upstream);
  let refused = 0;
  const server: Server = createServer((req, res) => {
    if (refused < refusals) {
      refused++;
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml', 'x-ms-error-code': 'AuthenticationFailed' });
      res.end(
        '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.</Message></Error>',
      );
      return;
    }
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    refused: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
